"""What a rule sees and returns (the registry is the package's `RULES`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from tree_sitter import Node

from goinstrument.engine.directives import Directives
from goinstrument.engine.facts import FileFacts
from goinstrument.engine.go.typenames import TypeNames
from goinstrument.engine.options import RewriteOptions
from goinstrument.tuples import NamedTuple

Stage = Literal["compiled", "scope", "function", "body"]


class Planner(Protocol):
    """What a rule may ask of the planner about the function's file (core._Planner)."""

    facts: FileFacts
    settings: RewriteOptions
    types: TypeNames
    dead: list[tuple[int, int]]  # byte ranges of code cmd/compile drops (deadcode.dropped_ranges)
    directives: Directives

    def has_span(self, func: Node) -> bool | None: ...
    def context_declaration(self, func: Node) -> tuple[str, Node] | None: ...


class Function(NamedTuple):
    """One function as the rules of a stage see it; fields a stage does not know yet keep their defaults."""

    node: Node
    planner: Planner
    name: str = ""  # as the Go runtime names it (scope and later)
    known_as: frozenset[str] = frozenset()  # the names directives may use for it (scope and later)
    included: bool = False  # named by //instrument:include, or written inside a function that is
    statements: Sequence[Node] = ()  # the body's top-level statements (body)
    context: str = ""  # what a span starts from, when the function names it itself (body)
    request: bool = False  # `context` is a handler's request (--http-handlers)


class Exclusion(NamedTuple):
    kind: str  # result.EXCLUSIONS' key
    why: str  # the rule's reason: `-v` shows it as `excluded (why)`
    changes_behaviour: bool


class Rule(NamedTuple):
    name: str
    stage: Stage
    kind: str
    check: Callable[[Function], str | None]  # why the function is left alone, or None
    changes_behaviour: bool = False  # a span would change what it does: one of ours is removed
    # Whether the rule may leave any function of the planner's file alone (asked once a file, before
    # its walk): False only where `check` answers None for every function of it. None: always asked.
    applies: Callable[[Planner], bool] | None = None
