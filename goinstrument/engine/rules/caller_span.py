"""A function that reads its caller's span from its context to annotate it (`trace.SpanFromContext(ctx)`,
behaviour.reads_callers_span): a span of its own would take the annotation. No span."""

from __future__ import annotations

from goinstrument.engine import behaviour
from goinstrument.engine.rules.base import Function, Planner, Rule


def applies(planner: Planner) -> bool:
    return b"FromContext" in planner.facts.src  # behaviour.SPAN_READERS' names all end so


def check(function: Function) -> str | None:
    planner = function.planner
    parameter = planner.context_declaration(function.node)
    if parameter is not None and behaviour.reads_callers_span(function.node, parameter[0], parameter[1], planner.facts, planner.types):
        return "annotates its caller's span"
    return None


RULE = Rule("caller_span", "function", "caller_span", check, changes_behaviour=True, applies=applies)
