"""What the inserted code looks like, per tracing library.

A backend names the packages it needs and renders the lines at the top of a
function; that is all it does. Recognising its code again (to bring it up to
date, count its literals or remove it) is derived from that rendering by
`shape.py`.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from typing import Protocol

from goinstrument.engine.attributes import Attribute, go_string


@dataclass(frozen=True)
class Names:
    """The identifiers inserted code uses, each checked not to clash."""

    ctx_lhs: str  # "ctx" (or the parameter's name) when the body reads it afterwards, else "_"
    ctx: str  # the context parameter
    span: str
    err: str | None  # the error result, when the error block is emitted
    packages: dict[str, str]  # import path -> name used in this file
    attributes: tuple[Attribute, ...] = ()  # set when the span starts
    result_attributes: tuple[Attribute, ...] = ()  # set when the function returns
    # The error block's form (--errors): "status" (status Error and error.type), "event" (an exception
    # event as well), or "record": what versions before 2026-12 wrote (RecordError and SetStatus),
    # rendered only so that shape.py recognises it and a run brings it up to date.
    errors: str = "status"
    expected: tuple[str, ...] = ()  # --expected-errors as Go expressions (`context.Canceled`): not failures
    # Start attributes given at creation (an option of Start); False: set right after it, as earlier
    # versions wrote them (recognised, never written).
    attributes_at_start: bool = True


class Backend(Protocol):
    """A tracing library: the packages it needs and the lines it inserts.

    A user's own backend is any object with these attributes, named on the
    command line or in .goinstrument.toml as `module:attribute` (a class is
    instantiated without arguments).
    """

    start_imports: tuple[str, ...]  # import paths the first lines use
    error_imports: tuple[str, ...]  # import paths the error handling adds
    preferred_names: dict[str, tuple[str, ...]]  # import path -> names to try, in order

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        """The statements to insert, one a line, indented with tabs relative to the body.

        What it renders for `names.err` (the error block) and for
        `names.attributes` / `names.result_attributes` is what the backend
        supports: a backend whose lines ignore them supports none.
        """
        ...


OTEL = "go.opentelemetry.io/otel"
OTEL_CODES = "go.opentelemetry.io/otel/codes"
OTEL_ATTRIBUTE = "go.opentelemetry.io/otel/attribute"
OTEL_TRACE = "go.opentelemetry.io/otel/trace"
# The newest semantic conventions otel-go ships (since otel v1.45.0): its ErrorType(err) names an
# error's type after unwrapping fmt.Errorf's wrappers, or by the error's own ErrorType() method.
SEMCONV = "go.opentelemetry.io/otel/semconv/v1.43.0"
ERRORS = "errors"
ERROR_FORMS = ("status", "event", "record")  # Names.errors; the last is only recognised


def expected_condition(names: Names, err: str) -> str:
    """`err != nil`, and `!errors.Is(err, X)` for each expected error X."""
    return " && ".join([f"{err} != nil", *(f"!{names.packages[ERRORS]}.Is({err}, {x})" for x in names.expected)])


class OpenTelemetry:
    """The semantic conventions' spans: attributes known at the start given to Start (samplers see
    them), on error status Error with the message and `error.type`, status left Unset otherwise."""

    start_imports: tuple[str, ...] = (OTEL,)
    error_imports: tuple[str, ...] = (OTEL_CODES, SEMCONV)
    attribute_imports: tuple[str, ...] = (OTEL_ATTRIBUTE,)
    start_attribute_imports: tuple[str, ...] = (OTEL_TRACE,)  # trace.WithAttributes
    preferred_names: dict[str, tuple[str, ...]] = {
        OTEL: ("otel", "otelapi"),
        OTEL_CODES: ("codes", "otelcodes"),
        OTEL_ATTRIBUTE: ("attribute", "otelattribute"),
        OTEL_TRACE: ("trace", "oteltrace"),
        SEMCONV: ("semconv", "otelsemconv"),
        ERRORS: ("errors", "stderrors"),
    }

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        otel = names.packages[OTEL]
        span = names.span
        attribute = names.packages.get(OTEL_ATTRIBUTE, "attribute")
        start = f"{names.ctx_lhs}, {span} := {otel}.Tracer({go_string(tracer)}).Start({names.ctx}, {go_string(span_name)}"
        values = ", ".join(a.render(attribute) for a in names.attributes)
        if names.attributes and names.attributes_at_start:
            start += f", {names.packages[OTEL_TRACE]}.WithAttributes({values})"
        lines = [start + ")", f"defer {span}.End()"]
        if names.attributes and not names.attributes_at_start:
            lines.append(f"{span}.SetAttributes({values})")
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


# gofmt keeps a function literal's body on the `func` line when `func()` and the
# body's statements (as printed, in bytes) fit in 100 (go/printer funcBody).
_ONE_LINE_LITERAL = 100


def deferred_call(statement: str) -> list[str]:
    """`defer func() { statement }()` laid out as gofmt lays it out: one line, or three."""
    if len("func()") + len(statement.encode()) <= _ONE_LINE_LITERAL:
        return [f"defer func() {{ {statement} }}()"]
    return ["defer func() {", f"\t{statement}", "}()"]


DATADOG = "github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"


class Datadog:
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


BACKENDS: dict[str, Backend] = {"otel": OpenTelemetry(), "datadog": Datadog()}


class BackendError(Exception):
    pass


# A backend is Python code: one that a repository's .goinstrument.toml names runs only when
# the user names it too, on the command line (--backend) or in this variable (comma-separated).
TRUST_VARIABLE = "GOINSTRUMENT_TRUST_BACKEND"


def untrusted(name: str) -> str | None:
    """Why a backend named by a configuration file is not loaded; None for a built-in or a trusted one."""
    trusted = {entry.strip() for entry in os.environ.get(TRUST_VARIABLE, "").split(",")}
    if name in BACKENDS or name in trusted:
        return None
    return (
        f'backend "{name}" is Python code, not run on a configuration file\'s say-so:'
        f" pass --backend {name}, or set {TRUST_VARIABLE}={name} to trust it"
    )


@functools.lru_cache(maxsize=8)
def load_backend(name: str) -> Backend:
    """A built-in backend by name, or a user's own as `module:attribute` (loaded once per process)."""
    if name in BACKENDS:
        return BACKENDS[name]
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise BackendError(f"unknown backend {name!r}: use otel, datadog, or module:attribute")
    try:
        found = getattr(_import_outside_cwd(module_name), attribute)
    except ModuleNotFoundError as exc:
        raise BackendError(
            f"cannot load backend {name!r}: {exc} (the current directory is never searched: install the module"
            " or put its directory on PYTHONPATH)"
        ) from None
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"cannot load backend {name!r}: {exc}") from None
    backend: Backend = found() if isinstance(found, type) else found
    missing = [a for a in ("start_imports", "error_imports", "preferred_names", "lines") if not hasattr(backend, a)]
    if missing:
        raise BackendError(f"backend {name!r} lacks {', '.join(missing)}")
    return backend


def _import_outside_cwd(module_name: str) -> object:
    """The module, imported with sys.path rid of the current directory in all its spellings
    (the command line has done so already; a caller of this module may not have)."""
    import importlib

    from goinstrument import outside_current_directory

    saved = list(sys.path)
    sys.path[:] = outside_current_directory(saved)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path[:] = saved
