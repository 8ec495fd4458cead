"""`//line` directives so that an instrumented build reports the original line numbers.

For build-time use, where the instrumented source is never committed: stack
traces and panics should point at the lines the developer wrote. After the
edits are applied, every output line that begins with original bytes is
checked against the number the compiler would give it; where they differ
(just after inserted lines, or where a one-line body was opened up), a
`//line file:N` directive at column 1 sets the numbering back.
"""

from __future__ import annotations

import bisect

from goinstrument.edits import Edit


def _segments(src: bytes, edits: list[Edit]) -> tuple[bytes, list[tuple[int, int]]]:
    """The output, and (output offset, source offset or -1) where each run of bytes starts."""
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end > item[1].start, item[0]))
    out: list[bytes] = []
    segments: list[tuple[int, int]] = []
    pos = length = 0
    for _, edit in ordered:
        segments.append((length, pos))
        out.append(src[pos : edit.start])
        length += edit.start - pos
        segments.append((length, -1))
        out.append(edit.text)
        length += len(edit.text)
        pos = edit.end
    segments.append((length, pos))
    out.append(src[pos:])
    return b"".join(out), segments


def _first_original_byte(
    output: bytes, segments: list[tuple[int, int]], starts: list[int], start: int, end: int
) -> int | None:
    """The source offset of the first original non-blank byte on the output line [start, end), if any."""
    i = bisect.bisect_right(starts, start) - 1
    while i < len(segments) and segments[i][0] < end:
        out_at, src_at = segments[i]
        next_at = min(segments[i + 1][0] if i + 1 < len(segments) else end, end)
        if src_at >= 0:
            for at in range(max(out_at, start), next_at):
                if output[at] not in b" \t\r\n":
                    return src_at + (at - out_at)
        i += 1
    return None


def apply_with_directives(src: bytes, edits: list[Edit], filename: str, eol: bytes) -> bytes:
    output, segments = _segments(src, edits)
    starts = [s for s, _ in segments]
    source_lines = [0] + [i + 1 for i, byte in enumerate(src) if byte == 0x0A]
    result: list[bytes] = []
    line_start = 0
    numbered = 1  # the number the compiler gives the output line at line_start
    while line_start < len(output):
        line_end = output.find(b"\n", line_start)
        line_end = len(output) if line_end < 0 else line_end + 1
        origin = _first_original_byte(output, segments, starts, line_start, line_end)
        if origin is not None:
            original = bisect.bisect_right(source_lines, origin)
            if original != numbered:
                result.append(f"//line {filename}:{original}".encode() + eol)
                numbered = original
        result.append(output[line_start:line_end])
        numbered += 1
        line_start = line_end
    return b"".join(result)
