"""`--http-handlers`: a span for every function with a `*http.Request` parameter and no context.

Such a function (a handler: `func(w http.ResponseWriter, r *http.Request)`,
a method, a literal) gets the backend's own code, started from the request's
context, and one line more that makes the request carry the span's context, so
that everything the handler calls with `r` (or `r.Context()`) is a child:

    ctx, span := otel.Tracer("example.com/shop").Start(r.Context(), "Handler")
    defer span.End()
    r = r.WithContext(ctx)

That is `HandlerCode`: a backend wrapped so that its context argument is
`r.Context()` and its context result a new variable (`ctx`, or a fresh name
when the function uses `ctx`), followed by `r = r.WithContext(ctx)`. Being a
backend, its Shape (recognition, update, literal counting, removal) is derived
from its rendering like any other's (`shape.of`); the Shape knows the context
result is a variable of its own (`declares_context`), not the parameter.

The last line is written only where the body reads `r` after the span's code
(as `ctx` becomes `_` where the body does not read it): an assignment nothing
reads is what staticcheck reports (SA4006). Without it, the context result is
`_` unless the body reads the variable. Each kind is a HandlerCode of its own
(`carries`), so a Shape of its own; `request_line` brings a span of ours from
one kind to the other when the body has changed.

Which parameter is a request is decided by Go's rules: its type is `*P.Request`
where P is a name the file imports "net/http" under (an alias too), or
`*Request` under a dot import, and that name is not declared by a function
around it (a local `type Request` hides the dot import), nor a type parameter
of the function itself (`func F[Request any](r *Request)`). A function's own
parameters do not hide the package in its signature (their scope is the
body), so `func(w http.ResponseWriter, http *http.Request)` is a handler.
A context parameter wins: a function taking both gets the ordinary span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from tree_sitter import Node

from goinstrument.backends.protocol import Backend, Names
from goinstrument.engine import errorblock, shape
from goinstrument.engine.edits import Edit, insert
from goinstrument.engine.facts import TakenNames, fresh
from goinstrument.engine.go import scopes, syntax
from goinstrument.engine.imports import ImportSpec

HTTP = "net/http"
REQUEST_NAMES = ("r", "req")  # for a `_` or unnamed request parameter
CONTEXT_NAMES = ("ctx",)  # for the variable the span's context goes in


def http_names(imports: Sequence[ImportSpec]) -> frozenset[str]:
    """The names the file imports "net/http" under ("." for a dot import)."""
    return frozenset(s.local_name for s in imports if s.path == HTTP and s.name != "_")


def may_hold(src: bytes) -> bool:
    """A cheap look at the bytes: could the file import net/http at all?"""
    return b"net/http" in src


def start_argument(request: str) -> str:
    """What the span starts from: the request's context."""
    return f"{request}.Context()"


class HandlerCode:
    """A backend's code for a handler: started from `r.Context()`, the request carrying the span's context.

    `Names.ctx` is the request parameter and `Names.ctx_lhs` the new variable
    the backend's start line declares for the span's context.
    """

    declares_context = True  # for shape.py: ctx_lhs is a variable of its own (or `_`), never the parameter

    def __init__(self, inner: Backend, carries: bool = True):
        self.inner = inner
        self.carries = carries  # the request is made to carry the span's context: `r = r.WithContext(ctx)`
        self.start_imports = inner.start_imports
        self.error_imports = inner.error_imports
        self.preferred_names = inner.preferred_names
        self.attribute_imports: tuple[str, ...] = getattr(inner, "attribute_imports", ())
        self.start_attribute_imports: tuple[str, ...] = getattr(inner, "start_attribute_imports", ())

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        request, ctx = names.ctx, names.ctx_lhs
        lines = self.inner.lines(replace(names, ctx=start_argument(request)), tracer, span_name)
        return [*lines, carry_line(request, ctx)] if self.carries else lines


def carry_line(request: str, ctx: str) -> str:
    return f"{request} = {request}.WithContext({ctx})"


_CARRYING: shape.PerObject[Backend, HandlerCode] = shape.PerObject(lambda inner: HandlerCode(inner, True))
_NOT_CARRYING: shape.PerObject[Backend, HandlerCode] = shape.PerObject(lambda inner: HandlerCode(inner, False))


def backend(inner: Backend, carries: bool = True) -> HandlerCode:
    """The handler code of a backend (one object per backend and kind, so its Shape is built once)."""
    return _CARRYING(inner) if carries else _NOT_CARRYING(inner)


def shape_of(inner: Backend, carries: bool = True) -> shape.Shape:
    return shape.of(backend(inner, carries))


def shapes_of(inner: Backend) -> tuple[shape.Shape, shape.Shape]:
    """Both kinds of a backend's handler code, the longer (carrying the context) first."""
    return shape_of(inner, True), shape_of(inner, False)


class RequestLine(NamedTuple):
    """What bringing a handler span of ours to the kind its body wants takes (nothing, by default)."""

    carries: bool  # the kind the span's code is of now
    edits: tuple[Edit, ...] = ()
    reason: str | None = None  # why the span is out of date, for --check


