"""Datadog (dd-trace-go v2)."""

from __future__ import annotations

from goinstrument.backends.protocol import Backend, Names, deferred_call, go_string

DATADOG = "github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"


class Datadog(Backend):
    """dd-trace-go v2: `span, ctx := tracer.StartSpanFromContext(ctx, name)`; Finish records the error."""

    start_imports: tuple[str, ...] = (DATADOG,)
    error_imports: tuple[str, ...] = ()
    preferred_names: dict[str, tuple[str, ...]] = {DATADOG: ("tracer", "ddtracer")}

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        dd, span = names.packages[DATADOG], names.span
        start = f"{span}, {names.ctx_lhs} := {dd}.StartSpanFromContext({names.ctx}, {go_string(span_name)})"
        if names.err is None:
            return [start, f"defer {span}.Finish()"]
        return [start, *deferred_call(f"{span}.Finish({dd}.WithError({names.err}))")]
