"""OpenTelemetry (otel-go): the semantic conventions' spans."""

from __future__ import annotations

from goinstrument.backends.protocol import ERRORS, STRINGS, Backend, Names, deferred_call, expected_condition, go_string, route_block

OTEL = "go.opentelemetry.io/otel"
OTEL_CODES = "go.opentelemetry.io/otel/codes"
OTEL_ATTRIBUTE = "go.opentelemetry.io/otel/attribute"
OTEL_TRACE = "go.opentelemetry.io/otel/trace"
# The newest semantic conventions otel-go ships (since otel v1.45.0): its ErrorType(err) names an
# error's type after unwrapping fmt.Errorf's wrappers, or by the error's own ErrorType() method.
SEMCONV = "go.opentelemetry.io/otel/semconv/v1.43.0"


class OpenTelemetry(Backend):
    """The semantic conventions' spans: attributes known at the start given to Start (samplers see
    them), on error status Error with the message and `error.type`, status left Unset otherwise;
    an http.Handler's span of kind SERVER (its HTTP attributes come in `names.attributes`), named
    `{method} {route}` with `http.route` where a ServeMux pattern matched the request (`names.route`)."""

    start_imports: tuple[str, ...] = (OTEL,)
    error_imports: tuple[str, ...] = (OTEL_CODES, SEMCONV)
    attribute_imports: tuple[str, ...] = (OTEL_ATTRIBUTE,)
    start_attribute_imports: tuple[str, ...] = (OTEL_TRACE,)  # trace.WithAttributes
    server_imports: tuple[str, ...] = (OTEL_TRACE,)  # trace.WithSpanKind
    route_imports: tuple[str, ...] = (STRINGS, OTEL_ATTRIBUTE)  # strings.IndexByte, attribute.String
    modules: tuple[str, ...] = (OTEL_TRACE,)  # the others are otel's packages
    preferred_names: dict[str, tuple[str, ...]] = {
        OTEL: ("otel", "otelapi"),
        OTEL_CODES: ("codes", "otelcodes"),
        OTEL_ATTRIBUTE: ("attribute", "otelattribute"),
        OTEL_TRACE: ("trace", "oteltrace"),
        SEMCONV: ("semconv", "otelsemconv"),
        ERRORS: ("errors", "stderrors"),
        STRINGS: ("strings", "stdstrings"),
    }

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        otel = names.packages[OTEL]
        span = names.span
        attribute = names.packages.get(OTEL_ATTRIBUTE, "attribute")
        start = f"{names.ctx_lhs}, {span} := {otel}.Tracer({go_string(tracer)}).Start({names.ctx}, {go_string(span_name)}"
        values = ", ".join(a.render(attribute) for a in names.attributes)
        if names.request is not None:
            trace = names.packages[OTEL_TRACE]
            start += f", {trace}.WithSpanKind({trace}.SpanKindServer)"
        if names.attributes and names.attributes_at_start:
            start += f", {names.packages[OTEL_TRACE]}.WithAttributes({values})"
        lines = [start + ")", f"defer {span}.End()"]
        if names.attributes and not names.attributes_at_start:
            lines.append(f"{span}.SetAttributes({values})")
        route = f'{attribute}.String("http.route", {{route}})'
        lines += route_block(names, f'{span}.SetName({{method}} + " " + {{route}})', f"{span}.SetAttributes({route})")
        if names.result_attributes:
            values = ", ".join(a.render(attribute) for a in names.result_attributes)
            lines += deferred_call(f"{span}.SetAttributes({values})")
        if names.err is not None:
            err, codes = names.err, names.packages[OTEL_CODES]
            record = [f"\t\t{span}.RecordError({err})"] if names.errors in ("event", "record") else []
            status = [f"\t\t{span}.SetStatus({codes}.Error, {err}.Error())"]
            if names.errors != "record":
                status.append(f"\t\t{span}.SetAttributes({names.packages[SEMCONV]}.ErrorType({err}))")
            lines += ["defer func() {", f"\tif {expected_condition(names, err)} {{", *record, *status, "\t}", "}()"]
        return lines