def request_line(body: Node, match: shape.Match, request: str, carries: bool, local: str, src: bytes, eol: bytes) -> RequestLine:
    """The `r = r.WithContext(ctx)` line of a handler span of ours (`match`, of the kind `carries`)
    added where the body now reads `r` after the span's code, removed where it no longer does;
    the context result follows (`_` unless the body reads it; `local`, a fresh name, when it was `_`)."""
    statements = match.statements
    wanted = scopes.reads(body, request.encode(), skip=len(statements))
    if wanted == carries or not statements or not all(errorblock.alone_on_lines(src, s) for s in statements):
        return RequestLine(carries)
    lhs = syntax.text(match.ctx_lhs[0]) if match.ctx_lhs else "_"
    last = statements[-1]
    indent = src[syntax.line_start(src, statements[0].start_byte) : statements[0].start_byte]
    if carries:  # the line goes; the variable stays only if the body reads it
        edits = [Edit(syntax.line_start(src, last.start_byte), errorblock.next_line(src, last.end_byte), b"")]
        if lhs != "_" and not scopes.reads(body, lhs.encode(), skip=len(statements)):
            edits += [Edit(n.start_byte, n.end_byte, b"_") for n in match.ctx_lhs if n.start_byte < last.start_byte]
        return RequestLine(carries, tuple(edits), f"{carry_line(request, lhs)} where {request} is not read after")
    name = local if lhs == "_" else lhs
    edits = [Edit(n.start_byte, n.end_byte, name.encode()) for n in match.ctx_lhs if lhs == "_"]
    edits.append(insert(errorblock.next_line(src, last.end_byte), indent + carry_line(request, name).encode() + eol))
    return RequestLine(carries, tuple(edits), f"no {carry_line(request, name)} where {request} is read after")


_PROBE_CTX, _PROBE_LHS = "goinstrumentProbeRequest", "goinstrumentProbeCtx"


def unsupported(name: str, inner: Backend) -> str | None:
    """Why `--http-handlers` cannot be written with this backend, or None when it can: the
    backend's start line must declare the span's context (`names.ctx_lhs`) from `names.ctx`."""
    names = Names(_PROBE_LHS, _PROBE_CTX, "span", None, {p: f"pkg{i}" for i, p in enumerate(sorted(inner.preferred_names))})
    text = "\n".join(inner.lines(names, "tracer", "name"))
    if _PROBE_LHS not in text or _PROBE_CTX not in text or not shape_of(inner).variants:
        return f'backend "{name}" does not support --http-handlers (its code must declare the span\'s context)'
    return None


# the request parameter ---------------------------------------------------------------


class Request(NamedTuple):
    """The request parameter of a handler, and the variable its span's context goes in."""

    name: str  # the parameter's name (given by us when it was `_` or unnamed)
    rename: tuple[Edit, ...]  # edits naming a `_` or unnamed parameter
    fresh: bool  # named by us: the body cannot read it yet
    local: str  # the new variable holding the span's context


def request_parameter(func: Node, names: frozenset[str], taken: TakenNames) -> Request | None:
    """The first `*http.Request` parameter of `func`, or None; `taken`: the names used in the function."""
    params = func.child_by_field_name("parameters")
    if params is None or not names:
        return None
    decls = [p for p in params.named_children if p.type in ("parameter_declaration", "variadic_parameter_declaration")]
    for decl in decls:
        if decl.type != "parameter_declaration" or not _is_request_type(func, decl.child_by_field_name("type"), names):
            continue
        declared = decl.children_by_field_name("name")
        named = next((n for n in declared if n.text != b"_"), None)
        if named is not None:
            request = syntax.text(named)
            return Request(request, (), False, fresh(CONTEXT_NAMES, taken | {request}))
        request = fresh(REQUEST_NAMES, taken)
        local = fresh(CONTEXT_NAMES, taken | {request})
        if declared:
            return Request(request, (Edit(declared[0].start_byte, declared[0].end_byte, request.encode()),), True, local)
        # Unnamed parameters: Go wants all named or none, so the others become `_`.
        rename = tuple(insert(d.start_byte, (request if d is decl else "_").encode() + b" ") for d in decls)
        return Request(request, rename, True, local)
    return None


def _is_request_type(func: Node, node: Node | None, names: frozenset[str]) -> bool:
    """`*P.Request` with P net/http's name, or `*Request` under a dot import, as seen where `func` stands."""
    if node is None or node.type != "pointer_type" or node.named_child_count != 1:
        return False
    pointee = node.named_children[0]
    if pointee.type == "qualified_type":
        package, name = pointee.child_by_field_name("package"), pointee.child_by_field_name("name")
        if name is None or name.text != b"Request" or package is None or syntax.text(package) not in names:
            return False
        return not scopes.resolves_locally(func, package.text or b"")
    if pointee.type == "type_identifier" and pointee.text == b"Request" and "." in names:
        return not _type_parameter(func, b"Request") and not scopes.resolves_locally(func, b"Request")
    return False


def _type_parameter(func: Node, name: bytes) -> bool:
    """Whether `func` declares a type parameter `name` (its scope is the signature too: `func F[Request any](r *Request)`)."""
    params = func.child_by_field_name("type_parameters")
    return params is not None and any(n.text == name for d in params.named_children for n in d.children_by_field_name("name"))


# a span that is already there --------------------------------------------------------


def starts_span(statements: Sequence[Node], request: str) -> bool:
    """A span started at the top level of the body from the request's context: from
    `r.Context()` itself, or from a variable the body set to it before (`ctx := r.Context()`)."""
    sources = {start_argument(request)}
    for stmt in statements:
        if any(shape.existing_span(stmt, source) for source in sources):
            return True
        assigned = _assigned_from(stmt, start_argument(request).encode())
        if assigned is not None:
            sources.add(assigned)
    return False


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

