"""`//instrument:exclude Name|T.M` in the file, or a bare `//instrument:exclude` in a declaration's
doc comment (directives.py): the function and the literals written inside it are left alone."""

from __future__ import annotations

from goinstrument.engine.directives import doc_comment_rows
from goinstrument.engine.rules.base import Function, Rule


def check(function: Function) -> str | None:
    directives = function.planner.directives
    if function.known_as & directives.exclude:
        return "by directive"
    if function.node.type != "func_literal" and directives.doc_excludes and doc_comment_rows(function.node) & directives.doc_excludes:
        return "by directive"
    return None


RULE = Rule("directive", "scope", "directive", check, applies=lambda planner: bool(planner.directives.exclude or planner.directives.doc_excludes))
