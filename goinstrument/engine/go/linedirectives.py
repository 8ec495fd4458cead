"""`//line` directives so that an instrumented build reports the original line numbers.

For build-time use, where the instrumented source is never committed: stack
traces and panics should point at the lines the developer wrote. After the
edits are applied, every output line that begins with original bytes is
checked against the line the compiler reported for those bytes before the
edits; where they differ (just after inserted lines, or where a one-line body
was opened up), a `//line :N:1` directive at column 1 sets the numbering back.

The `:N:1` form names no file, and with a column the compiler keeps the file
it was already using (cmd/compile/internal/syntax updateBase; `//line :N`
without a column would make the file name empty): the real file, with its
directory, or the file an existing directive names. Directives already in the
file (a generated parser's `//line grammar.y:10`, `/*line x.go:3*/`) are
followed exactly as the compiler follows them, so inside a region they map,
ours restore *their* numbering and their file stays in force.
`--remove` deletes the directives of exactly our form (`remove.py`).
"""

from __future__ import annotations

import bisect
import re

from goinstrument.engine.edits import Edit
from goinstrument.engine.go import syntax
from goinstrument.tuples import NamedTuple


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


def _first_original_byte(output: bytes, segments: list[tuple[int, int]], starts: list[int], start: int, end: int) -> int | None:
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


class _Directive(NamedTuple):
    """An existing line directive: from `pos` on, the line holding `pos` is reported as `line`."""

    start: int  # the comment's first byte
    pos: int  # the first byte it maps: the next line's start (//line), or just after the comment (/*line*/)
    line: int
    block: bool  # /*line*/: it maps the rest of its own line


def _directives(src: bytes) -> list[_Directive]:
    """The file's line directives, as cmd/compile recognises them (//line at column 1, /*line anywhere)."""
    if b"line " not in src:
        return []
    found = []
    for comment in syntax.comments(syntax.parse(src).root_node):
        text = syntax.raw(comment)
        block = text.startswith(b"/*")
        body = text[2:-2] if block else text[2:].removesuffix(b"\r")
        if not body.startswith(b"line ") or (not block and syntax.line_start(src, comment.start_byte) != comment.start_byte):
            continue
        line = _line_number(body[5:])
        if line is None:
            continue
        newline = src.find(b"\n", comment.end_byte)
        pos = comment.end_byte if block else (newline + 1 if newline >= 0 else len(src))
        found.append(_Directive(comment.start_byte, pos, line, block))
    return found


def _line_number(text: bytes) -> int | None:
    """The line of `file:line` or `file:line:col` (updateBase); None where the compiler takes no directive."""
    head, colon, last = text.rpartition(b":")
    if not colon or not last.isdigit():
        return None
    _, colon, before = head.rpartition(b":")
    line = int(before) if colon and before.isdigit() else int(last)
    return line if line > 0 else None


class Numbering:
    """The line the compiler reports for a byte of the source, given its directives."""

    def __init__(self, src: bytes, directives: list[_Directive]):
        self.line_starts = [0] + [m.end() for m in re.finditer(b"\n", src)]
        self.directives = directives
        self.positions = [d.pos for d in directives]

    def physical(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def reported(self, offset: int) -> int:
        i = bisect.bisect_right(self.positions, offset) - 1
        if i < 0:
            return self.physical(offset)
        directive = self.directives[i]
        return directive.line + self.physical(offset) - self.physical(directive.pos)

    def base(self, offset: int) -> int:
        """Where the numbering in force at `offset` starts: the directive's first mapped byte, or 0."""
        i = bisect.bisect_right(self.positions, offset) - 1
        return self.positions[i] if i >= 0 else 0


def numbering(src: bytes) -> Numbering:
    """The line the compiler reports for each byte of `src`, its own `//line` directives followed."""
    return Numbering(src, _directives(src))


def apply_with_directives(src: bytes, edits: list[Edit], eol: bytes) -> bytes:
    output, segments = _segments(src, edits)
    starts = [s for s, _ in segments]
    existing = _directives(src)
    numbering = Numbering(src, existing)
    # Where each existing directive lands in the output, to follow it there as the compiler will.
    landing = sorted(((_to_output(segments, d.start), d) for d in existing), key=lambda item: item[0])
    resets = {d.start for d in existing if not d.block}
    result: list[bytes] = []
    line_start = 0
    physical = 1  # the output line being written, counting our directives
    base_line, base_physical = 1, 1  # the compiler's numbering: physical line base_physical is base_line
    next_directive = 0
    while line_start < len(output):
        line_end = output.find(b"\n", line_start)
        line_end = len(output) if line_end < 0 else line_end + 1
        origin = _first_original_byte(output, segments, starts, line_start, line_end)
        if origin is not None and origin not in resets:  # a //line of the file's own sets the next line itself
            wanted = numbering.reported(origin)
            if wanted != base_line + physical - base_physical:
                result.append(f"//line :{wanted}:1".encode() + eol)
                physical += 1
                base_line, base_physical = wanted, physical
        result.append(output[line_start:line_end])
        while next_directive < len(landing) and landing[next_directive][0] < line_end:
            directive = landing[next_directive][1]
            if directive.block:
                base_line, base_physical = directive.line, physical  # /*line*/: the rest of this line on
            else:
                base_line, base_physical = directive.line, physical + 1  # //line: the next line on
            next_directive += 1
        physical += 1
        line_start = line_end
    return b"".join(result)


def _to_output(segments: list[tuple[int, int]], offset: int) -> int:
    """The output offset of an original byte that no edit replaced."""
    for i, (out_at, src_at) in enumerate(segments):
        length = segments[i + 1][0] - out_at if i + 1 < len(segments) else 1 << 62
        if src_at >= 0 and src_at <= offset < src_at + length:
            return out_at + offset - src_at
    return 0
