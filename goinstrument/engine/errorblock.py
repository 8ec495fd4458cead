"""Bringing the error block of a span of ours up to date, from the Shape.

A function that has our span and has since gained an error result gets the
error block, as a new span would; one that has lost its error result loses
the block (which would no longer compile). The statements of the variant the
span is in become those of the variant it should be in, statement by
statement (`Shape.transition`): statements only the old variant has are
deleted, whole lines, and those only the new one has are the backend's own
rendering with the span's names, inserted where the new variant has them.
A renamed error result is followed. Nothing is written when a statement
shares its lines with other code, when what would be inserted holds an
attribute (its value cannot be rebuilt from the code), or when the body uses
the span after our lines (a hand-written error block, which ours would
double): the span is then left as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from goinstrument.backends.protocol import Names
from goinstrument.engine import shape
from goinstrument.engine.edits import Edit, insert
from goinstrument.engine.go import scopes, syntax
from goinstrument.tuples import NamedTuple


class BlockChange(NamedTuple):
    edits: tuple[Edit, ...]
    literals: int  # function literals the inserted statements hold: the body's own are numbered after them
    dropped: tuple[tuple[int, int], ...]  # byte ranges of the deleted statements (their literals are gone)


class Refresh(NamedTuple):
    """What bringing one span's error block up to date takes (nothing, by default)."""

    edits: tuple[Edit, ...] = ()  # in the body
    naming: tuple[Edit, ...] = ()  # in the signature: the error result named
    reason: str | None = None  # why the span is out of date, for --check
    packages: frozenset[str] = frozenset()  # import paths the inserted statements use
    literals: int = 0
    dropped: tuple[tuple[int, int], ...] = ()
    block: bool | None = None  # whether the span has an error block after the update, when that changes


class Writing(NamedTuple):
    """How the statements an update inserts are written: the names they use (asked only when some
    are inserted), the tracer and span name, the file's bytes and line ending, the settings' form."""

    names: Callable[[], Names]
    tracer: str
    span_name: str
    src: bytes
    eol: bytes
    style: shape.Style = shape.CURRENT


def refresh(
    code: shape.Shape,
    match: shape.Match,
    body: Node,
    err: str | None,
    naming: tuple[Edit, ...],
    writing: Writing,
    error_paths: frozenset[str] | set[str] = frozenset(),
) -> Refresh:
    """The error block of a span of ours as a new span would have it. `err` is the function's error
    result as a new span would record it (None: it has none), `naming` the edits naming it,
    `writing` how inserted statements are written, `error_paths` the import paths an inserted
    error block uses."""
    recorded = syntax.text(match.err[0]) if match.err else None
    has_block = match.parts[0]
    if has_block and err is not None:
        if recorded == err:
            return Refresh()
        renamed = tuple(Edit(n.start_byte, n.end_byte, err.encode()) for n in match.err)
        return Refresh(renamed, naming, f"error block records {recorded}")
    if has_block == (err is not None):
        return Refresh()
    if err is not None and doubled(match, body):
        return Refresh()
    found = change(code, match, (err is not None, match.parts[1], match.parts[2]), writing)
    if found is None:
        return Refresh()
    if err is None:
        return Refresh(found.edits, (), "error block without an error result", frozenset(), found.literals, found.dropped, False)
    packages = frozenset(error_paths) if code.backend is not None else frozenset()
    return Refresh(found.edits, naming, "no error block", packages, found.literals, found.dropped, True)


def doubled(match: shape.Match, body: Node) -> bool:
    """Whether the body uses the span after our lines (a hand-written error block): ours would double it."""
    span = syntax.raw(match.span[0]) if match.span else b""
    return scopes.reads(body, span, skip=len(match.statements))


def change(code: shape.Shape, match: shape.Match, wanted: tuple[bool, bool, bool], writing: Writing) -> BlockChange | None:
    """The edits turning the matched statements into the `wanted` variant in `writing.style`, or None
    where that cannot be done safely."""
    names, tracer, span_name, src, eol, style = writing
    transition = code.transition(match.parts, wanted, (match.style, style))
    statements = match.statements
    if transition is None or not statements or not all(alone_on_lines(src, s) for s in statements):
        return None
    rendered = code.statement_lines(wanted, names(), tracer, span_name) if transition.inserted else []
    if rendered is None:
        return None
    indent = src[syntax.line_start(src, statements[0].start_byte) : statements[0].start_byte]
    edits: list[Edit] = []
    for index in transition.deleted:
        stmt = statements[index]
        edits.append(Edit(syntax.line_start(src, stmt.start_byte), next_line(src, stmt.end_byte), b""))
    for before, indices in transition.inserted:
        lines = [line for i in indices for line in rendered[i]]
        if any(shape.holds_placeholder(line) for line in lines):
            return None
        at = syntax.line_start(src, statements[before].start_byte) if before < len(statements) else next_line(src, statements[-1].end_byte)
        edits.append(insert(at, b"".join(indent + line.encode() + eol for line in lines)))
    dropped = tuple((statements[i].start_byte, statements[i].end_byte) for i in transition.deleted)
    return BlockChange(tuple(edits), transition.literals, dropped)


def next_line(src: bytes, offset: int) -> int:
    newline = src.find(b"\n", offset)
    return len(src) if newline < 0 else newline + 1


def alone_on_lines(src: bytes, stmt: Node) -> bool:
    before = src[syntax.line_start(src, stmt.start_byte) : stmt.start_byte]
    after = src[stmt.end_byte : syntax.line_end(src, stmt.end_byte)]
    return not before.strip() and not after.strip()
