"""Byte edits planned against the original source, applied once."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence

from goinstrument.tuples import NamedTuple


class Edit(NamedTuple):
    start: int
    end: int
    text: bytes


def insert(offset: int, text: bytes) -> Edit:
    return Edit(offset, offset, text)


def ordered(edits: Sequence[Edit]) -> list[Edit]:
    """The order `apply` applies edits in: by offset, insertions at one offset first, in the order given."""
    ranked = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end > item[1].start, item[0]))
    return [edit for _, edit in ranked]


def apply(src: bytes, edits: Sequence[Edit]) -> bytes:
    """Apply non-overlapping edits; insertions at one offset keep the order given."""
    out: list[bytes] = []
    pos = 0
    for edit in ordered(edits):
        if edit.start < pos:
            raise ValueError(f"overlapping edits at byte {edit.start}")
        out.append(src[pos : edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(src[pos:])
    return b"".join(out)


class Ranges:
    """Byte ranges [start, end), in any order and possibly overlapping: whether an offset lies
    in one of them, in O(log n) (a file's removed blocks are counted in thousands)."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(ranges)
        self._starts = [start for start, _ in ordered]
        self._reach = list(itertools.accumulate((end for _, end in ordered), max))  # the furthest end so far

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset)  # the ranges starting at or before offset
        return i > 0 and self._reach[i - 1] > offset


class DisjointRanges:
    """Byte ranges [start, end) that never overlap, added one at a time between questions (the
    error blocks a run deletes, found as the walk goes): whether an offset lies in one, O(log n)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset)
        return i > 0 and offset < self._ends[i - 1]

    def __bool__(self) -> bool:
        """Whether any range was added (none, in most files: no question to ask)."""
        return bool(self._starts)
