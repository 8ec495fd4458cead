"""Immutable plans for one function's span, rendered into edits once the line of its `func` is known.

A plan is everything decided about one function. Only `code.line.number`
depends on the other edits (imports and spans added above the function move
it), so a plan renders its edits for a given line: `plan.edits(line)`.
`render` gives each plan its line from the edits before it, in source order.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from goinstrument.backends.protocol import Attribute, Backend, Names
from goinstrument.engine.attributes import code_location
from goinstrument.engine.edits import Edit
from goinstrument.engine.go.linedirectives import Numbering
from goinstrument.engine.result import Finding
from goinstrument.tuples import NamedTuple


class Insertion(NamedTuple):
    """Where the inserted lines go in a body, and the layout edits that opening it up needs."""

    start: int
    end: int  # the bytes replaced by the lines (start == end: a pure insertion)
    eol: bytes
    indent: bytes
    suffix: bytes  # after the lines: a line break and the indentation of what follows, or b""
    layout: tuple[Edit, ...]  # a one-line body opened up: one statement a line

    def edits(self, lines: Sequence[str]) -> tuple[Edit, ...]:
        text = b"".join(self.eol + self.indent + line.encode() for line in lines) + self.suffix
        return (Edit(self.start, self.end, text), *self.layout)


class Rendering(NamedTuple):
    """The backend's lines for one function, all names chosen; code attributes need the line."""

    backend: Backend
    names: Names  # without code attributes
    tracer: str
    span_name: str
    code: tuple[str, str] | None  # code.function.name and code.file.path, when asked for
    arguments: tuple[Attribute, ...]  # parameter attributes, after the code location

    def lines(self, line: int) -> list[str]:
        code = tuple(code_location(self.code[0], self.code[1], line)) if self.code is not None else ()
        names = self.names._replace(attributes=code + self.arguments)
        return self.backend.lines(names, self.tracer, self.span_name)


class AddSpan(NamedTuple):
    """A function that gets a span."""

    start: int  # byte offset of the function
    row: int  # its 0-based row in the input
    signature: tuple[Edit, ...]  # naming the context parameter and the error result
    insertion: Insertion
    rendering: Rendering
    finding: Finding  # what --check reports for it
    packages: frozenset[str]  # import paths the inserted code uses
    literals: int  # function literals the inserted code holds: the body's own are numbered after them
    expanded_row: int | None  # the row of a one-line declaration body opened up
    relayout: bool  # a one-line literal body opened up: gofmt lays out what is around it

    def edits(self, line: int) -> tuple[Edit, ...]:
        return self.signature + self.insertion.edits(self.rendering.lines(line))


class UpdateSpan(NamedTuple):
    """A span in our own shape brought up to date."""

    start: int
    row: int
    # ctx or `_`, tracer, span name, code.function.name, code.file.path; the error block
    replacements: tuple[Edit, ...]
    line_value: tuple[int, int] | None  # the bytes of the code.line.number value, if it has one
    signature: tuple[Edit, ...] = ()  # naming an error result that gained the error block (--remove keeps the name)
    finding: Finding | None = None  # what --check reports: the span name, tracer or error block is out of date
    packages: frozenset[str] = frozenset()  # import paths the inserted error block uses
    literals: int = 0  # function literals the inserted error block holds: the body's own are numbered after them
    dropped: tuple[tuple[int, int], ...] = ()  # byte ranges of deleted statements: their literals no longer count
    # the span's statements replaced whole by a fresh rendering (rerender.py); `replacements` are then empty
    rendered: tuple[Insertion, Rendering] | None = None

    def edits(self, line: int) -> tuple[Edit, ...]:
        if self.rendered is not None:
            insertion, rendering = self.rendered
            return self.signature + insertion.edits(rendering.lines(line))
        if self.line_value is None:
            return self.signature + self.replacements
        return (*self.signature, *self.replacements, Edit(*self.line_value, str(line).encode()))


Plan = AddSpan | UpdateSpan


def render(src: bytes, fixed: Sequence[Edit], plans: Sequence[Plan], lines: Lines | None) -> list[Edit]:
    """Every edit: the fixed ones, then each plan's for the line of its `func` in the output.

    The line is the one the Go toolchain reports for `func` in the output:
    its line in the input as the file's own `//line` directives number it,
    moved by the lines the edits before it (since the directive in force, if
    any) add or take away. A plan's edits lie inside its function, so the
    edits before a function are the fixed ones and those of the plans that
    start before it. `lines` None: no code attributes, no line wanted.
    """
    edits = list(fixed)
    # The lines added by the edits before the current plan, summed once each: the plans come in
    # order of their start, and an edit before one plan is before every later one. `pending`
    # holds the edits not yet before a plan, by (end, start): an edit is before a plan at P when
    # it ends at or before P and is not an insertion at P itself.
    pending: list[tuple[int, int, int]] = []
    moved = 0
    moved_lines = lines is not None and lines.moved
    region = 0  # where the //line directive in force begins (0: none)

    def add(new: Sequence[Edit]) -> None:
        for e in new:
            heapq.heappush(pending, (e.end, e.start, e.text.count(b"\n") - src.count(b"\n", e.start, e.end)))

    if moved_lines:
        add(edits)
    for plan in sorted(plans, key=lambda p: p.start):
        line = 0
        if lines is not None:
            line = lines.numbering.reported(plan.start)
        if moved_lines:
            # Only the edits since the directive in force count. The region a plan is in only moves
            # forward, and every edit counted for an earlier region starts before the new one.
            since = lines.numbering.base(plan.start) if lines is not None else 0
            if since != region:
                region, moved = since, 0
            while pending and (pending[0][0] < plan.start or (pending[0][0] == plan.start and pending[0][1] < plan.start)):
                _, start, delta = heapq.heappop(pending)
                moved += delta if start >= since else 0
            line += moved
        rendered = plan.edits(line)
        edits.extend(rendered)
        if moved_lines:
            add(rendered)
    return edits


class Lines(NamedTuple):
    """How `render` numbers lines for code.line.number."""

    numbering: Numbering  # the input's, its own //line directives followed
    moved: bool  # False with --line-directives: ours set every moved line back to its input number
