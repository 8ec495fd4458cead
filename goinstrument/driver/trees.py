"""Parse trees a warm server keeps from one hook run for the next.

A served run that instrumented staged files leaves, once its client has its exit code, their bytes
as they were staged and as it left them (`note`, then `leave`: a file of the server's own private
directory). The server's next child, forked once that run is over, parses them while it waits for
a run of its own (`take`), unless that run comes first. Its run then parses a staged file of one of
those paths from the nearest of their trees (`prime`): what changed since is parsed again and the
rest reused, and tree-sitter's incremental parse gives the tree a full parse gives. A file
committed again, edited since, is the hook's common case; each staged file of the 5-file commit
of bench/bench_git.py costs a parse of a few hundred bytes then, not of up to 54 KB (13 ms).
A run that parsed none of them passes them on, to AGES children at most.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from goinstrument.engine.edits import between

if TYPE_CHECKING:
    from tree_sitter import Tree

SMALLEST = 4 * 1024  # bytes: a smaller file parses in well under a millisecond
LARGEST = 128 * 1024  # bytes: a larger one would keep a run that comes meanwhile waiting for its parse (~30 ms)
KEPT_BYTES = 512 * 1024  # the sources kept at most; their trees take about 28 times as much memory
AGES = 3  # the children that may take a source: the next, and two more after runs that noted none
WAIT = 0.25  # seconds the next child waits before it parses: the commit's own end (git's, after the hook) goes first
TEST_WAIT = "GOINSTRUMENT_TEST_TREES_WAIT"  # tests/test_server.py: `wait`, seconds (a file left, kept a while)
OFF = "GOINSTRUMENT_TREES"
TRACE = "GOINSTRUMENT_CLIENT_TRACE"  # where the hook's client says what became of a run: the files parsed from a tree too
_MAGIC = b"goinstrument trees 2\n"
_HEAD = struct.Struct(">BII")  # an entry: its age, the size of its place, the size of its source

_noted: dict[str, list[bytes]] = {}  # in a run: a staged file's place -> its sources (as staged, as left)
_kept: dict[str, list[tuple[bytes, Tree, int]]] = {}  # in a server's child: place -> (a source, its tree, its age)


def _off() -> bool:
    """GOINSTRUMENT_TREES=0 (the run's own environment: one server serves runs with it and without):
    the run parses from no tree, and leaves none (those its child was handed are dropped)."""
    return os.environ.get(OFF) == "0"


def note(place: str, *sources: bytes) -> None:
    """A staged file the run parsed (`place`: its path in the working tree) and its output: what a
    later run of the same path may be parsed from. Small files are not worth it, large ones not
    worth a wait; what the run noted is capped at KEPT_BYTES, as what it leaves is."""
    if not sources or not SMALLEST <= len(sources[0]) <= LARGEST or _off():
        return
    noted = sum(len(source) for kept in _noted.values() for source in kept)
    distinct = [source for source in dict.fromkeys(sources) if len(source) <= LARGEST]
    if noted + sum(map(len, distinct)) <= KEPT_BYTES:
        _noted.pop(place, None)
        _noted[place] = distinct  # the latest last


def leave(directory: int, name: str) -> None:
    """What this run noted, then what its process was handed (`take`) that is younger than AGES
    runs, the latest first, up to KEPT_BYTES, written as `name` in `directory` (a temporary file
    renamed: whole or not at all); nothing where there is neither. With GOINSTRUMENT_TREES=0,
    nothing: the file a child left meanwhile is removed too."""
    if _off():
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=directory)
        return
    entries = [(0, place, source) for place, sources in reversed(_noted.items()) for source in sources]
    entries += [(age + 1, place, source) for place, kept in _kept.items() if place not in _noted for source, _, age in kept if age + 1 < AGES]
    chunks, total = [_MAGIC], 0
    for age, place, source in entries:
        if total + len(source) > KEPT_BYTES:
            continue  # a smaller one may still fit
        total += len(source)
        encoded = os.fsencode(place)
        chunks += [_HEAD.pack(age, len(encoded), len(source)), encoded, source]
    if total == 0:
        return
    temporary = f"{name}.{os.getpid()}"
    with contextlib.suppress(OSError):  # a dead process's of the same pid (never followed: unlinked)
        os.unlink(temporary, dir_fd=directory)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600, dir_fd=directory)
    try:
        with open(fd, "wb") as f:
            f.write(b"".join(chunks))
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=directory)
        raise


def take(directory: int, name: str, idle: Callable[[float], bool], wait: float = WAIT) -> None:
    """The file `leave` wrote, taken (renamed to a name of this process's, then read and removed:
    one a child leaves meanwhile is the next child's), its sources parsed and kept one at a time,
    first after `wait` seconds, while `idle(seconds)` says no run came within them. One that has
    an error is left out: `prime` parses from a tree of the bytes themselves, never tolerance's."""
    if not idle(wait):
        return
    taken = f"{name}.{os.getpid()}"
    try:
        os.rename(name, taken, src_dir_fd=directory, dst_dir_fd=directory)
        fd = os.open(taken, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=directory)
    except OSError:
        return
    finally:
        with contextlib.suppress(OSError):
            os.unlink(taken, dir_fd=directory)
    with open(fd, "rb") as f:
        data = f.read()
    from goinstrument.engine.go import syntax  # (the grammar: loaded in a server already)

    for age, place, source in _entries(data):
        if not idle(0):
            return
        tree = syntax.parse_plain(source)
        if tree is not None:
            _kept.setdefault(place, []).append((source, tree, age))


def waiting() -> float:
    """The wait before `take` parses: WAIT, or the tests' (in the server's own environment)."""
    try:
        return float(os.environ.get(TEST_WAIT, WAIT))
    except ValueError:
        return WAIT


def _entries(data: bytes) -> list[tuple[int, str, bytes]]:
    """The (age, place, source) entries `leave` wrote; none of a file that is not one (cut short,
    or another's)."""
    if not data.startswith(_MAGIC):
        return []
    found, at = [], len(_MAGIC)
    try:
        while at < len(data):
            age, place_size, size = _HEAD.unpack_from(data, at)
            at += _HEAD.size
            place, source = data[at : at + place_size], data[at + place_size : at + place_size + size]
            at += place_size + size
            if len(source) != size:
                return []
            found.append((age, os.fsdecode(place), source))
    except struct.error:
        return []
    return found


def prime(place: str, src: bytes) -> None:
    """Where trees of `place` are kept, `src` parsed from the nearest (the one that leaves the
    least to parse again), so that `syntax.parse(src)` finds its tree made; said where the hook's
    client says what became of its runs (GOINSTRUMENT_CLIENT_TRACE)."""
    kept = _kept.get(place)
    if not kept or _off():
        return
    from goinstrument.engine.go import syntax  # (loaded by the run already: it parses)

    edits = [(between(source, src), source, tree) for source, tree, _ in kept]
    edit, source, tree = min(edits, key=lambda found: found[0].end - found[0].start + len(found[0].text))
    if syntax.parse_edited(source, [edit], src, tree=tree) is not None and os.environ.get(TRACE):
        line = b"trees: %s parsed from an earlier tree (%d of %d bytes new)\n" % (os.fsencode(place), len(edit.text), len(src))
        with contextlib.suppress(OSError), open(os.environ[TRACE], "ab") as trace:  # a name of any bytes
            trace.write(line)
