"""Parse trees a warm server keeps from one hook run for the next.

A served run that instrumented staged files leaves, once its client has its exit code, their bytes
as they were staged and as it left them (`note`, then `leave`: a file of the server's own private
directory). The server's next child, forked once that run is over, parses them while it waits for
a run of its own (`take`), unless that run comes first. Its run then parses a staged file of one of
those paths from the nearest of their trees (`prime`): what changed since is parsed again and the
rest reused, and tree-sitter's incremental parse gives the tree a full parse gives. A file
committed again, edited since, is the hook's common case; each staged file of the 5-file commit
of bench/bench_git.py costs a parse of a few hundred bytes then, not of up to 54 KB (13 ms).
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
KEPT_BYTES = 512 * 1024  # the sources kept at most; their trees take about 28 times as much memory
WAIT = 0.25  # seconds the next child waits before it parses: the commit's own end (git's, after the hook) goes first
OFF = "GOINSTRUMENT_TREES"
_MAGIC = b"goinstrument trees 1\n"
_SIZE = struct.Struct(">I")

_noted: dict[str, list[bytes]] = {}  # in a run: a staged file's place -> its sources (as staged, as left)
_kept: dict[str, list[tuple[bytes, Tree]]] = {}  # in a server's child: place -> (a source, its tree)


def _off() -> bool:
    """GOINSTRUMENT_TREES=0 (the run's own environment): the run parses from no tree kept and adds
    none of its own (the trees of a server's waiting child take its memory)."""
    return os.environ.get(OFF) == "0"


def note(place: str, *sources: bytes) -> None:
    """A staged file the run parsed (`place`: its path in the working tree) and its output: what a
    later run of the same path may be parsed from. Small files are not worth it."""
    if sources and len(sources[0]) >= SMALLEST and not _off():
        _noted.pop(place, None)
        _noted[place] = list(dict.fromkeys(sources))  # the latest last; the same bytes once


def leave(directory: int, name: str) -> None:
    """The sources noted, then those this process was handed (`take`), the latest first up to
    KEPT_BYTES, written as `name` in `directory` (a temporary file renamed: whole or not at all):
    a run that parsed no staged file (a commit of other files, GOINSTRUMENT_TREES=0) passes on
    what it was handed. Nothing where there is neither."""
    if not _noted and not _kept:
        return
    kept = {place: [source for source, _ in pairs] for place, pairs in _kept.items() if place not in _noted}
    chunks, total = [_MAGIC], 0
    for place, sources in [*reversed(_noted.items()), *kept.items()]:
        for source in sources:
            total += len(source)
            if total > KEPT_BYTES:
                break
            encoded = os.fsencode(place)
            chunks += [_SIZE.pack(len(encoded)), encoded, _SIZE.pack(len(source)), source]
    temporary = f"{name}.{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600, dir_fd=directory)
    try:
        with open(fd, "wb") as f:
            f.write(b"".join(chunks))
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=directory)
        raise


def take(directory: int, name: str, idle: Callable[[float], bool]) -> None:
    """The file `leave` wrote, read and removed, its sources parsed and kept one at a time, first
    after WAIT seconds, while `idle(seconds)` says no run came within them. One that has an error
    is left out: `prime` parses from a tree of the bytes themselves, never tolerance's."""
    if not idle(WAIT):
        return
    try:
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW, dir_fd=directory)
    except OSError:
        return
    with open(fd, "rb") as f:
        data = f.read()
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=directory)
    from goinstrument.engine.go import syntax  # (the grammar: loaded in a server already)

    for place, source in _entries(data):
        if not idle(0):
            return
        tree = syntax.parse_plain(source)
        if tree is not None:
            _kept.setdefault(place, []).append((source, tree))


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    """The (place, source) pairs `leave` wrote; none of a file that is not one (cut short, or another's)."""
    if not data.startswith(_MAGIC):
        return []
    found, at = [], len(_MAGIC)
    try:
        while at < len(data):
            (size,) = _SIZE.unpack_from(data, at)
            place, at = data[at + 4 : at + 4 + size], at + 4 + size
            (size,) = _SIZE.unpack_from(data, at)
            source, at = data[at + 4 : at + 4 + size], at + 4 + size
            if len(source) != size:
                return []
            found.append((os.fsdecode(place), source))
    except struct.error:
        return []
    return found


def prime(place: str, src: bytes) -> None:
    """Where trees of `place` are kept, `src` parsed from the nearest (the one that leaves the
    least to parse again), so that `syntax.parse(src)` finds its tree made."""
    kept = _kept.get(place)
    if not kept or _off():
        return
    from goinstrument.engine.go import syntax  # (loaded by the run already: it parses)

    edits = [(between(source, src), source, tree) for source, tree in kept]
    edit, source, tree = min(edits, key=lambda found: found[0].end - found[0].start + len(found[0].text))
    syntax.parse_edited(source, [edit], src, tree=tree)
