"""What the inserted code looks like, per tracing library, and how to recognise it again.

A backend names the packages it needs, renders the lines at the top of a
function, and recognises its own first statement so that a later run can
bring the span name and tracer up to date instead of adding a second span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tree_sitter import Node


def go_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Names:
    """The identifiers inserted code uses, each checked not to clash."""

    ctx_lhs: str  # "ctx" (or the parameter's name) when the body reads it afterwards, else "_"
    ctx: str  # the context parameter
    span: str
    err: str | None  # the error result, when the error block is emitted
    packages: dict[str, str]  # import path -> name used in this file
    attributes: tuple = ()  # Attribute values set when the span starts
    result_attributes: tuple = ()  # Attribute values set when the function returns


@dataclass(frozen=True)
class StartMatch:
    """Our own first statement, found in an already instrumented function."""

    ctx_lhs: Node
    span: Node
    tracer: Node | None  # the string literal, for backends that name a tracer
    name: Node  # the string literal


class Backend(Protocol):
    """A tracing library: the packages it needs, the lines it inserts, how to find them again.

    A user's own backend is any object with these attributes, named on the
    command line or in .goinstrument.toml as `module:attribute` (a class is
    instantiated without arguments).
    """

    start_imports: tuple[str, ...]  # import paths the first lines use
    error_imports: tuple[str, ...]  # import paths the error handling adds
    preferred_names: dict[str, tuple[str, ...]]  # import path -> names to try, in order

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        """The statements to insert, one a line, indented with tabs relative to the body."""
        ...

    def match_start(self, stmt: Node, ctx: str, package_names: dict[str, str]) -> StartMatch | None:
        """This backend's own first statement, or None."""
        ...


OTEL = "go.opentelemetry.io/otel"
OTEL_CODES = "go.opentelemetry.io/otel/codes"
OTEL_ATTRIBUTE = "go.opentelemetry.io/otel/attribute"


