"""A literal in code cmd/compile drops (`if false { ... }`): it never runs and the runtime does not
number it, so it is neither named, counted nor given a span (engine/go/deadcode.py)."""

from __future__ import annotations

from goinstrument.engine.go import deadcode
from goinstrument.engine.rules.base import Function, Rule


def check(function: Function) -> str | None:
    if function.node.type == "func_literal" and deadcode.holds(function.planner.dead, function.node.start_byte):
        return "in code the compiler drops"
    return None


RULE = Rule("deadcode", "compiled", "", check, applies=lambda planner: bool(planner.dead))
