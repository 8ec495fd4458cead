"""driver/trees.py: what one served run leaves the next, and the parse from an earlier run's tree.

The server's side (a run leaves the file, the next child takes it) is in tests/test_server.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from goinstrument.driver import trees
from goinstrument.engine.go import syntax

FUNC = "func F{n}(ctx context.Context, n int) error {{\n\tif n > {n} {{\n\t\treturn nil\n\t}}\n\treturn context.Canceled\n}}\n\n"
BIG = b'package shop\n\nimport "context"\n\n' + "".join(FUNC.format(n=n) for n in range(60)).encode()
NAME = "s-test.trees"


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No run's notes nor trees from another test; the variable that turns them off unset."""
    monkeypatch.delenv("GOINSTRUMENT_TREES", raising=False)
    saved = dict(trees._noted), dict(trees._kept)
    trees._noted.clear()
    trees._kept.clear()
    yield
    trees._noted.clear()
    trees._kept.clear()
    trees._noted.update(saved[0])
    trees._kept.update(saved[1])


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


def test_a_run_leaves_what_it_parsed_and_the_next_child_takes_it(tmp_path: Path, directory: int):
    output = BIG.replace(b"func F3(", b"func F3b(")
    trees.note("/repo/shop.go", BIG, output)
    trees.note("/repo/small.go", b"package shop\n")  # parsed in no time: not worth keeping
    trees.leave(directory, NAME)
    assert (tmp_path / NAME).stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != NAME]  # no temporary file left
    trees._noted.clear()
    trees.take(directory, NAME, always)
    assert not (tmp_path / NAME).exists()  # taken: the next child parses what the next run leaves
    assert [source for source, _ in trees._kept["/repo/shop.go"]] == [BIG, output]
    assert "/repo/small.go" not in trees._kept


def test_a_file_staged_again_is_parsed_from_the_nearest_tree(directory: int):
    trees.note("/repo/shop.go", BIG, BIG.replace(b"n > 30", b"n > 31"))
    trees.leave(directory, NAME)
    trees.take(directory, NAME, always)
    edited = BIG.replace(b"n > 30", b"n > 31") + FUNC.format(n=99).encode()  # the output, edited since
    assert edited not in syntax._TREES
    trees.prime("/repo/shop.go", edited)
    tree, plain = syntax._TREES[edited]  # parse() answers from it
    assert plain and syntax.parse(edited) is tree
    assert str(tree.root_node) == full(edited)
    trees.prime("/repo/other.go", edited + b"\n")  # no tree of that path: parsed as ever, later
    assert edited + b"\n" not in syntax._TREES


def test_the_same_bytes_again_are_parsed_from_their_tree(directory: int):
    trees.note("/repo/shop.go", BIG)
    trees.leave(directory, NAME)
    trees.take(directory, NAME, always)
    again = bytes(BIG)  # equal, another object
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

    trees.take(directory, NAME, idle)
    assert asked == [trees.WAIT, 0] and not trees._kept
    trees.take(directory, NAME, lambda seconds: False)  # one during the wait: nothing read
    assert not trees._kept


def test_what_is_left_is_capped_the_latest_first(directory: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(trees, "KEPT_BYTES", 2 * len(BIG) + 10)
    trees._kept["/repo/old.go"] = [(BIG + b"// old\n", None)]  # type: ignore[list-item]  # what this child was handed
    trees.note("/repo/a.go", BIG)
    trees.note("/repo/b.go", BIG + b"// b\n")
    trees.leave(directory, NAME)
    trees._noted.clear()
    trees._kept.clear()
    trees.take(directory, NAME, always)
    assert sorted(trees._kept) == ["/repo/a.go", "/repo/b.go"]  # the run's own first; the older dropped


def test_a_run_that_parsed_no_staged_file_passes_on_what_it_was_handed(tmp_path: Path, directory: int):
    trees.leave(directory, NAME)  # neither: nothing
    assert not list(tmp_path.iterdir())
    trees.note("/repo/shop.go", BIG)
    trees.leave(directory, NAME)
    trees._noted.clear()  # the next child
    trees.take(directory, NAME, always)
    trees.leave(directory, NAME)  # its run (a commit of other files) noted nothing
    trees._kept.clear()
    trees.take(directory, NAME, always)
    assert [source for source, _ in trees._kept["/repo/shop.go"]] == [BIG]


def test_off(tmp_path: Path, directory: int, monkeypatch: pytest.MonkeyPatch):
    """GOINSTRUMENT_TREES=0: the run parses from no tree and leaves none of its own (what its
    process was handed goes on to the next, for a run that wants them)."""
    trees.note("/repo/shop.go", BIG)
    trees.leave(directory, NAME)
    trees._noted.clear()
    trees.take(directory, NAME, always)
    monkeypatch.setenv("GOINSTRUMENT_TREES", "0")
    edited = BIG + b"// edited\n"
    trees.prime("/repo/shop.go", edited)
    assert edited not in syntax._TREES
    trees.note("/repo/other.go", BIG)
    trees.leave(directory, NAME)
    trees._kept.clear()
    trees.take(directory, NAME, always)
    assert list(trees._kept) == ["/repo/shop.go"]


CUT_SHORT = [trees._MAGIC + b"\x00\x00\x00\x05/repo", trees._MAGIC + b"\x00\x00\x00\x01/\x00\x00\x01\x00x"]


@pytest.mark.parametrize("data", [b"", b"something else", *CUT_SHORT])
def test_a_file_that_is_not_one_left_is_nothing(tmp_path: Path, directory: int, data: bytes):
    (tmp_path / NAME).write_bytes(data)
    trees.take(directory, NAME, always)
    assert not trees._kept


def test_a_source_in_error_is_not_kept(directory: int):
    trees.note("/repo/shop.go", BIG + b"func (\n")
    trees.leave(directory, NAME)
    trees.take(directory, NAME, always)
    assert not trees._kept
