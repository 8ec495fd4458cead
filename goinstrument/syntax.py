"""Parsing Go with tree-sitter: one parser, the queries we run, and node helpers."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import cache, cached_property
from operator import attrgetter

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from goinstrument import tolerance
from goinstrument.edits import Edit, ordered
from goinstrument.result import Position

LANGUAGE = Language(tree_sitter_go.language())

# One query, run once over a file's tree (`index`): each capture name is one kind of node
# the core asks for. A query cursor's cost is its walk over the whole tree, whatever it
# matches, so one walk for all of them costs about what one kind alone would (a third of
# six walks, measured on the standard library).
#   identifier: every name a Go identifier can stand for; field names (x.f, T{f: v}) are
#     left out where tree-sitter tells them apart, since they cannot clash with a variable.
#   package_use: where an imported package's name may be used (`pkg.Name`, expression or type).
#   declared: the names a declaration brings into some scope: parameters, results,
#     receivers, type parameters, variables, constants, local types.
_INDEX = """
(function_declaration) @function
(method_declaration) @function
(func_literal) @function
(comment) @comment
(identifier) @identifier
(type_identifier) @identifier
(package_identifier) @identifier
(selector_expression operand: (identifier) @package_use)
(qualified_type package: (package_identifier) @package_use)
(type_alias name: (type_identifier) @alias)
(parameter_declaration name: (identifier) @declared)
(variadic_parameter_declaration name: (identifier) @declared)
(short_var_declaration left: (expression_list (identifier) @declared))
(var_spec name: (identifier) @declared)
(const_spec name: (identifier) @declared)
(range_clause left: (expression_list (identifier) @declared))
(receive_statement left: (expression_list (identifier) @declared))
(type_parameter_declaration name: (identifier) @declared)
(type_switch_statement alias: (expression_list (identifier) @declared))
(type_spec name: (type_identifier) @declared)
"""


@cache
def _parser() -> Parser:
    return Parser(LANGUAGE)


@cache
def query(source: str) -> Query:
    """The compiled query (compiling costs milliseconds: once per source, when first used)."""
    return Query(LANGUAGE, source)


# The last few sources parsed, with their trees, and whether the tree is of the bytes
# themselves (not of tolerance's stand-ins). A file's output is read more than once by the check.
_TREES: dict[bytes, tuple[Tree, bool]] = {}
_TREES_KEPT = 4


def parse(src: bytes, *, keep: bool = True) -> Tree:
    """The tree of `src`; valid Go the grammar lacks is bridged by `tolerance` (positions kept).

    Trees are never edited in place, so the same bytes give back the same tree: the last few
    files' trees are kept (`keep=False` for a source that is not a file being rewritten).
    """
    kept = _TREES.get(src)
    if kept is not None:
        return kept[0]
    plain = _parser().parse(src)
    tree = plain if not plain.root_node.has_error else tolerance.parse(src, _parser().parse)
    if keep:
        _keep(src, tree, tree is plain)
    return tree


def _keep(src: bytes, tree: Tree, plain: bool) -> None:
    if len(_TREES) >= _TREES_KEPT:
        del _TREES[next(iter(_TREES))]
    _TREES[src] = (tree, plain)


def parse_edited(old: bytes, edits: Sequence[Edit], new: bytes) -> Tree | None:
    """Have `parse(new)` answer from an incremental parse, where `new` is `old` with `edits` applied
    (edits.apply) and `old`'s tree is at hand: tree-sitter reuses what the edits left alone, and its
    tree is the one a full parse gives. The tree kept, or None: a result in error is not kept
    (`parse` then does it all, tolerance included), nor is anything without `old`'s own tree."""
    kept = _TREES.get(old)
    if kept is None or not kept[1] or not edits or new in _TREES:
        return None
    tree = kept[0].copy()
    for start, end, text in reversed(_merged(edits)):  # from the end: each edit's offsets are still old's
        start_point = _point(old, start)
        rows = text.count(b"\n")
        column = len(text) - (text.rfind(b"\n") + 1) if rows else start_point[1] + len(text)
        tree.edit(start, end, start + len(text), start_point, _point(old, end), (start_point[0] + rows, column))
    again = _parser().parse(new, tree)
    if again.root_node.has_error:
        return None
    _keep(new, again, True)
    return again


