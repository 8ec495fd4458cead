"""Range-over-func loops (Go 1.23+): the order cmd/compile numbers the literals of such a loop in.

The compiler turns the body of `for x := range f { ... }`, where f is a
function, into a closure (`F-range1`, a name of its own) and numbers the
function literals of the enclosing function as it meets them after that
rewrite: the body's literals first, then those of the range expression.
In `for x := range wrap(func() {...}) { g := func() {...} }` the runtime calls
g `F.func1` and the argument `F.func2` (checked with runtime.FuncForPC on Go
1.26, fixtures/gomod/runtimenames/rangefunc.go). Over anything else (a slice, a map, a channel,
an integer) the order is the source's.

Whether a range is over a function takes the expression's type; it only
matters where the expression holds a literal, and is decided from what the
source shows, by Go's rules:
- a function literal;
- a call whose result type is a function type, `iter.Seq`/`iter.Seq2` (the
  file's import of "iter"), or a type the package declares as a function type
  (`type Seq[T any] func(yield func(T) bool)`), the function called being
  a function literal, a function the package declares at top level (in any
  of its files: `package_scope.package_iterators`), a method the package
  declares under that name (every method of that name returning such a type),
  or one of the standard library's iterators (`maps.Keys`, `slices.Values`,
  `strings.FieldsFuncSeq`, ...: STD_ITERATORS).
What else is taken as not over a function: a call of a local variable, of
another package's function, of a method no declaration of the package
explains. Such a range keeps the source's order, which is the runtime's only
if it is not over a function (a limit docs/design.md states).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tree_sitter import Node

from goinstrument.engine.go import scopes, syntax
from goinstrument.tuples import NamedTuple

# The standard library's functions returning iter.Seq or iter.Seq2 (Go 1.26).
STD_ITERATORS: Mapping[str, frozenset[str]] = {
    "maps": frozenset({"All", "Keys", "Values"}),
    "slices": frozenset({"All", "Backward", "Values", "Chunk"}),
    "strings": frozenset({"Lines", "SplitSeq", "SplitAfterSeq", "FieldsSeq", "FieldsFuncSeq"}),
    "bytes": frozenset({"Lines", "SplitSeq", "SplitAfterSeq", "FieldsSeq", "FieldsFuncSeq"}),
    "go/ast": frozenset({"Preorder"}),
}

# A range clause whose expression may hold a function literal: `func` after `range` on its
# line, or the expression's call running on to the next line. A cheap look at a file's bytes
# (`\brange` written literal first, as `range(?<!\wrange)`: a pattern that starts with a literal
# is searched for that literal, one that starts with `\b` is tried at every byte, 12x slower).
MAY_RANGE_OVER_LITERAL = re.compile(rb"range(?<!\wrange)\b[^\n]*(?:\bfunc\b|[(,]\s*$)", re.MULTILINE)


class Iterators(NamedTuple):
    """What a package declares that makes a call an iterator (names, sorted)."""

    functions: tuple[str, ...] = ()  # top-level functions whose result is a function type
    methods: tuple[str, ...] = ()  # method names whose every declaration's result is one
    types: tuple[str, ...] = ()  # named types declared as a function type


def declared(files: list[tuple[Node, frozenset[str]]], known: Iterators | None = None) -> Iterators:
    """What the files (each a tree and the names it imports "iter" under) declare, with what is
    `known` (the package's other files): types first (`type A B`, B a function type, followed
    until nothing is added), then the functions and methods whose result is one."""
    known = known or Iterators()
    decls = [(_declarations(root), names) for root, names in files]
    types = set(known.types)
    grew = True
    while grew:
        grew = False
        for (kinds, _, _), names in decls:
            for name, kind in kinds.items():
                if name not in types and _is_function_type(kind, names, types):
                    types.add(name)
                    grew = True
    functions = set(known.functions) | {n for (_, funcs, _), names in decls for n, r in funcs.items() if _is_function_type(r, names, types)}
    methods = [(n, _is_function_type(r, names, types)) for (_, _, ms), names in decls for n, r in ms]
    good = set(known.methods) | {n for n, ok in methods if ok}
    return Iterators(tuple(sorted(functions)), tuple(sorted(good - {n for n, ok in methods if not ok})), tuple(sorted(types)))


class _Declarations(NamedTuple):
    types: dict[str, Node]  # name -> its type node
    functions: dict[str, Node | None]  # name -> its result node
    methods: list[tuple[str, Node | None]]


def _declarations(root: Node) -> _Declarations:
    types: dict[str, Node] = {}
    functions: dict[str, Node | None] = {}
    methods: list[tuple[str, Node | None]] = []
    for decl in root.named_children:
        if decl.type == "type_declaration":
            for spec in decl.named_children:
                name, kind = spec.child_by_field_name("name"), spec.child_by_field_name("type")
                if spec.type in ("type_spec", "type_alias") and name is not None and kind is not None:
                    types[syntax.text(name)] = kind
        elif decl.type in ("function_declaration", "method_declaration"):
            name = decl.child_by_field_name("name")
            if name is None:
                continue
            if decl.type == "function_declaration":
                functions[syntax.text(name)] = decl.child_by_field_name("result")
            else:
                methods.append((syntax.text(name), decl.child_by_field_name("result")))
    return _Declarations(types, functions, methods)


def iter_names(imports: Mapping[str, str]) -> frozenset[str]:
    """The names a file imports "iter" under."""
    return frozenset(name for name, path in imports.items() if path == "iter")


def _is_function_type(node: Node | None, iter_names: frozenset[str], types: set[str] | tuple[str, ...]) -> bool:
    """Whether a type (or a result list of one type) is a function type: `func(...)`, `iter.Seq[...]`,
    `iter.Seq2[...]`, or a name in `types`."""
    while node is not None and node.type in ("parenthesized_type", "parameter_list"):
        if node.type == "parameter_list":
            params = [c for c in node.named_children if c.type == "parameter_declaration"]
            if len(params) != 1 or len(params[0].children_by_field_name("name")) > 1:
                return False
            node = params[0].child_by_field_name("type")
        else:
            node = node.named_children[0] if node.named_children else None
    if node is None:
        return False
    if node.type == "function_type":
        return True
    if node.type == "generic_type":
        node = node.child_by_field_name("type")
        if node is None:
            return False
    if node.type == "qualified_type":
        package, name = node.child_by_field_name("package"), node.child_by_field_name("name")
        return package is not None and syntax.text(package) in iter_names and name is not None and name.text in (b"Seq", b"Seq2")
    return node.type == "type_identifier" and syntax.text(node) in types


def over_function(expr: Node, imports: Mapping[str, str], known: Iterators) -> bool:
    """Whether `for ... range expr` ranges over a function, as far as the source shows.
    `imports`: the file's import names -> paths (dot and blank imports left out)."""
    while expr.type == "parenthesized_expression" and expr.named_children:
        expr = expr.named_children[0]
    if expr.type == "func_literal":
        return True
    if expr.type != "call_expression":
        return False
    called = expr.child_by_field_name("function")
    while called is not None and called.type == "parenthesized_expression" and called.named_children:
        called = called.named_children[0]
    if called is None:
        return False
    if called.type == "func_literal":
        return _is_function_type(called.child_by_field_name("result"), iter_names(imports), known.types)
    if called.type == "identifier":
        name = syntax.text(called)
        return name in known.functions and not scopes.resolves_locally(called, called.text or b"")
    if called.type == "selector_expression":
        operand, field = called.child_by_field_name("operand"), called.child_by_field_name("field")
        if operand is None or field is None:
            return False
        if (
            operand.type == "identifier"
            and operand.text is not None
            and syntax.text(operand) in imports
            and not scopes.resolves_locally(operand, operand.text)
        ):
            return syntax.text(field) in STD_ITERATORS.get(imports[syntax.text(operand)], frozenset())
        return syntax.text(field) in known.methods
    return False


