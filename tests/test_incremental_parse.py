"""The stability check parses a file's output incrementally, from the input's tree and the edits
that made the output (syntax.parse_edited): that tree must be the one a full parse gives."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_golden import GOLDEN, _cases, options_for
from tree_sitter import Node, Parser, QueryCursor, Tree

from goinstrument.driver import process
from goinstrument.engine.edits import Edit, apply, between
from goinstrument.engine.go import syntax
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Source

OPTIONS = RewriteOptions()


def _full(src: bytes) -> str:
    return str(Parser(syntax.LANGUAGE).parse(src).root_node)


def _nodes(index: syntax.Index) -> dict[str, list[tuple[str, int, int]]]:
    kinds = {
        "functions": index.functions,
        "comments": index.comments,
        "aliases": index.aliases,
        "identifiers": index.identifiers,
        "package_uses": index.package_uses,
        "declared": index.declared_in(index.root),
    }
    return {kind: [(n.type, n.start_byte, n.end_byte) for n in nodes] for kind, nodes in kinds.items()}


_STRUCTURE = """
(function_declaration) @functions
(method_declaration) @functions
(func_literal) @functions
(comment) @comments
(type_alias name: (type_identifier) @aliases)
"""


def _queried(root: Node) -> dict[str, list[tuple[str, int, int]]]:
    """Every kind of the index as queries over the whole tree capture them (the structure too)."""
    found = {**QueryCursor(syntax.query(_STRUCTURE)).captures(root), **QueryCursor(syntax.query(syntax._INDEX)).captures(root)}
    names = {"identifier": "identifiers", "package_use": "package_uses"}
    return {
        names.get(kind, kind): [(n.type, n.start_byte, n.end_byte) for n in sorted(nodes, key=lambda n: n.start_byte)]
        for kind, nodes in found.items()
    }


def _check(path: str, src: bytes, options: RewriteOptions = OPTIONS) -> bool:
    """Whether the file's output carried its edits; asserts the incremental tree is the full one,
    and its index (the structure from its tokens, the names by range) what whole queries give."""
    syntax.parse(src)
    result = process.rewrite(src, options, process.file_info(Source(path, Path(path), src), options))
    if not result.changed or not result.edits:
        return False
    assert apply(result.source, result.edits) == result.output
    tree = syntax.parse_edited(result.source, result.edits, result.output)
    assert tree is not None, path
    assert syntax.parse(result.output) is tree  # the check's second run gets it
    assert str(tree.root_node) == _full(result.output), path
    full = syntax.Index(tree.root_node)
    # The nodes of a kind in a range, from a query over the range alone: those of the whole query.
    lazy = syntax.Index(tree.root_node)
    wholes = {"package_use": full.package_uses, "identifier": full.identifiers, "declared": full.declared_in(full.root)}
    for func in lazy.functions:
        start, end = func.start_byte, func.end_byte
        for kind, whole in wholes.items():
            assert lazy.within(kind, start, end) == [n for n in whole if start <= n.start_byte < end], (path, kind)
    assert not lazy.has("identifier")  # none of it ran the whole query
    queried = _queried(tree.root_node)
    assert _nodes(full) == {kind: queried.get(kind, []) for kind in _nodes(full)}, path
    return True


@pytest.mark.parametrize("case", _cases(GOLDEN, "*.input.go"))
def test_golden_outputs(case: Path):
    src = case.read_bytes()
    _check(os.fspath(case), src, options_for(src))


def test_most_golden_outputs_carry_their_edits():
    """Only a gofmt re-layout, a migration, --line-directives or stand-in letters go without."""
    inputs = sorted(GOLDEN.glob("*.input.go"))
    carried = sum(_check(os.fspath(p), p.read_bytes(), options_for(p.read_bytes())) for p in inputs)
    assert carried > 40


def test_a_rewrites_output_is_parsed_from_its_source():
    """The first parse of an output (the stability check's second run) starts from its source's
    tree: the core tells syntax what the output was made of (syntax.derived), no caller does."""
    src = b'package p\n\nimport "context"\n\nfunc Derived(ctx context.Context) error {\n\treturn nil\n}\n'
    result = process.rewrite(src, OPTIONS, process.file_info(Source("p.go", Path("p.go"), src), OPTIONS))
    assert result.edits
    assert result.output in syntax._DERIVED
    tree = syntax.parse(result.output)
    assert result.output not in syntax._DERIVED  # taken: parsed from the source's tree
    assert str(tree.root_node) == _full(result.output)
    assert _nodes(syntax.index(tree.root_node)) == _nodes(syntax.Index(tree.root_node))


def test_touching_edits_are_one_edit():
    src = b"package p\n\nfunc f() {\n\tg()\n}\n"
    syntax.parse(src)
    at = src.index(b"g()")
    edits = [Edit(at, at, b"h()\n\t"), Edit(at, at + 1, b"k"), Edit(at + 1, at + 1, b"x")]
    new = apply(src, edits)
    tree = syntax.parse_edited(src, edits, new)
    assert tree is not None and str(tree.root_node) == _full(new)


def test_output_in_error_is_not_kept():
    src = b"package p\n\nfunc f() {}\n"
    syntax.parse(src)
    edits = [Edit(len(src) - 2, len(src) - 1, b"")]  # the closing brace
    assert syntax.parse_edited(src, edits, apply(src, edits)) is None


def _every_node(tree: Tree) -> list[tuple[str, int, int, bool, str | None]]:
    """Each node of the tree in order, with its range, whether tree-sitter calls it named, and
    the field its parent holds it in (what the core's child_by_field_name reads)."""
    found, cursor = [], tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        found.append((node.type, node.start_byte, node.end_byte, node.is_named, cursor.field_name))
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            return found


def _from_earlier(old: bytes, new: bytes) -> None:
    """`new` parsed from `old`'s tree, one edit between them (edits.between), as a server's child
    parses a file staged again from an earlier run's tree (driver/trees.py): the full parse's tree."""
    tree = syntax.parse_plain(old)
    if tree is None:
        return  # (trees.take keeps the trees of sources without errors alone)
    syntax._TREES.pop(new, None)
    again = syntax.parse_edited(old, [between(old, new)], new, tree=tree)
    if syntax.parse_plain(new) is None:  # in error: left to parse, which bridges it (tolerance)
        assert again is None and new not in syntax._TREES
        return
    assert again is not None and syntax.parse(new) is again
    full = syntax.parse_plain(new)
    assert full is not None and _every_node(again) == _every_node(full)


@pytest.mark.parametrize("case", _cases(GOLDEN, "*.input.go"))
def test_a_file_is_parsed_from_an_earlier_versions_tree(case: Path):
    """From the input's tree to its golden output, back, and to each with a line dropped."""
    src, golden = case.read_bytes(), case.with_name(case.name.replace(".input.go", ".golden.go")).read_bytes()
    lines = golden.splitlines(keepends=True)
    dropped = b"".join(lines[: len(lines) // 2] + lines[len(lines) // 2 + 1 :])
    for old, new in ((src, golden), (golden, src), (golden, dropped), (src, golden + golden[-40:]), (src, src), (golden, golden + b"func (")):
        _from_earlier(old, new)


def _standard_library() -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each .go file of $(go env GOROOT)/src that imports context."""
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    for directory, _, names in os.walk(os.path.join(goroot, "src")):
        for name in names:
            path = os.path.join(directory, name)
            if name.endswith(".go") and b'context"' in (src := Path(path).read_bytes()):
                yield path, src


@pytest.mark.slow
def test_standard_library_from_earlier_versions():
    """Each file of the standard library that imports context, from its tree to an edited copy:
    a function added at the end, a line dropped in the middle, and a comment in the first line."""
    checked = 0
    for _, src in _standard_library():
        lines = src.splitlines(keepends=True)
        middle = len(lines) // 2
        added = src + b"\nfunc added(ctx context.Context) error { return nil }\n"
        for new in (added, b"".join(lines[:middle] + lines[middle + 1 :]), b"// edited\n" + src):
            _from_earlier(src, new)
        checked += 1
    assert checked > 100


@pytest.mark.slow
def test_standard_library():
    assert sum(_check(path, src) for path, src in _standard_library()) > 100


TRICKY = [
    # blank lines before the package clause: the root node starts at its first token
    b'\n\n  \npackage p\n\nimport "context"\n\nfunc f(ctx context.Context) {}\n\n\n',
    # the words in strings, comments and names: no token of theirs
    b'package p\n\n// func f() {} /* type T = int */\nvar s = "func // type /*"\nvar funcs, types = `func`, 1\n\n'
    b"/* a // b */ func g() { _ = func() {}; type L = int; var _ L }\n\ntype (\n\tA = int\n\tB int\n\tC[T any] = []T\n)\n"
    b"func (r *R) m() func() { return func() {} } // func\n",
    # stand-in letters (tolerance.py) and a `new(expr)` the grammar lacks
    b"package p\n\nfunc \xcd\xbaf() { type \xcd\xba = int; _ = new(1 + 2); _ = func() {} }\n",
    # a const spec of several names: the query sees its first only (syntax.declares keeps that)
    b"package p\n\nfunc h() {\n\tconst a, b = 1, 2\n\tvar c, d = 3, 4\n\te, f := 5, 6\n}\n",
]


@pytest.mark.parametrize("src", TRICKY)
def test_the_structure_from_tokens_is_what_queries_capture(src: bytes):
    root = syntax.parse(src).root_node
    assert not root.has_error
    index = syntax.Index(root)
    queried = _queried(root)
    assert _nodes(index) == {kind: queried.get(kind, []) for kind in _nodes(index)}
    declared = {src[start:end] for _, start, end in queried.get("declared", [])}
    for word in {syntax.raw(n) for n in index.identifiers} | {b"b", b"d", b"zz"}:
        assert syntax.declares(root, word) == (word in declared), word
