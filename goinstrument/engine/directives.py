"""`//instrument:` comments: which functions a file includes or excludes."""

from __future__ import annotations

import re

from tree_sitter import Node

from goinstrument.engine.go.syntax import position, text
from goinstrument.engine.result import Position

PREFIX = "//instrument:"
_PREFIX = PREFIX.encode()
_DIRECTIVE = r"^//instrument:(\S*)\s*(.*?)\s*$"  # compiled by `re` for the first file that holds one
KNOWN = ("include", "exclude")


class DirectiveError(Exception):
    def __init__(self, pos: Position, message: str):
        super().__init__(message)
        self.pos = pos
        self.message = message


class Directives:
    __slots__ = ("doc_excludes", "exclude", "include")

    def __init__(self) -> None:
        self.include: set[str] = set()
        self.exclude: set[str] = set()
        # Rows (0-based) of bare `//instrument:exclude` lines: they exclude the function they document.
        self.doc_excludes: set[int] = set()


def read_directives(comments: list[Node]) -> Directives:
    found = Directives()
    for comment in comments:
        if not (comment.text or b"").startswith(_PREFIX):
            continue
        raw = text(comment)
        match = re.match(_DIRECTIVE, raw)
        verb, args = (match.group(1), match.group(2)) if match else ("", "")
        if verb not in KNOWN:
            raise DirectiveError(position(comment), f"unknown directive {raw.split()[0]!r} (known: //instrument:include, //instrument:exclude)")
        names = {name.strip() for name in args.split("|") if name.strip()}
        if verb == "include":
            if not names:
                raise DirectiveError(position(comment), "//instrument:include needs function names, e.g. //instrument:include F|T.M")
            found.include |= names
        elif names:
            found.exclude |= names
        else:
            found.doc_excludes.add(comment.start_point[0])
    return found


def doc_comment_rows(func: Node) -> set[int]:
    """Rows of the comment lines directly above a declaration (its doc comment)."""
    rows: set[int] = set()
    row = func.start_point[0]
    sibling = func.prev_sibling
    while sibling is not None and sibling.type == "comment" and sibling.end_point[0] == row - 1:
        rows.add(sibling.start_point[0])
        row = sibling.start_point[0]
        sibling = sibling.prev_sibling
    return rows
