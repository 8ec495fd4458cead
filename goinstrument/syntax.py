"""Parsing Go with tree-sitter: one parser, the queries we run, and node helpers."""

from __future__ import annotations

import bisect
from functools import cache

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from goinstrument import tolerance
from goinstrument.result import Position

LANGUAGE = Language(tree_sitter_go.language())

_FUNCTIONS = """
(function_declaration) @f
(method_declaration) @f
(func_literal) @f
"""
# Every name a Go identifier can stand for; field names (x.f, T{f: v}) excluded
# where tree-sitter tells them apart, since they cannot clash with a variable.
_IDENTIFIERS = """
(identifier) @id
(type_identifier) @id
(package_identifier) @id
"""
_COMMENTS = "(comment) @c"
# Where an imported package's name is used: `pkg.Name` in an expression or a type.
_PACKAGE_USES = """
(selector_expression operand: (identifier) @use)
(qualified_type package: (package_identifier) @use)
"""
# Names a declaration brings into some scope: parameters, results, receivers, type
# parameters, variables, constants, local types.
_DECLARED = """
(parameter_declaration name: (identifier) @n)
(variadic_parameter_declaration name: (identifier) @n)
(short_var_declaration left: (expression_list (identifier) @n))
(var_spec name: (identifier) @n)
(const_spec name: (identifier) @n)
(range_clause left: (expression_list (identifier) @n))
(receive_statement left: (expression_list (identifier) @n))
(type_parameter_declaration name: (identifier) @n)
(type_switch_statement alias: (expression_list (identifier) @n))
(type_spec name: (type_identifier) @n)
"""


@cache
def _parser() -> Parser:
    return Parser(LANGUAGE)


@cache
def _query(source: str) -> Query:
    return Query(LANGUAGE, source)


def parse(src: bytes) -> Tree:
    """The tree of `src`; valid Go the grammar lacks is bridged by `tolerance` (positions kept)."""
    return tolerance.parse(src, _parser().parse)


def _captures(query: str, node: Node) -> list[Node]:
    found = QueryCursor(_query(query)).captures(node)
    nodes = [n for group in found.values() for n in group]
    nodes.sort(key=lambda n: n.start_byte)
    return nodes


def functions(root: Node) -> list[Node]:
    """Function declarations, methods and literals, in source order."""
    return _captures(_FUNCTIONS, root)


def declared_names(node: Node) -> set[bytes]:
    """Every name declared anywhere inside `node`, whatever its scope."""
    return {raw(n) for n in _captures(_DECLARED, node)}


def type_alias_names(root: Node) -> set[bytes]:
    """Every name a `type X = ...` declares anywhere in the file."""
    return {raw(n) for n in _captures("(type_alias name: (type_identifier) @n)", root)}


def package_uses(root: Node) -> list[Node]:
    """Every identifier that may name an imported package (`x` in `x.Y`), in source order."""
    return _captures(_PACKAGE_USES, root)


def comments(root: Node) -> list[Node]:
    return _captures(_COMMENTS, root)


def text(node: Node | None) -> str:
    """The source text of a node ("" for none), decoded."""
    return raw(node).decode("utf-8", "replace")


def raw(node: Node | None) -> bytes:
    """The source bytes of a node (b"" for none)."""
    return node.text or b"" if node is not None else b""


def position(node: Node) -> Position:
    row, col = node.start_point
    return Position(row + 1, col + 1)


def first_error(root: Node) -> Node | None:
    """The first ERROR or MISSING node, depth first, or None for a clean tree."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return node
        stack.extend(child for child in reversed(node.children) if child.has_error or child.is_missing)
    return root


class Identifiers:
    """All identifier occurrences of a file, to ask which names a byte range uses."""

    def __init__(self, root: Node):
        nodes = _captures(_IDENTIFIERS, root)
        self._starts = [n.start_byte for n in nodes]
        self._names = [raw(n) for n in nodes]

    def names_in(self, start: int, end: int) -> set[bytes]:
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_left(self._starts, end)
        return set(self._names[lo:hi])

    def all_names(self) -> set[bytes]:
        return set(self._names)


def line_start(src: bytes, offset: int) -> int:
    return src.rfind(b"\n", 0, offset) + 1


def line_end(src: bytes, offset: int) -> int:
    """Offset of the line terminator (\\r\\n or \\n) of the line holding offset, or len(src)."""
    end = src.find(b"\n", offset)
    if end < 0:
        return len(src)
    return end - 1 if end > 0 and src[end - 1 : end] == b"\r" else end


def indentation(src: bytes, offset: int) -> bytes:
    """The leading blanks of the line holding offset."""
    start = line_start(src, offset)
    end = start
    while end < len(src) and src[end : end + 1] in (b"\t", b" "):
        end += 1
    return src[start:end]
