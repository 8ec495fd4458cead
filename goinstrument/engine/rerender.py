"""A span of ours rendered afresh, for settings its code can only follow that way.

Most of what a span of ours holds is brought up to date in place (the
tracer, the span name, `_` or the context, the code location values, the
error block: core.py and errorblock.py). What its attributes are is decided
by the settings (`--attributes`) and by the signature, so when the span's
attribute lists are not those a new span would get, its matched statements
are replaced whole by the backend's rendering for the settings of now, with
the names the span already uses (context, span variable, error result,
import names). This is the one general update: a later setting whose code
differs in the same way can ask for it too.

The replacement takes whole lines, so it is made only where the matched
statements fill their lines alone and nothing (a comment) sits between
them; otherwise the span is left as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from tree_sitter import Node

from goinstrument.backends.protocol import Attribute
from goinstrument.engine import handlers, shape
from goinstrument.engine.attributes import CODE_FILE, CODE_FUNCTION, CODE_LINE
from goinstrument.engine.go import syntax
from goinstrument.engine.plan import Insertion
from goinstrument.tuples import NamedTuple

# Values a run brings up to date in place (and the line, which moves): not what tells the attributes apart.
_UPDATED_IN_PLACE = (CODE_FUNCTION, CODE_FILE, CODE_LINE)

Key = tuple[str, str, str]  # (attribute key, constructor, value as written)


def key(attribute: Attribute) -> Key:
    return (attribute.key, attribute.constructor, "" if attribute.key in _UPDATED_IN_PLACE else attribute.value)


class Written(NamedTuple):
    """The attributes a span of ours holds: those set at the start and those set at return."""

    start: tuple[Key, ...]
    results: tuple[Key, ...]


# Argument attribute prefixes a span of ours may hold besides the setting's: none (before 2026-12) and the default.
KNOWN_PREFIXES = ("", "arg.")


def written(match: shape.Match, func: Node, prefix: str = "arg.") -> Written | None:
    """The attribute lists of a matched span, each attribute as `key` gives it, or None when one of
    them is not of our making (a person's `span.SetAttributes(attribute.String("user.id", id))` right
    after our lines matches our shape: it is theirs, and the span is left as it is). The result
    attributes are those of the last statement holding attributes when the variant has both lists."""
    groups: list[list[Key]] = []
    last: Node | None = None
    names: set[str] | None = None
    for key_node, value in match.attributes:
        holder = next((s for s in match.statements if s.start_byte <= key_node.start_byte < s.end_byte), None)
        if holder is None or holder != last:
            groups.append([])
            last = holder
        name, constructor, text = shape.string_value(key_node), _constructor(key_node), syntax.text(value)
        if name in handlers.SERVER_KEYS:  # a server span's, from the request: `r.Method`, `r.URL.Path`
            names = _signature_names(func) if names is None else names
            if constructor != "String" or text.partition(".")[0] not in names:
                return None
        elif name not in _UPDATED_IN_PLACE:
            names = _signature_names(func) if names is None else names
            held = text[text.index("(") + 1 : -1] if text.endswith(")") and text[: text.index("(")].isidentifier() else text
            # Attributes given to Start are ours whatever their prefix (a later setting may change it); a
            # SetAttributes line after Start (earlier versions') may be a person's: only known prefixes.
            known = name.endswith(held) if match.style.at_start else name in {p + held for p in (prefix, *KNOWN_PREFIXES)}
            if held not in names or not known:
                return None  # ours are named after a parameter or result (a prefix before it) and hold it, converted at most
        elif constructor != ("Int" if name == CODE_LINE else "String"):
            return None
        groups[-1].append((name, constructor, "" if name in _UPDATED_IN_PLACE else text))
    _, start_part, results_part = match.parts
    if start_part and results_part and groups:
        return Written(tuple(k for g in groups[:-1] for k in g), tuple(groups[-1]))
    flat = tuple(k for g in groups for k in g)
    return Written(flat, ()) if start_part or not results_part else Written((), flat)


def _constructor(key_node: Node) -> str:
    """`String` of `attribute.String("k", v)`: the call the key literal is the first argument of."""
    arguments = key_node.parent
    call = arguments.parent if arguments is not None else None
    function = call.child_by_field_name("function") if call is not None else None
    if function is not None and function.type == "selector_expression":
        function = function.child_by_field_name("field")
    return syntax.text(function) if function is not None else ""


def replacement(src: bytes, statements: Sequence[Node], eol: bytes) -> Insertion | None:
    """Where the lines of the matched statements are, as an Insertion that replaces them (the line
    break before the first statement through the end of the last), or None where they share lines
    or a comment sits between them."""
    if not statements:
        return None
    first, last = statements[0], statements[-1]
    line = syntax.line_start(src, first.start_byte)
    indent = src[line : first.start_byte]
    if indent.strip() or src[line - len(eol) : line] != eol or src[last.end_byte : syntax.line_end(src, last.end_byte)].strip():
        return None
    if any(src[a.end_byte : b.start_byte].strip() for a, b in itertools.pairwise(statements)):
        return None
    return Insertion(line - len(eol), last.end_byte, eol, indent, b"", ())


def _signature_names(func: Node) -> set[str]:
    """The names of the function's parameters and results."""
    lists = [func.child_by_field_name("parameters"), func.child_by_field_name("result")]
    return {
        syntax.text(name)
        for params in lists
        if params is not None and params.type == "parameter_list"
        for decl in params.named_children
        for name in decl.children_by_field_name("name")
    }
