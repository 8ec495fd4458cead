"""What a span would change of what the program does, read from the code: when a span keeps its
function's context, and which functions get none.

A span started as `ctx, span := tracer.Start(ctx, ...)` hands the rest of the
function a new context. That changes behaviour where:

- the package compares contexts by identity (`==` or `!=`, an operand a
  context): the new context is never equal to the one the caller holds.
  `first_comparison` finds such a comparison in the package's files; every
  span of the package then keeps its context (`_, span := ...`);
- the function returns a context: it would hand back one holding its own,
  already ended, span, the parent of every later span of its caller
  (`returns_context`: its spans keep their context too);
- the function reads its caller's span from its context (`trace.SpanFromContext`,
  Datadog's `tracer.SpanFromContext`) to annotate it: with a span of its own,
  the event or attribute lands on that span (`reads_callers_span`: no span);
- the function carries a pragma the runtime's own code uses
  (`//go:nosplit`: the span's calls overflow the small stack a nosplit
  function may use, which the linker rejects; `//go:norace`,
  `//go:systemstack`, `//go:nowritebarrier`...): `runtime_pragma`, no span.

An operand is a context when it is an identifier declared `context.Context`
(a parameter, a result, a `var`, or a short variable declaration from a
`.Context()` call or context.Background/TODO), a selector whose field a
struct of the package declares `context.Context`, or a `.Context()` call with
no arguments. A comparison with `nil` is not a comparison by identity.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from tree_sitter import Node, QueryCursor

from goinstrument import syntax
from goinstrument.facts import FileFacts
from goinstrument.result import Position
from goinstrument.typenames import TypeNames

OTEL_TRACE = "go.opentelemetry.io/otel/trace"
DATADOG_TRACERS = ("github.com/DataDog/dd-trace-go/v2/ddtrace/tracer", "gopkg.in/DataDog/dd-trace-go.v1/ddtrace/tracer")
SPAN_READERS = {OTEL_TRACE: b"SpanFromContext", **{path: b"SpanFromContext" for path in DATADOG_TRACERS}}

# Pragmas under which a function must not call into a tracer (what cmd/compile and the runtime allow there).
RUNTIME_PRAGMAS = ("nosplit", "norace", "systemstack", "nowritebarrier", "nowritebarrierrec", "yeswritebarrierrec")
_PRAGMA = re.compile(rb"//go:(\w+)")

_CONTEXT_FUNCTIONS = (b"Background", b"TODO", b"WithValue", b"WithoutCancel")  # of package context, one result: a context

# Text prefilter --------------------------------------------------------------------------

# Names a declaration may give the type `<pkg>.Context`: parameters, results, variables, struct fields.
_DECLARED_CONTEXT = re.compile(rb"((?:\w+\s*,\s*)*\w+)\s+\w+\.Context\b")
# `x := r.Context()`, `x = context.Background()`.
_ASSIGNED_CONTEXT = re.compile(rb"(\w+)\s*:?=\s*[\w.]*\.(?:Context|Background|TODO)\(\)")
_CONTEXT_ALIAS = re.compile(rb"(\w+)\s*=\s*\w+\.Context\b")  # `type Ctx = context.Context`, alone or in a group
_COMPARISON_LINE = re.compile(rb"^.*(?:==|!=).*$", re.MULTILINE)
_NIL_COMPARISON = re.compile(rb"(?:==|!=)\s*nil\b|\bnil\s*(?:==|!=)")
_WORD = re.compile(rb"\w+")


def _candidate_names(sources: Iterable[bytes]) -> frozenset[bytes]:
    """Every name some file of the package may declare a context (more than there are: a prefilter)."""
    names: set[bytes] = set()
    for data in sources:
        if b".Context" not in data and b"context." not in data:
            continue
        aliases = [m.group(1) for m in _CONTEXT_ALIAS.finditer(data)]
        declared = _declared_context(tuple(aliases)) if aliases else _DECLARED_CONTEXT
        for match in declared.finditer(data):
            names.update(_WORD.findall(match.group(1)))
        names.update(m.group(1) for m in _ASSIGNED_CONTEXT.finditer(data))
    return frozenset(names)


@functools.lru_cache(maxsize=64)
def _declared_context(aliases: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """Like _DECLARED_CONTEXT, the type `<pkg>.Context` or one of `aliases`."""
    types = b"|".join([rb"\w+\.Context", *(re.escape(a) for a in aliases)])
    return re.compile(rb"((?:\w+\s*,\s*)*\w+)\s+(?:" + types + rb")\b")


def _may_compare(data: bytes, names: frozenset[bytes]) -> bool:
    """Whether a line of the file compares something that may be a context (other than with nil)."""
    if b"==" not in data and b"!=" not in data:
        return False
    for line in _COMPARISON_LINE.finditer(data):
        text = _NIL_COMPARISON.sub(b"", line.group(0))
        if b"==" not in text and b"!=" not in text:
            continue
        if b".Context()" in text or any(word in names for word in _WORD.findall(text)):
            return True
    return False


# Contexts compared by identity --------------------------------------------------------------

_COMPARISONS = '(binary_expression operator: ["==" "!="]) @comparison'
_FIELDS = "(field_declaration type: (_) @type) @field"


def first_comparison(sources: Iterable[tuple[str, bytes]]) -> tuple[str, Position] | None:
    """(file name, position) of the first `==`/`!=` comparing contexts in the package's files, by
    file name then source order; None when none does. `sources`: (name, bytes) of each .go file of
    the package's directory, its test files of both packages included (they compare contexts too:
    a test that a context is passed on). Names starting with `.` or `_` are not Go's and are left out."""
    files = sorted((name, data) for name, data in sources if name[:1] not in ("", ".", "_") and name.endswith(".go"))
    names = _candidate_names(data for _, data in files)
    fields: _Fields | None = None
    for name, data in files:
        if not _may_compare(data, names):
            continue
        root = syntax.parse(data, keep=False).root_node
        facts = FileFacts.read(data, root)
        types = TypeNames(root, facts.context_names, frozenset())
        for comparison in _captured(root, _COMPARISONS, "comparison"):
            left, right = comparison.child_by_field_name("left"), comparison.child_by_field_name("right")
            operands = [_unparenthesized(n) for n in (left, right) if n is not None]
            if len(operands) != 2 or any(n.type == "nil" for n in operands):
                continue
            for operand in operands:
                if operand.type == "selector_expression":
                    fields = fields if fields is not None else _Fields(files, names)
                if _is_context(operand, types, fields):
                    return name, syntax.position(comparison)
    return None


