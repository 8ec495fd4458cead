"""go-instrument's code (github.com/nikolaydubina/go-instrument), as a backend that is never written:
its Shape (engine/shape.go_instrument) recognises the spans it left, to remove them or migrate them
to ours."""

from __future__ import annotations

from goinstrument.backends.otel import OTEL, OTEL_CODES
from goinstrument.backends.protocol import Backend, Names, go_string


class GoInstrument(Backend):
    """What go-instrument writes (`otelCodes`, SetStatus with "error" before RecordError); matched, never written."""

    start_imports: tuple[str, ...] = (OTEL,)
    error_imports: tuple[str, ...] = (OTEL_CODES,)
    preferred_names: dict[str, tuple[str, ...]] = {OTEL: ("otel",), OTEL_CODES: ("otelCodes",)}

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        otel, span = names.packages[OTEL], names.span
        lines = [
            f"{names.ctx_lhs}, {span} := {otel}.Tracer({go_string(tracer)}).Start({names.ctx}, {go_string(span_name)})",
            f"defer {span}.End()",
        ]
        if names.err is not None:
            err, codes = names.err, names.packages[OTEL_CODES]
            lines += [
                "defer func() {",
                f"\tif {err} != nil {{",
                f'\t\t{span}.SetStatus({codes}.Error, "error")',
                f"\t\t{span}.RecordError({err})",
                "\t}",
                "}()",
            ]
        return lines
