"""`NamedTuple`: typing's, as mypy reads it; at run time the same classes, made for less.

A hook's run is mostly start-up, and goinstrument's fifty-odd NamedTuples cost it about 10 ms
to create with typing's: its metaclass checks each field's annotation, which `from __future__
import annotations` leaves a string, by compiling it into a `ForwardRef`, and
collections.namedtuple compiles each class's `__new__` (ARCHITECTURE.md "Values"). The class
below makes what typing's makes, collections.namedtuple's class with the class body's methods,
docstring and defaults, compiling neither; its annotations stay the strings written (nothing
of goinstrument reads them: mypy reads the source).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing: mypy reads it so
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    try:
        from _collections import _tuplegetter  # collections.namedtuple's field descriptor
    except ImportError:  # collections' own fallback
        from operator import itemgetter

        def _tuplegetter(index, doc):
            return property(itemgetter(index), doc=doc)

    # what a class body may not set (typing's own list), and what it sets that is not copied
    _PROHIBITED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults", "_make", "_replace", "_asdict", "_source"}
    )
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})
    _MODELS = {}  # a number of fields -> collections.namedtuple's class of that many, made once

    def _namedtuple(typename, fields, defaults, module):
        """What collections.namedtuple(typename, fields, defaults=defaults, module=module) makes,
        method for method, but for compiling `__new__` (eval, 0.05 ms a class): the code of one
        taking as many arguments, compiled once, is given these fields' names."""
        if any(name.startswith("_") for name in fields):
            return namedtuple(typename, fields, defaults=defaults, module=module)  # its error
        fields, count, tuple_new = tuple(fields), len(fields), tuple.__new__
        if count not in _MODELS:
            _MODELS[count] = namedtuple("_", [f"a{i}" for i in range(count)])
        model = _MODELS[count]
        code = model.__new__.__code__.replace(co_varnames=("_cls", *fields), co_name="__new__", co_qualname=f"{typename}.__new__")
        __new__ = type(model.__new__)(code, model.__new__.__globals__, "__new__", tuple(defaults) or None)
        arguments = ", ".join(fields) + ("," if count == 1 else "")
        __new__.__doc__ = f"Create new instance of {typename}({arguments})"
        repr_format = "(" + ", ".join(f"{name}=%r" for name in fields) + ")"

        @classmethod
        def _make(cls, iterable):
            result = tuple_new(cls, iterable)
            if len(result) != count:
                raise TypeError(f"Expected {count} arguments, got {len(result)}")
            return result

        _make.__func__.__doc__ = f"Make a new {typename} object from a sequence or iterable"

        def _replace(self, /, **kwds):
            result = self._make(map(kwds.pop, fields, self))
            if kwds:
                raise ValueError(f"Got unexpected field names: {list(kwds)!r}")
            return result

        _replace.__doc__ = f"Return a new {typename} object replacing specified fields with new values"

        def __repr__(self):
            "Return a nicely formatted representation string"
            return self.__class__.__name__ + repr_format % self

        def _asdict(self):
            "Return a new dict which maps field names to their values."
            return dict(zip(self._fields, self, strict=True))

        def __getnewargs__(self):
            "Return self as a plain tuple.  Used by copy and pickle."
            return tuple(self)

        for method in (__new__, _make.__func__, _replace, __repr__, _asdict, __getnewargs__):
            method.__qualname__ = f"{typename}.{method.__name__}"
        namespace = {
            "__doc__": f"{typename}({arguments})",
            "__slots__": (),
            "_fields": fields,
            "_field_defaults": dict(zip(fields[count - len(defaults) :], defaults, strict=True)),
            "__new__": __new__,
            "_make": _make,
            "_replace": _replace,
            "__repr__": __repr__,
            "_asdict": _asdict,
            "__getnewargs__": __getnewargs__,
            "__match_args__": fields,
        }
        if "__replace__" in vars(model):  # Python 3.13's copy.replace()
            namespace["__replace__"] = _replace
        for index, name in enumerate(fields):
            namespace[name] = _tuplegetter(index, f"Alias for field number {index}")
        made = type(typename, (tuple,), namespace)
        made.__module__ = module
        return made

    class _NamedTupleMeta(type):
        def __new__(cls, typename, bases, ns):
            if bases != (_NamedTuple,):
                raise TypeError("can only inherit from a NamedTuple type")
            types = ns.get("__annotations__")
            if not types:  # Python 3.14 (PEP 649) keeps a body's annotations in __annotate__ unless the future import says strings
                raise TypeError(
                    f"NamedTuple {typename} declares no field: goinstrument.tuples reads the class body's "
                    "__annotations__, which its module makes with `from __future__ import annotations`"
                )
            defaults = [name for name in types if name in ns]
            if defaults != list(types)[len(types) - len(defaults) :]:
                raise TypeError(f"Non-default namedtuple field cannot follow default field: {typename}")
            made = _namedtuple(typename, list(types), [ns[name] for name in defaults], ns["__module__"])
            made.__annotations__ = made.__new__.__annotations__ = dict(types)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _SPECIAL and key not in made._fields:
                    setattr(made, key, value)
            return made

    _NamedTuple = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})

    def NamedTuple(typename, fields=None, /, **kwargs):
        """Only the class syntax (`class Point(NamedTuple): ...`): goinstrument uses no other."""
        raise TypeError("goinstrument.tuples.NamedTuple: use the class syntax")

    NamedTuple.__mro_entries__ = lambda bases: (_NamedTuple,)
