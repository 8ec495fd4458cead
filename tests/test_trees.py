"""driver/trees.py: what one served run leaves the next, and the parse from an earlier run's tree.

The server's side (a run leaves the file, the next child takes it, its run parses from it) is in
tests/test_server.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from goinstrument.driver import TREES_MODULE, trees
from goinstrument.engine.go import syntax

FUNC = "func F{n}(ctx context.Context, n int) error {{\n\tif n > {n} {{\n\t\treturn nil\n\t}}\n\treturn context.Canceled\n}}\n\n"
BIG = b'package shop\n\nimport "context"\n\n' + "".join(FUNC.format(n=n) for n in range(60)).encode()
NAME = "s-test.trees"


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No run's notes nor trees from another test, the variables that change them unset; and the
    module out of sys.modules afterwards, as in a run of a process of its own (which never loads
    it: process.py and run.py look it up there)."""
    for variable in (trees.OFF, trees.TRACE):
        monkeypatch.delenv(variable, raising=False)
    trees._noted.clear()
    trees._kept.clear()
    yield
    trees._noted.clear()
    trees._kept.clear()
    sys.modules.pop(TREES_MODULE, None)


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)  # as the server's (an O_PATH fd)
    yield fd
    os.close(fd)


def always(seconds: float) -> bool:
    return True


def full(src: bytes) -> str:
    tree = syntax.parse_plain(src)
    assert tree is not None
    return str(tree.root_node)


def handed(directory: int) -> dict[str, list[tuple[bytes, int]]]:
    """What the run noted, left and taken by the next child: place -> (source, age)."""
    trees.leave(directory, NAME)
    trees._noted.clear()
    trees._kept.clear()
    trees.take(directory, NAME, always)
    return {place: [(source, age) for source, _, age in kept] for place, kept in trees._kept.items()}


def test_a_run_leaves_what_it_parsed_and_the_next_child_takes_it(tmp_path: Path, directory: int):
    output = BIG.replace(b"func F3(", b"func F3b(")
    trees.note("/repo/shop.go", BIG, output)
    trees.note("/repo/small.go", b"package shop\n")  # parsed in no time: not worth keeping
    trees.note("/repo/huge.go", BIG * 30)  # a run that came meanwhile would wait for its parse
    trees.leave(directory, NAME)
    assert (tmp_path / NAME).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [NAME]  # no temporary file left
    trees._noted.clear()
    trees.take(directory, NAME, always)
    assert not (tmp_path / NAME).exists()  # taken: the next child parses what the next run leaves
    assert [(source, age) for source, _, age in trees._kept["/repo/shop.go"]] == [(BIG, 0), (output, 0)]
    assert sorted(trees._kept) == ["/repo/shop.go"]