class _Fields:
    """The names of struct fields the package's files declare `context.Context`, read when first asked."""

    def __init__(self, files: list[tuple[str, bytes]], names: frozenset[bytes]):
        self._files = files
        self._names = names
        self._found: frozenset[bytes] | None = None

    def __contains__(self, name: bytes) -> bool:
        if name not in self._names:
            return False
        if self._found is None:
            found: set[bytes] = set()
            for _, data in self._files:
                if b"struct" not in data or not (b".Context" in data or b"context." in data):
                    continue
                root = syntax.parse(data, keep=False).root_node
                types = TypeNames(root, FileFacts.read(data, root).context_names, frozenset())
                for field in _captured(root, _FIELDS, "field"):
                    if types.is_context(field.child_by_field_name("type")):
                        found.update(n.text for n in field.children_by_field_name("name") if n.text is not None)
            self._found = frozenset(found)
        return name in self._found


def _captured(root: Node, source: str, name: str) -> list[Node]:
    nodes = QueryCursor(syntax.query(source)).captures(root).get(name, [])
    return sorted(nodes, key=lambda n: n.start_byte)


def _unparenthesized(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _is_context(operand: Node, types: TypeNames, fields: _Fields | None) -> bool:
    if operand.type == "call_expression":
        return _context_call(operand)
    if operand.type == "selector_expression":
        field = operand.child_by_field_name("field")
        return fields is not None and field is not None and field.text is not None and field.text in fields
    if operand.type != "identifier" or operand.text is None:
        return False
    declaration = types.declaration(operand, operand.text)
    if declaration is None:
        return False
    if declaration.type in ("parameter_declaration", "var_spec"):
        declared = declaration.child_by_field_name("type")
        if declared is not None:
            return types.is_context(declared)
        value = declaration.child_by_field_name("value")
        return value is not None and _assigned(declaration.children_by_field_name("name"), operand.text, value, types)
    if declaration.type == "short_var_declaration":
        left, right = declaration.child_by_field_name("left"), declaration.child_by_field_name("right")
        return left is not None and right is not None and _assigned(left.named_children, operand.text, right, types)
    return False


def _assigned(names: list[Node], name: bytes, values: Node, types: TypeNames) -> bool:
    """Whether `name`, one of `names`, gets a context from its value in `values` (one value a name)."""
    exprs = values.named_children
    position = next((i for i, n in enumerate(names) if n.text == name), None)
    if position is None or len(exprs) != len(names):
        return False
    value = _unparenthesized(exprs[position])
    if value.type != "call_expression":
        return False
    if _context_call(value):
        return True
    function = value.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return False
    package, field = function.child_by_field_name("operand"), function.child_by_field_name("field")
    return (
        package is not None
        and package.type == "identifier"
        and package.text is not None
        and field is not None
        and field.text in _CONTEXT_FUNCTIONS
        and types.is_context_package(package)
    )


def _context_call(call: Node) -> bool:
    """`x.Context()`: a method named Context called without arguments (a request's, a stream's)."""
    function, arguments = call.child_by_field_name("function"), call.child_by_field_name("arguments")
    if function is None or arguments is None or function.type != "selector_expression":
        return False
    field = function.child_by_field_name("field")
    return field is not None and field.text == b"Context" and not any(a.type != "comment" for a in arguments.named_children)


# One function --------------------------------------------------------------------------------


def returns_context(func: Node, types: TypeNames) -> bool:
    """Whether one of the function's results is a `context.Context`."""
    result = func.child_by_field_name("result")
    if result is None:
        return False
    if result.type != "parameter_list":
        return types.is_context(result)
    return any(types.is_context(d.child_by_field_name("type")) for d in result.named_children if d.type == "parameter_declaration")


def reads_callers_span(func: Node, ctx: str, parameter: Node, facts: FileFacts, types: TypeNames) -> bool:
    """Whether the function's body reads the span from its context parameter `ctx` (declared by
    `parameter`): a call of SpanFromContext of OpenTelemetry's trace package or a Datadog tracer,
    under a name the file imports it under, its argument that parameter."""
    body = func.child_by_field_name("body")
    if body is None:
        return False
    code = body.text or b""
    readers = {path: name for path, name in SPAN_READERS.items() if name in code}
    if not readers:
        return False
    qualified = {(package, name) for path, name in readers.items() for package in facts.imported_under.get(path, ())}
    bare = {name for path, name in readers.items() if any(s.path == path and s.name == "." for s in facts.imports)}
    for call in _calls(body):
        function, arguments = call.child_by_field_name("function"), call.child_by_field_name("arguments")
        if function is None or arguments is None:
            continue
        if function.type == "selector_expression":
            package, field = function.child_by_field_name("operand"), function.child_by_field_name("field")
            if package is None or package.type != "identifier" or field is None or (package.text, field.text) not in qualified:
                continue
            if types.declaration(package, package.text or b"") is not None:
                continue  # a local name hides the import
        elif function.type != "identifier" or function.text not in bare:
            continue
        args = [a for a in arguments.named_children if a.type != "comment"]
        argument = args[0] if len(args) == 1 and args[0].type == "identifier" and args[0].text == ctx.encode() else None
        if argument is not None and _is_parameter(types.declaration(argument, argument.text or b""), parameter, body):
            return True
    return False


def _is_parameter(declared: Node | None, parameter: Node, body: Node) -> bool:
    """Whether a use declared by `declared` is the parameter: its declaration, or a `:=` at the top
    level of the body (the parameters' block: `ctx, span := ...` assigns the parameter, Go declares
    no new `ctx` there)."""
    if declared is None:
        return False
    if _same(declared, parameter):
        return True
    block = declared.parent
    return declared.type == "short_var_declaration" and block is not None and _same(block.parent, body)


def _same(a: Node | None, b: Node | None) -> bool:
    return a is not None and b is not None and (a.start_byte, a.end_byte, a.type) == (b.start_byte, b.end_byte, b.type)


def _calls(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "call_expression":
            yield current
        stack.extend(current.named_children)


def runtime_pragma(func: Node) -> str | None:
    """The first runtime-only pragma (`//go:nosplit`, ...) among the comments right above a declaration."""
    if func.type not in ("function_declaration", "method_declaration"):
        return None
    sibling = func.prev_sibling
    while sibling is not None and sibling.type == "comment":
        found = _PRAGMA.match(syntax.raw(sibling))
        if found is not None and found.group(1).decode() in RUNTIME_PRAGMAS and syntax.raw(sibling)[found.end() :].strip() == b"":
            return f"//go:{found.group(1).decode()}"
        sibling = sibling.prev_sibling
    return None

