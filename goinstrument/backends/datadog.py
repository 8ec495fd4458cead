"""Datadog (dd-trace-go v2)."""

from __future__ import annotations

from goinstrument.backends.protocol import STRINGS, Backend, Names, deferred_call, go_string, route_block

DATADOG = "github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"


class Datadog(Backend):
    """dd-trace-go v2: `span, ctx := tracer.StartSpanFromContext(ctx, name)`; Finish records the error
    (WithError: the error tags error.message, error.type, error.stack). An http.Handler's span is a
    web span as dd-trace-go's own net/http integration starts one (span type web, span.kind server,
    http.method, http.url: the path, the query left out); where a ServeMux pattern matched the request
    (`names.route`), its resource is `{method} {route}` and it is tagged http.route, as that
    integration's ServeMux does."""

    start_imports: tuple[str, ...] = (DATADOG,)
    error_imports: tuple[str, ...] = ()
    route_imports: tuple[str, ...] = (STRINGS,)  # strings.IndexByte
    preferred_names: dict[str, tuple[str, ...]] = {DATADOG: ("tracer", "ddtracer"), STRINGS: ("strings", "stdstrings")}

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        dd, span = names.packages[DATADOG], names.span
        options = ""
        if names.request is not None:  # Datadog's HTTP server span: type web, kind server, the request's method and path
            r = names.request
            options = (
                f', {dd}.SpanType("web"), {dd}.Tag("span.kind", "server"), {dd}.Tag("http.method", {r}.Method), {dd}.Tag("http.url", {r}.URL.Path)'
            )
        start = f"{span}, {names.ctx_lhs} := {dd}.StartSpanFromContext({names.ctx}, {go_string(span_name)}{options})"
        route = route_block(names, f'{span}.SetTag("resource.name", {{method}}+" "+{{route}})', f'{span}.SetTag("http.route", {{route}})')
        if names.err is None:
            return [start, f"defer {span}.Finish()", *route]
        return [start, *deferred_call(f"{span}.Finish({dd}.WithError({names.err}))"), *route]
