"""What the settings leave alone: literals (`--no-literals`, inherited by the literals inside),
functions not named by `//instrument:include` (`--no-all`), and bodies without a span shorter
than `--min-statements`."""

from __future__ import annotations

from goinstrument.engine.rules.base import Function, Rule


def no_literals(function: Function) -> str | None:
    return "--no-literals" if function.node.type == "func_literal" and not function.planner.settings.literals else None


def no_all(function: Function) -> str | None:
    return "--no-all" if not (function.planner.settings.all_functions or function.included) else None


def min_statements(function: Function) -> str | None:
    return "--min-statements" if len(function.statements) < function.planner.settings.min_statements else None


NO_LITERALS = Rule("no_literals", "scope", "settings", no_literals, applies=lambda planner: not planner.settings.literals)
NO_ALL = Rule("no_all", "function", "settings", no_all, applies=lambda planner: not planner.settings.all_functions)
MIN_STATEMENTS = Rule("min_statements", "body", "settings", min_statements, applies=lambda planner: planner.settings.min_statements > 0)