def _merged(edits: Sequence[Edit]) -> list[tuple[int, int, bytes]]:
    """The edits in the order `edits.apply` applies them, those that touch made one."""
    merged: list[tuple[int, int, bytes]] = []
    for edit in ordered(edits):
        if merged and merged[-1][1] == edit.start:
            start, _, text = merged[-1]
            merged[-1] = (start, edit.end, text + edit.text)
        else:
            merged.append((edit.start, edit.end, edit.text))
    return merged


def _point(src: bytes, offset: int) -> tuple[int, int]:
    """The (row, byte column) of an offset, as tree-sitter counts them."""
    return src.count(b"\n", 0, offset), offset - (src.rfind(b"\n", 0, offset) + 1)


class Index:
    """The nodes of one tree the core asks for, by kind, each list in source order."""

    def __init__(self, root: Node):
        self._found = QueryCursor(query(_INDEX)).captures(root)
        self.root = root  # holds the tree alive while the index is cached

    def _kind(self, name: str) -> list[Node]:
        nodes = self._found.get(name, [])
        nodes.sort(key=_START)
        return nodes

    @cached_property
    def functions(self) -> list[Node]:
        return self._kind("function")

    @cached_property
    def comments(self) -> list[Node]:
        return self._kind("comment")

    @cached_property
    def package_uses(self) -> list[Node]:
        return self._kind("package_use")

    @cached_property
    def aliases(self) -> list[Node]:
        return self._kind("alias")

    @cached_property
    def identifiers(self) -> list[Node]:
        return self._kind("identifier")

    @cached_property
    def identifier_starts(self) -> list[int]:
        return [n.start_byte for n in self.identifiers]

    @cached_property
    def _declared(self) -> tuple[list[int], list[Node]]:
        nodes = self._kind("declared")
        return [n.start_byte for n in nodes], nodes

    def declared_in(self, node: Node) -> list[Node]:
        starts, nodes = self._declared
        return nodes[bisect.bisect_left(starts, node.start_byte) : bisect.bisect_left(starts, node.end_byte)]


_START = attrgetter("start_byte")


_INDEXES: dict[int, Index] = {}  # the last few trees' indexes, by the root's id
_INDEXES_KEPT = 4


def index(node: Node) -> Index:
    """The index of the tree `node` belongs to, built once per tree."""
    root = node
    while root.parent is not None:
        root = root.parent
    found = _INDEXES.get(root.id)
    if found is not None and found.root == root:
        return found
    made = Index(root)
    if len(_INDEXES) >= _INDEXES_KEPT:
        del _INDEXES[next(iter(_INDEXES))]
    _INDEXES[root.id] = made
    return made


def functions(root: Node) -> list[Node]:
    """Function declarations, methods and literals, in source order."""
    return index(root).functions


def declared_names(node: Node) -> set[bytes]:
    """Every name declared anywhere inside `node`, whatever its scope."""
    return {raw(n) for n in index(node).declared_in(node)}


def type_alias_names(root: Node) -> set[bytes]:
    """Every name a `type X = ...` declares anywhere in the file."""
    return {raw(n) for n in index(root).aliases}


def package_uses(root: Node) -> list[Node]:
    """Every identifier that may name an imported package (`x` in `x.Y`), in source order."""
    return index(root).package_uses


def comments(root: Node) -> list[Node]:
    return index(root).comments


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
        self._index = index(root)

    def names_in(self, start: int, end: int) -> set[bytes]:
        starts = self._index.identifier_starts
        return {raw(n) for n in self._index.identifiers[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]}

    def all_names(self) -> set[bytes]:
        return {raw(n) for n in self._index.identifiers}


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
