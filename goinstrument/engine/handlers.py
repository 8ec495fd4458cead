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

from tree_sitter import Node

from goinstrument.backends.protocol import Attribute, Backend, Names
from goinstrument.engine import errorblock, shape
from goinstrument.engine.edits import Edit, insert
from goinstrument.engine.facts import TakenNames, fresh
from goinstrument.engine.go import scopes, syntax
from goinstrument.engine.imports import ImportSpec
from goinstrument.tuples import NamedTuple

HTTP = "net/http"
REQUEST_NAMES = ("r", "req")  # for a `_` or unnamed request parameter
CONTEXT_NAMES = ("ctx",)  # for the variable the span's context goes in
PATTERN_GO = (1, 23)  # the Go whose net/http has Request.Pattern, the ServeMux pattern that matched (api/go1.23.txt)
ROUTE_NAMES = ("i",)  # for the variable of the route block: where the pattern's path starts


def http_names(imports: Sequence[ImportSpec]) -> frozenset[str]:
    """The names the file imports "net/http" under ("." for a dot import)."""
    return frozenset(s.local_name for s in imports if s.path == HTTP and s.name != "_")


def may_hold(src: bytes) -> bool:
    """A cheap look at the bytes: could the file import net/http at all?"""
    return b"net/http" in src


def start_argument(request: str) -> str:
    """What the span starts from: the request's context."""
    return f"{request}.Context()"


class HandlerCode(Backend):
    """A backend's code for a handler: started from `r.Context()`, the request carrying the span's context.

    `Names.ctx` is the request parameter and `Names.ctx_lhs` the new variable
    the backend's start line declares for the span's context.
    """

    declares_context = True  # for shape.py: ctx_lhs is a variable of its own (or `_`), never the parameter

    def __init__(self, inner: Backend, carries: bool = True, server: bool = False, route: bool = False):
        self.inner = inner
        self.carries = carries  # the request is made to carry the span's context: `r = r.WithContext(ctx)`
        self.server = server  # the function is an http.Handler's: a server span (`Names.request`)
        self.route = route and server  # its request may name the ServeMux pattern it matched (`Names.route`)
        self.start_imports = (*inner.start_imports, *inner.server_imports) if server else inner.start_imports
        self.start_imports += inner.route_imports if self.route else ()
        self.error_imports = inner.error_imports
        self.preferred_names = inner.preferred_names
        self.attribute_imports = inner.attribute_imports
        self.start_attribute_imports = inner.start_attribute_imports

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        request, ctx = names.ctx, names.ctx_lhs
        route = None
        if self.route:  # the block's variable: none of the names its statements use (shape.py gives a placeholder)
            route = names.route or fresh(ROUTE_NAMES, {request, names.span, *names.packages.values()})
        server = names._replace(ctx=start_argument(request), request=request if self.server else None, route=route)
        lines = self.inner.lines(server, tracer, span_name)
        return [*lines, carry_line(request, ctx)] if self.carries else lines


def carry_line(request: str, ctx: str) -> str:
    return f"{request} = {request}.WithContext({ctx})"


# (carries, server, route) -> each backend's handler code of that kind
_CODE: dict[tuple[bool, bool, bool], shape.PerObject[Backend, HandlerCode]] = {
    (carries, server, route): shape.PerObject(lambda inner, c=carries, s=server, r=route: HandlerCode(inner, c, s, r))  # type: ignore[misc]
    for carries in (True, False)
    for server in (True, False)
    for route in (True, False)
}


def backend(inner: Backend, carries: bool = True, server: bool = False, route: bool = False) -> HandlerCode:
    """The handler code of a backend (one object per backend and kind, so its Shape is built once)."""
    return _CODE[(carries, server, route and server)](inner)


def shape_of(inner: Backend, carries: bool = True, server: bool = False, route: bool = False) -> shape.Shape:
    return shape.of(backend(inner, carries, server, route))


def shapes_of(inner: Backend) -> tuple[shape.Shape, ...]:
    """Every kind of a backend's handler code: server spans first (with the route block first), the
    longer (carrying the context) first."""
    kinds = [(True, True), (True, False), (False, False)]  # (server, route)
    return tuple(shape_of(inner, carries, server, route) for server, route in kinds for carries in (True, False))


# The HTTP server conventions' attributes a handler's server span starts with, from the request.
METHOD, PATH = "http.request.method", "url.path"
SERVER_KEYS = (METHOD, PATH)


def server_attributes(request: str) -> tuple[Attribute, ...]:
    return (Attribute(METHOD, "String", f"{request}.Method"), Attribute(PATH, "String", f"{request}.URL.Path"))


