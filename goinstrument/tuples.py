"""`NamedTuple`: typing's, as mypy reads it; at run time the same classes, made for less.

A hook's run is mostly start-up, and goinstrument's fifty-odd NamedTuples cost it about 10 ms
to create with typing's: its metaclass checks each field's annotation, which `from __future__
import annotations` leaves a string, by compiling it into a `ForwardRef` (ARCHITECTURE.md
"Values"). The class below makes what typing's makes, `collections.namedtuple` with the class
body's methods, docstring and defaults, without that check; its annotations stay the strings
written (nothing of goinstrument reads them: mypy reads the source).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing: mypy reads it so
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    # what a class body may not set (typing's own list), and what it sets that is not copied
    _PROHIBITED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults", "_make", "_replace", "_asdict", "_source"}
    )
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _NamedTupleMeta(type):
        def __new__(cls, typename, bases, ns):
            if bases != (_NamedTuple,):
                raise TypeError("can only inherit from a NamedTuple type")
            types = ns.get("__annotations__", {})
            defaults = [name for name in types if name in ns]
            if defaults != list(types)[len(types) - len(defaults) :]:
                raise TypeError(f"Non-default namedtuple field cannot follow default field: {typename}")
            made = namedtuple(typename, types, defaults=[ns[name] for name in defaults], module=ns["__module__"])
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
