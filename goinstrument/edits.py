"""Byte edits planned against the original source, applied once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


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
