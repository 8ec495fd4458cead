"""Byte edits planned against the original source, applied once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: bytes


def insert(offset: int, text: bytes) -> Edit:
    return Edit(offset, offset, text)


def apply(src: bytes, edits: list[Edit]) -> bytes:
    """Apply non-overlapping edits; insertions at one offset keep the order given."""
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end > item[1].start, item[0]))
    out: list[bytes] = []
    pos = 0
    for _, edit in ordered:
        if edit.start < pos:
            raise ValueError(f"overlapping edits at byte {edit.start}")
        out.append(src[pos : edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(src[pos:])
    return b"".join(out)
