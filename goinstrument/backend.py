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

from goinstrument.attributes import Attribute, go_string


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


class OpenTelemetry:
    start_imports: tuple[str, ...] = (OTEL,)
    error_imports: tuple[str, ...] = (OTEL_CODES,)
    attribute_imports: tuple[str, ...] = (OTEL_ATTRIBUTE,)
    preferred_names: dict[str, tuple[str, ...]] = {
        OTEL: ("otel", "otelapi"),
        OTEL_CODES: ("codes", "otelcodes"),
        OTEL_ATTRIBUTE: ("attribute", "otelattribute"),
    }

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        otel = names.packages[OTEL]
        span = names.span
        lines = [
            f"{names.ctx_lhs}, {span} := {otel}.Tracer({go_string(tracer)}).Start({names.ctx}, {go_string(span_name)})",
            f"defer {span}.End()",
        ]
        attribute = names.packages.get(OTEL_ATTRIBUTE, "attribute")
        if names.attributes:
            values = ", ".join(a.render(attribute) for a in names.attributes)
            lines.append(f"{span}.SetAttributes({values})")
        if names.result_attributes:
            values = ", ".join(a.render(attribute) for a in names.result_attributes)
            lines += deferred_call(f"{span}.SetAttributes({values})")
        if names.err is not None:
            err, codes = names.err, names.packages[OTEL_CODES]
            lines += [
                "defer func() {",
                f"\tif {err} != nil {{",
                f"\t\t{span}.RecordError({err})",
                f"\t\t{span}.SetStatus({codes}.Error, {err}.Error())",
                "\t}",
                "}()",
            ]
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