def test_a_file_staged_again_is_parsed_from_the_nearest_tree(directory: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(trees.TRACE, os.fspath(tmp_path / "trace"))
    output = BIG.replace(b"n > 30", b"n > 31")
    trees.note("/repo/shop.go", BIG, output)
    handed(directory)
    edited = output + FUNC.format(n=99).encode()  # the output, edited since
    assert edited not in syntax._TREES
    trees.prime("/repo/shop.go", edited)
    tree, plain = syntax._TREES[edited]  # parse() answers from it
    assert plain and syntax.parse(edited) is tree
    assert str(tree.root_node) == full(edited)
    new = len(FUNC.format(n=99))
    assert (tmp_path / "trace").read_text() == f"trees: /repo/shop.go parsed from an earlier tree ({new} of {len(edited)} bytes new)\n"
    trees.prime("/repo/other.go", edited + b"\n")  # no tree of that path: parsed as ever, later
    assert edited + b"\n" not in syntax._TREES


def test_the_same_bytes_again_are_parsed_from_their_tree(directory: int):
    trees.note("/repo/shop.go", BIG)
    handed(directory)
    again = BIG[:-1] + BIG[-1:]  # equal, another object
    syntax._TREES.pop(again, None)
    trees.prime("/repo/shop.go", again)
    assert str(syntax._TREES[again][0].root_node) == full(BIG)


def test_a_run_that_comes_first_is_not_kept_waiting(tmp_path: Path, directory: int):
    trees.note("/repo/shop.go", BIG)
    trees.leave(directory, NAME)
    asked: list[float] = []

    def idle(seconds: float) -> bool:  # a run comes after the wait, before the first parse
        asked.append(seconds)
        return len(asked) == 1

    trees.take(directory, NAME, idle, 0.5)
    assert asked == [0.5, 0] and not trees._kept
    trees.leave(directory, NAME)
    trees.take(directory, NAME, lambda seconds: False)  # one during the wait: nothing read
    assert not trees._kept and (tmp_path / NAME).exists()


def test_what_is_left_is_capped_the_latest_first(directory: int, monkeypatch: pytest.MonkeyPatch):
    small = b"package shop\n\n// " + b"x" * 4900 + b"\n"
    monkeypatch.setattr(trees, "KEPT_BYTES", 2 * len(BIG) + 5 + len(small))
    trees._kept["/repo/old.go"] = [(BIG + b"// old\n", None, 0)]  # type: ignore[list-item]  # what this child was handed
    trees._kept["/repo/small.go"] = [(small, None, 0)]  # type: ignore[list-item]
    trees.note("/repo/a.go", BIG)
    trees.note("/repo/b.go", BIG + b"// b\n")
    trees.note("/repo/c.go", BIG + b"// c\n")  # over what a run notes: dropped
    assert list(trees._noted) == ["/repo/a.go", "/repo/b.go"]
    # The run's own first; of the older, the one too big dropped, the one that still fits kept.
    assert sorted(handed(directory)) == ["/repo/a.go", "/repo/b.go", "/repo/small.go"]


def test_a_run_that_parsed_no_staged_file_passes_on_what_it_was_handed_for_a_few_runs(tmp_path: Path, directory: int):
    trees.leave(directory, NAME)  # neither noted nor handed: nothing
    assert not list(tmp_path.iterdir())
    trees.note("/repo/shop.go", BIG)
    assert handed(directory) == {"/repo/shop.go": [(BIG, 0)]}
    for age in range(1, trees.AGES):  # runs that parse no staged file (a commit of other files)
        assert handed(directory) == {"/repo/shop.go": [(BIG, age)]}
    assert handed(directory) == {}
    assert not list(tmp_path.iterdir())


def test_off(tmp_path: Path, directory: int, monkeypatch: pytest.MonkeyPatch):
    """GOINSTRUMENT_TREES=0: the run parses from no tree and leaves none, those its child was
    handed included (a run of the same server without the variable left them)."""
    trees.note("/repo/shop.go", BIG)
    handed(directory)
    monkeypatch.setenv(trees.OFF, "0")
    edited = BIG + b"// edited\n"
    trees.prime("/repo/shop.go", edited)
    assert edited not in syntax._TREES
    trees.note("/repo/other.go", BIG)
    assert not trees._noted
    (tmp_path / NAME).write_bytes(b"left by another child meanwhile")
    trees.leave(directory, NAME)
    assert not list(tmp_path.iterdir())


CUT_SHORT = [
    trees._MAGIC + b"\x00\x00\x00\x00\x05\x00\x00\x00\x10/repoabc",  # a source shorter than its size
    trees._MAGIC + b"\x00\x00\x00\x00\x01\x00\x00\x01\x00/x",
    trees._MAGIC + b"\x00\x00",  # an entry's head cut short
]


@pytest.mark.parametrize("data", [b"", b"something else", trees._MAGIC[:-2] + b"1\n", *CUT_SHORT])
def test_a_file_that_is_not_one_left_is_nothing(tmp_path: Path, directory: int, data: bytes):
    (tmp_path / NAME).write_bytes(data)
    trees.take(directory, NAME, always)
    assert not trees._kept


def test_a_source_in_error_is_not_kept(directory: int):
    trees.note("/repo/shop.go", BIG + b"func (\n")
    assert handed(directory) == {}


def test_the_tests_wait(monkeypatch: pytest.MonkeyPatch):
    assert trees.waiting() == trees.WAIT
    monkeypatch.setenv(trees.TEST_WAIT, "30")
    assert trees.waiting() == 30
    monkeypatch.setenv(trees.TEST_WAIT, "soon")
    assert trees.waiting() == trees.WAIT


def test_a_file_left_while_one_is_taken_is_the_next_childs(tmp_path: Path, directory: int):
    trees.note("/repo/a.go", BIG)
    trees.leave(directory, NAME)
    calls: list[float] = []

    def idle(seconds: float) -> bool:  # another run's child leaves its file as this one parses
        calls.append(seconds)
        if len(calls) == 2:
            trees._noted.clear()
            trees.note("/repo/b.go", BIG + b"// b\n")
            trees.leave(directory, NAME)
        return True

    trees.take(directory, NAME, idle)
    assert list(trees._kept) == ["/repo/a.go"]
    assert [p.name for p in tmp_path.iterdir()] == [NAME]  # the other's, whole
    assert handed(directory)["/repo/b.go"] == [(BIG + b"// b\n", 0)]


def test_a_trace_names_a_file_of_any_bytes(directory: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(trees.TRACE, os.fspath(tmp_path / "trace"))
    place = os.fsdecode(b"/repo/caf\xe9.go")  # not UTF-8
    trees.note(place, BIG)
    handed(directory)
    trees.prime(place, BIG + b"// edited\n")
    assert (tmp_path / "trace").read_bytes().startswith(b"trees: /repo/caf\xe9.go parsed from an earlier tree (")
