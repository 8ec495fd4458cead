"""Keep gofmt's alignment of one-line function declarations.

gofmt lines up the `{` of consecutive one-line function declarations (they
are tabwriter cells). When a span opens one of them up, that line leaves the
alignment block: it gets a single space before `{`, and the one-liners left
above and below it are lined up again among themselves, as gofmt would.
"""

from __future__ import annotations

from tree_sitter import Node

from goinstrument.engine.edits import Edit
from goinstrument.engine.go.syntax import line_start
from goinstrument.tuples import NamedTuple

DECLARATIONS = ("function_declaration", "method_declaration")


class _OneLiner(NamedTuple):
    row: int
    signature_end: int  # byte after the last non-blank before `{`
    lbrace: int
    width: int  # columns before the padding, as tabwriter counts them (runes)
    aligned: bool  # False when the line holds a tab or a trailing comment we do not line up


def _one_liners(src: bytes, root: Node) -> dict[int, _OneLiner]:
    found = {}
    for node in root.named_children:
        if node.type not in DECLARATIONS or node.start_point[1] != 0:
            continue
        body = node.child_by_field_name("body")
        if body is None or not (node.start_point[0] == body.start_point[0] == body.end_point[0]):
            continue
        lbrace = body.start_byte
        end = lbrace
        while end > 0 and src[end - 1 : end] == b" ":
            end -= 1
        head = src[line_start(src, lbrace) : end]
        nxt = node.next_sibling
        trailing_comment = nxt is not None and nxt.type == "comment" and nxt.start_point[0] == body.end_point[0]
        found[node.start_point[0]] = _OneLiner(
            node.start_point[0], end, lbrace, len(head.decode("utf-8")), b"\t" not in head and not trailing_comment
        )
    return found


def _runs(rows: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for row in sorted(rows):
        if runs and runs[-1][-1] + 1 == row:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _pad(line: _OneLiner, spaces: int) -> list[Edit]:
    wanted = b" " * spaces
    return [] if line.lbrace - line.signature_end == spaces else [Edit(line.signature_end, line.lbrace, wanted)]


def realign(src: bytes, root: Node, expanded_rows: set[int]) -> tuple[list[Edit], bool]:
    """Edits lining the one-liners up again, and whether a block was beyond us (trailing
    comments or tabs: gofmt's own layout is then needed)."""
    if not expanded_rows:
        return [], False
    lines = _one_liners(src, root)
    edits: list[Edit] = []
    beyond = False
    for block in _runs(list(lines)):
        if not expanded_rows.intersection(block):
            continue
        if not all(lines[row].aligned for row in block):
            beyond = True
            continue
        for row in block:
            if row in expanded_rows:
                edits += _pad(lines[row], 1)
        for run in _runs([row for row in block if row not in expanded_rows]):
            target = max(lines[row].width for row in run) + 1
            for row in run:
                edits += _pad(lines[row], target - lines[row].width)
    return edits, beyond
