"""Why a function is left alone: each rule a small module, all of them in one registry, `RULES`.

A rule looks at one function (`Function`: its node, its names, and what the
planner knows of its file) and returns why it leaves it alone, or None. The
planner (core.py) asks the registry at four points of its walk, the rule's
`stage`, in the registry's order; the first rule that answers decides:

- `compiled`: before the function is named: a literal cmd/compile drops (dead
  code) is neither numbered nor counted (deadcode.py);
- `scope`: inherited by the literals written inside: `//instrument:exclude`
  (directive.py), `--no-literals` (settings.py);
- `function`: `--no-all` (settings.py); then what a span would change of what
  the function does (`changes_behaviour`: a span of ours is removed and `-v`
  lists the function with the rule's reason): a runtime pragma (pragma.py),
  reading the caller's span (caller_span.py);
- `body`: once no span of ours is found at the top of the body: a span someone
  else started (existing_span.py), `--min-statements` (settings.py).

A rule that can only answer for some files says which (`applies`, a look at the
settings, the directives or the bytes): the planner asks it once a file
(`for_file`), and a function is shown only to the rules of its stage that apply.

The rule's `kind` is what coverage counts a function without a span by (the
keys of result.EXCLUSIONS, JSON's `excluded_by`). A new rule is one module with
a `RULE`, listed here (or, in a test, `registered(...)`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from goinstrument.engine.result import EXCLUSIONS
from goinstrument.engine.rules import caller_span, deadcode, directive, existing_span, pragma, settings
from goinstrument.engine.rules.base import Exclusion, Function, Planner, Rule, Stage

__all__ = ["RULES", "Exclusion", "Function", "Planner", "Rule", "Stage", "first", "for_file", "registered"]

RULES: list[Rule] = [
    deadcode.RULE,
    directive.RULE,
    settings.NO_LITERALS,
    settings.NO_ALL,
    pragma.RULE,
    caller_span.RULE,
    existing_span.RULE,
    settings.MIN_STATEMENTS,
]


def for_file(planner: Planner) -> Mapping[Stage, Sequence[Rule]]:
    """The rules of each stage, in the registry's order, that may leave a function of the
    planner's file alone (those whose `applies` does not rule the whole file out)."""
    stages: dict[Stage, list[Rule]] = {"compiled": [], "scope": [], "function": [], "body": []}
    for rule in RULES:
        if rule.applies is None or rule.applies(planner):
            stages[rule.stage].append(rule)
    return stages


def first(rules: Sequence[Rule], function: Function) -> Exclusion | None:
    """The first of `rules` (a stage's, `for_file`) that leaves `function` alone, as (kind, why), or None."""
    for rule in rules:
        why = rule.check(function)
        if why is not None:
            return Exclusion(rule.kind, why, rule.changes_behaviour)
    return None


@contextmanager
def registered(rule: Rule, words: str, before: str | None = None) -> Iterator[None]:
    """`rule` in the registry (before the rule named `before`, else last) while the block runs;
    `words`: how the coverage line says its kind, when the kind is new."""
    at = next((i for i, r in enumerate(RULES) if r.name == before), len(RULES))
    new_kind = rule.kind not in EXCLUSIONS
    RULES.insert(at, rule)
    if new_kind:
        EXCLUSIONS[rule.kind] = words
    try:
        yield
    finally:
        RULES.remove(rule)
        if new_kind:
            del EXCLUSIONS[rule.kind]