class Loop(NamedTuple):
    """A range loop whose range expression holds a function literal."""

    statement: Node
    expression: Node
    body: Node


def loops(functions: list[Node]) -> list[Loop]:
    """The range loops whose expression holds one of `functions` (syntax.functions) as a literal."""
    found: dict[int, Loop] = {}  # by the for statement's start
    for node in functions:
        if node.type != "func_literal":
            continue
        child, parent = node, node.parent
        while parent is not None and parent.type not in ("func_literal", "function_declaration", "method_declaration", "source_file"):
            if parent.type == "range_clause" and parent.child_by_field_name("right") == child:
                loop = parent.parent
                body = loop.child_by_field_name("body") if loop is not None else None
                if loop is not None and body is not None and loop.start_byte not in found:
                    found[loop.start_byte] = Loop(loop, child, body)
            child, parent = parent, parent.parent
    return list(found.values())


def needs_package(functions: list[Node], imports: Mapping[str, str]) -> bool:
    """Whether naming the file's spans may take what the package's other files declare: a loop
    whose kind the file alone does not decide (a call of a name that is not an import's) holds
    a literal that may get a span (its text mentions a context or a request)."""
    for loop in loops(functions):
        text = syntax.raw(loop.statement)
        if b"Context" not in text and b"Request" not in text:
            continue
        expr = loop.expression
        while expr.type == "parenthesized_expression" and expr.named_children:
            expr = expr.named_children[0]
        called = expr.child_by_field_name("function") if expr.type == "call_expression" else None
        operand = called.child_by_field_name("operand") if called is not None and called.type == "selector_expression" else None
        if called is not None and (called.type == "identifier" or (operand is not None and syntax.text(operand) not in imports)):
            return True
    return False


def numbering_order(functions: list[Node], imports: Mapping[str, str], known: Iterators) -> list[Node] | None:
    """`functions` (syntax.functions, in source order) in the order cmd/compile numbers literals
    in, or None where that is the source order: in a range over a function, what the range
    expression holds comes after what the body holds."""
    moved = [(loop.expression, loop.body) for loop in loops(functions) if over_function(loop.expression, imports, known)]
    if not moved:
        return None
    moved.sort(key=lambda pair: pair[0].start_byte, reverse=True)  # inner loops first

    def key(node: Node) -> tuple[int, ...]:
        order: tuple[int, ...] = (node.start_byte,)
        for expr, body in moved:
            if expr.start_byte <= node.start_byte < expr.end_byte:
                order = (body.end_byte - 1, *order)  # just before the body's closing brace
        return order

    return sorted(functions, key=key)