class OpenTelemetry:
    start_imports = (OTEL,)
    error_imports = (OTEL_CODES,)
    attribute_imports = (OTEL_ATTRIBUTE,)
    preferred_names = {
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
            lines.append(f"defer func() {{ {span}.SetAttributes({values}) }}()")
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

    def match_start(self, stmt: Node, ctx: str, package_names: dict[str, str]) -> StartMatch | None:
        """`X, span := otel.Tracer("t").Start(ctx, "name")`, with X the context or `_`."""
        parts = _pair_from_call(stmt)
        if parts is None:
            return None
        ctx_lhs, span, start = parts
        if ctx_lhs.text not in (ctx.encode(), b"_") or span.type != "identifier":
            return None
        start_fn = start.child_by_field_name("function") if start.type == "call_expression" else None
        if start_fn is None or start_fn.type != "selector_expression":
            return None
        if _text(start_fn.child_by_field_name("field")) != "Start":
            return None
        tracer_call = start_fn.child_by_field_name("operand")
        if tracer_call is None or tracer_call.type != "call_expression":
            return None
        tracer_fn = tracer_call.child_by_field_name("function")
        otel_name = package_names.get(OTEL)
        if tracer_fn is None or tracer_fn.type != "selector_expression" or otel_name is None:
            return None
        if _text(tracer_fn.child_by_field_name("operand")) != otel_name:
            return None
        if _text(tracer_fn.child_by_field_name("field")) != "Tracer":
            return None
        tracer_args = _arguments(tracer_call)
        start_args = _arguments(start)
        if len(tracer_args) != 1 or len(start_args) != 2 or start_args[0].text != ctx.encode():
            return None
        if tracer_args[0].type != "interpreted_string_literal" or start_args[1].type != "interpreted_string_literal":
            return None
        return StartMatch(ctx_lhs, span, tracer_args[0], start_args[1])


def _pair_from_call(stmt: Node) -> tuple[Node, Node, Node] | None:
    """`a, b := <one expression>` as (a, b, expression), or None."""
    if stmt.type != "short_var_declaration":
        return None
    left, right = stmt.child_by_field_name("left"), stmt.child_by_field_name("right")
    if left is None or right is None or left.named_child_count != 2 or right.named_child_count != 1:
        return None
    first, second = left.named_children
    return first, second, right.named_children[0]


def _text(node: Node | None) -> str | None:
    return node.text.decode("utf-8") if node is not None and node.text is not None else None


def _arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def starts_span(stmt: Node, ctx: str) -> bool:
    """A hand-written span at the top level of a body: `... X.Start(ctx, ...)` or `StartSpanFromContext(ctx, ...)`."""
    for call in _calls_of(stmt):
        fn = call.child_by_field_name("function")
        if fn is None:
            continue
        name = _text(fn.child_by_field_name("field")) if fn.type == "selector_expression" else _text(fn)
        if name not in ("Start", "StartSpan", "StartSpanFromContext"):
            continue
        args = _arguments(call)
        if args and args[0].text == ctx.encode():
            return True
    return False


def _calls_of(stmt: Node) -> list[Node]:
    """The calls a statement makes directly: `a, b := f(...)`, `a = f(...)`, `f(...)`."""
    if stmt.type in ("short_var_declaration", "assignment_statement"):
        right = stmt.child_by_field_name("right")
        values = right.named_children if right is not None else []
    elif stmt.type == "expression_statement":
        values = stmt.named_children
    elif stmt.type == "var_declaration":
        values = [
            v
            for spec in stmt.named_children
            if spec.type == "var_spec"
            for lst in spec.children_by_field_name("value")
            for v in lst.named_children
        ]
    else:
        return []
    return [v for v in values if v.type == "call_expression"]


DATADOG = "github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"


class Datadog:
    """dd-trace-go v2: `span, ctx := tracer.StartSpanFromContext(ctx, name)`; Finish records the error."""

    start_imports = (DATADOG,)
    error_imports = ()
    preferred_names = {DATADOG: ("tracer", "ddtracer")}

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        dd, span = names.packages[DATADOG], names.span
        start = f"{span}, {names.ctx_lhs} := {dd}.StartSpanFromContext({names.ctx}, {go_string(span_name)})"
        if names.err is None:
            return [start, f"defer {span}.Finish()"]
        return [start, f"defer func() {{ {span}.Finish({dd}.WithError({names.err})) }}()"]

    def match_start(self, stmt: Node, ctx: str, package_names: dict[str, str]) -> StartMatch | None:
        """`span, X := tracer.StartSpanFromContext(ctx, "name")`, with X the context or `_`."""
        parts = _pair_from_call(stmt)
        if parts is None:
            return None
        span, ctx_lhs, call = parts
        fn = call.child_by_field_name("function") if call.type == "call_expression" else None
        dd = package_names.get(DATADOG)
        if fn is None or fn.type != "selector_expression" or dd is None or ctx_lhs.text not in (ctx.encode(), b"_"):
            return None
        if _text(fn.child_by_field_name("operand")) != dd or _text(fn.child_by_field_name("field")) != "StartSpanFromContext":
            return None
        args = _arguments(call)
        if len(args) != 2 or args[0].text != ctx.encode() or args[1].type != "interpreted_string_literal":
            return None
        return StartMatch(ctx_lhs, span, None, args[1])


BACKENDS: dict[str, Backend] = {"otel": OpenTelemetry(), "datadog": Datadog()}


class BackendError(Exception):
    pass


def load_backend(name: str) -> Backend:
    """A built-in backend by name, or a user's own as `module:attribute`."""
    if name in BACKENDS:
        return BACKENDS[name]
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise BackendError(f"unknown backend {name!r}: use otel, datadog, or module:attribute")
    import importlib

    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"cannot load backend {name!r}: {exc}") from None
    backend = found() if isinstance(found, type) else found
    missing = [a for a in ("start_imports", "error_imports", "preferred_names", "lines", "match_start") if not hasattr(backend, a)]
    if missing:
        raise BackendError(f"backend {name!r} lacks {', '.join(missing)}")
    return backend


def unsupported(backend: Backend, attributes: frozenset[str]) -> str | None:
    """Why these options ask the backend for what it cannot write, or None."""
    if attributes and not getattr(backend, "attribute_imports", ()):
        name = next((n for n, b in BACKENDS.items() if b is backend), type(backend).__name__)
        return f'backend "{name}" does not support --attributes (it writes no span attributes)'
    return None
