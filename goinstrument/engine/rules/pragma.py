"""A function under a pragma the runtime's own code uses (`//go:nosplit`, `//go:norace`,
`//go:systemstack`, ...: behaviour.runtime_pragma) must not call into a tracer: no span."""

from __future__ import annotations

from goinstrument.engine import behaviour
from goinstrument.engine.rules.base import Function, Planner, Rule


def applies(planner: Planner) -> bool:
    return b"//go:" in planner.facts.src


def check(function: Function) -> str | None:
    planner = function.planner
    pragma = behaviour.runtime_pragma(function.node)
    if pragma is not None and planner.has_span(function.node) is not None:
        return f"marked {pragma}"
    return None


RULE = Rule("pragma", "function", "pragma", check, changes_behaviour=True, applies=applies)
