"""The `Backend` protocol: every member a backend may provide, the `Names` it renders with, and
the helpers its renderings share (Go string literals, gofmt's layout of a deferred call).

A backend names the packages it needs and renders the lines at the top of a
function; that is all it does. Recognising its code again (to bring it up to
date, count its literals or remove it) is derived from that rendering by
`engine/shape.py`. Nothing here imports the engine, the driver or the command line.
"""

from __future__ import annotations

import os
from typing import Protocol

from goinstrument.tuples import NamedTuple

ERRORS = "errors"
STRINGS = "strings"
ERROR_FORMS = ("status", "event", "record")  # Names.errors; the last is only recognised


class Attribute(NamedTuple):
    key: str
    constructor: str  # attribute.<constructor>(key, value)
    value: str  # a Go expression

    def render(self, package: str) -> str:
        return f'{package}.{self.constructor}("{self.key}", {self.value})'


class Names(NamedTuple):
    """The identifiers inserted code uses, each checked not to clash (`names._replace(ctx=...)`: the same with another)."""

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
    # An http.Handler's span (--http-handlers): the request parameter's name; the span is the server's
    # for the request (kind SERVER, Datadog's type web), `ctx` is the request's context, and
    # `attributes` begin with its http.request.method and url.path where the backend writes attributes.
    request: str | None = None
    # A server span whose request may name the ServeMux pattern it matched (`r.Pattern`, Go 1.23+): the
    # variable of the block that renames the span `{method} {route}` and gives it `http.route` where it
    # did (handlers.py picks it). None: no such block (the module's Go is older, or no server span).
    route: str | None = None


class Backend(Protocol):
    """A tracing library: the packages it needs and the lines it inserts.

    A user's own backend is any object with these attributes, named on the
    command line or in .goinstrument.toml as `module:attribute` (a class is
    instantiated without arguments); the optional ones it lacks take their
    defaults (`loader.load_backend`).
    """

    start_imports: tuple[str, ...]  # import paths the first lines use
    error_imports: tuple[str, ...]  # import paths the error handling adds
    preferred_names: dict[str, tuple[str, ...]]  # import path -> names to try, in order
    # Optional members: a backend that does not declare one has this default (the loader fills it in
    # for a user's backend; a built-in one inherits it by subclassing this protocol).
    attribute_imports: tuple[str, ...] = ()  # import paths any attribute (start or result) needs
    start_attribute_imports: tuple[str, ...] = ()  # import paths giving start attributes to Start needs
    declares_context: bool = False  # its start line declares a context variable of its own, never the parameter
    server_imports: tuple[str, ...] = ()  # import paths a server span (`Names.request`) adds to start_imports
    route_imports: tuple[str, ...] = ()  # import paths the route block (`Names.route`) adds to those
    # Modules of their own among those import paths whose path another's extends (go.opentelemetry.io/otel/trace,
    # beside go.opentelemetry.io/otel): a go.mod is to require each directly where the code imports it.
    modules: tuple[str, ...] = ()

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        """The statements to insert, one a line, indented with tabs relative to the body.

        What it renders for `names.err` (the error block) and for
        `names.attributes` / `names.result_attributes` is what the backend
        supports: a backend whose lines ignore them supports none.
        """
        ...


def route_block(names: Names, *statements: str) -> list[str]:
    """The block a server span's code ends with where the request may name its ServeMux pattern
    (`Names.route`): where it does (`METHOD HOST/PATH`, the method and host optional), the route is
    the pattern from its first slash on, as otelhttp reads it; `statements` use `{route}` for it.
    Nothing where the pattern is empty (the handler not served by a ServeMux)."""
    if names.request is None or names.route is None:
        return []
    r, i = names.request, names.route
    values = {"route": f"{r}.Pattern[{i}:]", "method": f"{r}.Method"}
    head = f"if {i} := {names.packages[STRINGS]}.IndexByte({r}.Pattern, '/'); {i} >= 0 {{"
    return [head, *("\t" + s.format(**values) for s in statements), "}"]


def expected_condition(names: Names, err: str) -> str:
    """`err != nil`, and `!errors.Is(err, X)` for each expected error X."""
    return " && ".join([f"{err} != nil", *(f"!{names.packages[ERRORS]}.Is({err}, {x})" for x in names.expected)])


# gofmt keeps a function literal's body on the `func` line when `func()` and the
# body's statements (as printed, in bytes) fit in 100 (go/printer funcBody).
_ONE_LINE_LITERAL = 100


def deferred_call(statement: str) -> list[str]:
    """`defer func() { statement }()` laid out as gofmt lays it out: one line, or three."""
    if len("func()") + len(statement.encode()) <= _ONE_LINE_LITERAL:
        return [f"defer func() {{ {statement} }}()"]
    return ["defer func() {", f"\t{statement}", "}()"]


_GO_ESCAPES = {"\\": "\\\\", '"': '\\"', "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_escape(char: str) -> str:
    if char in _GO_ESCAPES:
        return _GO_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F or 0xDC80 <= code <= 0xDCFF:  # a control character, or a byte that is not UTF-8
        return "".join(f"\\x{byte:02x}" for byte in os.fsencode(char))
    return char


def go_string(value: str) -> str:
    """A Go interpreted string literal holding `value`'s bytes, printable.

    A lone surrogate (os.fsdecode's stand-in for a byte of a file name that is not UTF-8: a
    tracer or code.file.path from such a directory) is that byte, `\\xe9`; a control
    character is escaped too, so that the literal is one line of UTF-8 Go.
    """
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return '"' + "".join(_go_escape(char) for char in value) + '"'
