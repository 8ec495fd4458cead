"""Whether a function already has a span: the one decision the planner, coverage and `--remove` use.

Any span (ours, go-instrument's or a person's) is a `Start`, `StartSpan` or
`StartSpanFromContext` call on the function's context, assigned to two values,
at the top level of its body (shape.existing_span); a handler's starts from
its request's context, `r.Context()`, or a variable the body set to it before.
A span of ours (or go-instrument's) is the longest block a Shape matches at the
start of the body, with our tracer or a name the span-name template makes
(`ours`): the only kind a run updates or removes. As a rule, a span that is not
ours leaves the function alone: counted as having a span, never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from tree_sitter import Node

from goinstrument.engine import handlers, shape
from goinstrument.engine.go import syntax
from goinstrument.engine.rules.base import Function, Rule


def starts_span(statements: Sequence[Node], ctx: str, request: bool = False) -> bool:
    """A span started at the top level of the body from the context `ctx`, or, for a handler
    (`request`), from the request `ctx`'s context or a variable the body set to it before."""
    if not request:
        return any(shape.existing_span(stmt, ctx) for stmt in statements)
    argument = handlers.start_argument(ctx)
    sources = {argument}
    for stmt in statements:
        if any(shape.existing_span(stmt, source) for source in sources):
            return True
        assigned = _assigned_from(stmt, argument.encode())
        if assigned is not None:
            sources.add(assigned)
    return False


def ours(shapes: Sequence[shape.Shape], items: Sequence[Node], where: shape.Where, tracer: str, span_names: str) -> shape.Match | None:
    """The longest block of ours (or go-instrument's) at the start of `items` that one of `shapes`
    matches, the first shape winning a tie; `span_names`: the span-name template."""
    best = None
    for candidate in shapes:
        if best is not None and candidate.longest <= best.count:
            continue  # no variant of it is longer than the block found: it could not win
        found = candidate.match(items, where)
        if found is None or not shape.is_ours(found, tracer, span_names):
            continue
        if best is None or found.count > best.count:
            best = found
    return best


def _assigned_from(stmt: Node, value: bytes) -> str | None:
    """`x := value` (or `x = value`, `var x = value`): x."""
    if stmt.type in ("short_var_declaration", "assignment_statement"):
        left, right = stmt.child_by_field_name("left"), stmt.child_by_field_name("right")
    elif stmt.type == "var_declaration" and stmt.named_child_count == 1 and stmt.named_children[0].type == "var_spec":
        spec = stmt.named_children[0]
        names = spec.children_by_field_name("name")
        left, right = (names[0] if len(names) == 1 else None), spec.child_by_field_name("value")
        if left is not None and right is not None and right.named_child_count == 1 and right.named_children[0].text == value:
            return syntax.text(left)
        return None
    else:
        return None
    if left is None or right is None or left.named_child_count != 1 or right.named_child_count != 1:
        return None
    target = left.named_children[0]
    return syntax.text(target) if target.type == "identifier" and right.named_children[0].text == value else None


def check(function: Function) -> str | None:
    """A span someone else started (asked once no span of ours is found)."""
    if function.context and starts_span(function.statements, function.context, function.request):
        return "has a span"
    return None


RULE = Rule("existing_span", "body", "span", check)