class RequestLine(NamedTuple):
    """What bringing a handler span of ours to the kind its body wants takes (nothing, by default)."""

    carries: bool  # the kind the span's code is of now
    edits: tuple[Edit, ...] = ()
    reason: str | None = None  # why the span is out of date, for --check


def request_line(body: Node, match: shape.Match, request: str, carries: bool, local: str, src: bytes, eol: bytes, keeps: bool = False) -> RequestLine:
    """The `r = r.WithContext(ctx)` line of a handler span of ours (`match`, of the kind `carries`)
    added where the body now reads `r` after the span's code, removed where it no longer does or
    where the request must keep its context (`keeps`: the package compares contexts by identity);
    the context result follows (`_` unless the body reads it; `local`, a fresh name, when it was `_`)."""
    statements = match.statements
    wanted = not keeps and scopes.reads(body, request.encode(), skip=len(statements))
    if wanted == carries or not statements or not all(errorblock.alone_on_lines(src, s) for s in statements):
        return RequestLine(carries)
    lhs = syntax.text(match.ctx_lhs[0]) if match.ctx_lhs else "_"
    last = statements[-1]
    indent = src[syntax.line_start(src, statements[0].start_byte) : statements[0].start_byte]
    if carries:  # the line goes; the variable stays only if the body reads it
        edits = [Edit(syntax.line_start(src, last.start_byte), errorblock.next_line(src, last.end_byte), b"")]
        if lhs != "_" and not scopes.reads(body, lhs.encode(), skip=len(statements)):
            edits += [Edit(n.start_byte, n.end_byte, b"_") for n in match.ctx_lhs if n.start_byte < last.start_byte]
        why = "spans in this package keep the request's context" if keeps else f"{request} is not read after"
        return RequestLine(carries, tuple(edits), f"{carry_line(request, lhs)} where {why}")
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
    server: bool = False  # the function is an http.Handler's (`serves`): its span is a server span


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
        server = serves(func, decls, decl, names)
        if named is not None:
            request = syntax.text(named)
            return Request(request, (), False, fresh(CONTEXT_NAMES, taken | {request}), server)
        request = fresh(REQUEST_NAMES, taken)
        local = fresh(CONTEXT_NAMES, taken | {request})
        if declared:
            return Request(request, (Edit(declared[0].start_byte, declared[0].end_byte, request.encode()),), True, local, server)
        # Unnamed parameters: Go wants all named or none, so the others become `_`.
        rename = tuple(insert(d.start_byte, (request if d is decl else "_").encode() + b" ") for d in decls)
        return Request(request, rename, True, local, server)
    return None


def serves(func: Node, decls: Sequence[Node], request: Node, names: frozenset[str]) -> bool:
    """Whether `func` has an http.Handler's signature, `(http.ResponseWriter, *http.Request)` and no
    result (an http.HandlerFunc, a ServeHTTP method): it serves a request, and its span is the server's.
    Another function taking a request (a helper, one returning an error) gets an internal span."""
    if func.child_by_field_name("result") is not None or len(decls) != 2 or decls[1] != request:
        return False
    writer, count = decls[0], sum(max(1, len(d.children_by_field_name("name"))) for d in decls)
    return count == 2 and writer.type == "parameter_declaration" and _is_http_type(func, writer.child_by_field_name("type"), names, b"ResponseWriter")


def _is_request_type(func: Node, node: Node | None, names: frozenset[str]) -> bool:
    """`*P.Request` with P net/http's name, or `*Request` under a dot import, as seen where `func` stands."""
    if node is None or node.type != "pointer_type" or node.named_child_count != 1:
        return False
    return _is_http_type(func, node.named_children[0], names, b"Request")


def _is_http_type(func: Node, node: Node | None, names: frozenset[str], type_name: bytes) -> bool:
    """`P.<type_name>` with P net/http's name, or `<type_name>` under a dot import, as seen where `func` stands."""
    if node is None:
        return False
    if node.type == "qualified_type":
        package, name = node.child_by_field_name("package"), node.child_by_field_name("name")
        if name is None or name.text != type_name or package is None or syntax.text(package) not in names:
            return False
        return not scopes.resolves_locally(func, package.text or b"")
    if node.type == "type_identifier" and node.text == type_name and "." in names:
        return not _type_parameter(func, type_name) and not scopes.resolves_locally(func, type_name)
    return False


def _type_parameter(func: Node, name: bytes) -> bool:
    """Whether `func` declares a type parameter `name` (its scope is the signature too: `func F[Request any](r *Request)`)."""
    params = func.child_by_field_name("type_parameters")
    return params is not None and any(n.text == name for d in params.named_children for n in d.children_by_field_name("name"))
