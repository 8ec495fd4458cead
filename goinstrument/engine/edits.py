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


def between(old: bytes, new: bytes) -> Edit:
    """The one edit that makes `new` of `old`: what lies between their longest common start and
    their longest common end (which never overlap), replaced; an empty one where they are equal."""
    start = _common_length(old, new)
    end = _common_length(old[start:][::-1], new[start:][::-1])
    return Edit(start, len(old) - end, new[start : len(new) - end])


def _common_length(a: bytes, b: bytes) -> int:
    """How many bytes `a` and `b` start with alike: halving the rest (each comparison of bytes is
    one memcmp, over the part not compared yet)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


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
