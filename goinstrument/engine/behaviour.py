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

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from tree_sitter import Node, QueryCursor

from goinstrument.engine.facts import FileFacts
from goinstrument.engine.go import syntax
from goinstrument.engine.go.typenames import TypeNames
from goinstrument.engine.result import Position

OTEL_TRACE = "go.opentelemetry.io/otel/trace"
DATADOG_TRACERS = ("github.com/DataDog/dd-trace-go/v2/ddtrace/tracer", "gopkg.in/DataDog/dd-trace-go.v1/ddtrace/tracer")
SPAN_READERS = {OTEL_TRACE: b"SpanFromContext", **{path: b"SpanFromContext" for path in DATADOG_TRACERS}}

# Pragmas under which a function must not call into a tracer (what cmd/compile and the runtime allow there).
RUNTIME_PRAGMAS = ("nosplit", "norace", "systemstack", "nowritebarrier", "nowritebarrierrec", "yeswritebarrierrec")
_PRAGMA = re.compile(rb"//go:(\w+)")

_CONTEXT_FUNCTIONS = (b"Background", b"TODO", b"WithValue", b"WithoutCancel")  # of package context, one result: a context

# Text prefilter --------------------------------------------------------------------------

# Each part of the prefilter finds a literal first (re's fast search), then looks at its line only.
_CONTEXT_TYPE = re.compile(rb"\.(?:Context|Background|TODO)\b")  # `context.Context`, `r.Context()`, `context.Background()`
_SEGMENT_ENDS = (b"(", b"[", b"{", b";")  # a declaration or assignment is the line's text after the last of these
_ALIAS_TAIL = re.compile(rb"(\w+)\s*=\s*\w+\s*\Z")  # `type Ctx = context` before `.Context`
_COMPARISON = re.compile(rb"[=!]=")
# The operands next to a comparison, as far as the text shows them: `a.b.c`, maybe called without
# arguments (`r.Context()`), closing parentheses after a left one skipped: `f(a) == b`, `(a) == b`.
_LEFT_OPERAND = re.compile(rb"([\w.]+)(\(\))?\)*\s*\Z")
_RIGHT_OPERAND = re.compile(rb"\s*\(*([\w.]+)(\(\))?")
_DECLARES = re.compile(rb"\s*(?:var\s+)?(\w+(?:\s*,\s*\w+)*)\s+\w+")  # `a, b context` before `.Context`
_ASSIGNS = re.compile(rb"\s*(?:var\s+)?(\w+)\s*:?=\s*[\w.]*")  # `x := r` before `.Context()`
_KEYWORDS = frozenset(
    {b"var", b"const", b"type", b"func", b"return", b"if", b"for", b"range", b"go", b"defer", b"case", b"struct", b"interface", b"map", b"chan"}
)
_WORD = re.compile(rb"\w+")


def _line(data: bytes, at: int) -> tuple[int, int]:
    """The start and end offsets of the line holding offset `at`."""
    end = data.find(b"\n", at)
    return data.rfind(b"\n", 0, at) + 1, len(data) if end < 0 else end


def _words_before(data: bytes, at: int, end: int) -> list[bytes]:
    """The names a declaration `a, b context.Context` or `var x context.Context`, or an assignment
    `x := r.Context()`, gives on the line of `at`, where `.Context` (or an alias) stands, to
    `end`, where it ends: the words after the line's last bracket or semicolon."""
    segment = data[_line(data, at)[0] : at]
    segment = segment[max(segment.rfind(bracket) for bracket in _SEGMENT_ENDS) + 1 :]
    after = data[end : end + 3]
    if after[:1] != b"(":  # a type: `a, b context.Context`
        declared = _DECLARES.fullmatch(segment)
    elif after[:2] == b"()" and after[2:3] not in (b".", b"("):  # a value: `x := r.Context()`
        declared = _ASSIGNS.fullmatch(segment)
    else:
        return []
    return [w for w in _WORD.findall(declared.group(1)) if w not in _KEYWORDS] if declared is not None else []


def _candidate_names(sources: Iterable[bytes]) -> frozenset[bytes]:
    """Every name some file of the package may declare a context (more than there are: a prefilter)."""
    return frozenset().union(*(_file_candidate_names(data) for data in sources))


def _file_candidate_names(data: bytes) -> frozenset[bytes]:
    """_candidate_names of one file (a package's are the union of its files')."""
    if b".Context" not in data and b"context." not in data:
        return frozenset()
    names: set[bytes] = set()
    aliases: set[bytes] = set()
    for match in _CONTEXT_TYPE.finditer(data):
        names.update(_words_before(data, match.start(), match.end()))
        before = data[_line(data, match.start())[0] : match.start()]
        alias = _ALIAS_TAIL.search(before) if b"=" in before else None
        if alias is not None:
            aliases.add(alias.group(1))
    for word in aliases:  # `type Ctx = context.Context`: `a, b Ctx`
        # The word found first, then its ends looked at (`\bword\b` made re try every byte).
        for use in re.finditer(re.escape(word) + rb"(?<!\w" + re.escape(word) + rb")(?!\w)", data):
            names.update(_words_before(data, use.end(), use.end()))  # the alias stands where `context` would
    return frozenset(names)


def _may_compare(data: bytes, names: frozenset[bytes]) -> bool:
    """Whether the file may compare a context: an operand of a `==`/`!=` (not nil) is a `.Context()`
    call, or a name or selector whose last name is one of `names`."""
    if not any(literal in data and _gate(gate).search(data) for literal, gate in _gates(names)):
        return False  # no comparison of the file passes the line test: not worth a loop over all of them
    return _line_test(data, names)


def _line_test(data: bytes, names: frozenset[bytes]) -> bool:
    """_may_compare, each comparison and its line looked at."""
    for match in _COMPARISON.finditer(data):
        start, end = _line(data, match.start())
        left, right = _LEFT_OPERAND.search(data, start, match.start()), _RIGHT_OPERAND.match(data, match.end(), end)
        if any(operand is not None and operand.group(0).strip(b" \t()") == b"nil" for operand in (left, right)):
            continue
        if any(operand is not None and _may_be_context(operand, names) for operand in (left, right)):
            return True
    return False


# `[ \t]*\(*nil` after the operator: the right operand is nil (the line test skips that comparison).
_RIGHT_NIL = rb"(?![ \t]*\(*nil(?![\w.]))"


@lru_cache(maxsize=64)
def _gates(names: frozenset[bytes]) -> tuple[tuple[bytes, bytes], ...]:
    """Patterns that find, in one pass over the bytes each, every comparison the line test of
    _may_compare may pass, and more (none of them looks at a line, or at a left operand nil):
    a left operand `name` or `x.Context()` before the operator, the right not nil; or after the
    operator, a right operand whose words hold `name` or `Context`. Each starts with a literal,
    which re searches for fast (and a bytes test for the literal, faster, spares the search where
    it is absent): a file with none of them is rejected without a loop in Python. Each is compiled
    where first searched (_gate): a name of the package's that the files scanned never spell
    (most of them are scanned once, their answers kept) costs no compile."""
    gates = [(name, re.escape(name) + rb"(?<!\w" + re.escape(name) + rb")\)*\s*[=!]=" + _RIGHT_NIL) for name in sorted(names)]
    gates.append((b".Context()", rb"\.Context\(\)\)*\s*[=!]=" + _RIGHT_NIL))
    words = b"|".join(re.escape(word) for word in sorted(names | {b"Context"}, key=lambda w: (-len(w), w)))
    gates += [(operator, operator + rb"\s*\(*[\w.]*\b(?:" + words + rb")\b") for operator in (b"==", b"!=")]
    return tuple(gates)


def _gate(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern)  # re's cache keeps it


# The names most packages may declare a context: `ctx`, `_` (a parameter left unnamed), none.
USUAL_NAMES: tuple[frozenset[bytes], ...] = (frozenset({b"ctx"}), frozenset({b"_", b"ctx"}), frozenset())


def warm() -> None:
    """The gates of the usual names compiled ahead of any file (a server's children inherit them)."""
    for names in USUAL_NAMES:
        for _, gate in _gates(names):
            _gate(gate)


def _may_be_context(operand: re.Match[bytes], names: frozenset[bytes]) -> bool:
    words, call = operand.group(1), operand.group(2)
    if call:
        return words.endswith(b".Context")
    return words.rsplit(b".", 1)[-1] in names


# Contexts compared by identity --------------------------------------------------------------

_COMPARISONS = '(binary_expression operator: ["==" "!="]) @comparison'
_FIELDS = "(field_declaration type: (_) @type) @field"


def first_comparison(sources: Iterable[tuple[str, bytes]]) -> tuple[str, Position] | None:
    """(file name, position) of the first `==`/`!=` comparing contexts in the package's files, by
    file name then source order; None when none does. `sources`: (name, bytes) of each .go file of
    the package's directory, its test files of both packages included (they compare contexts too:
    a test that a context is passed on). Names starting with `.` or `_` are not Go's and are left out."""
    return package_comparison([ComparisonFacts(name, data) for name, data in sources])


def package_comparison(files: Iterable[ComparisonFacts]) -> tuple[str, Position] | None:
    """first_comparison over what each file tells (ComparisonFacts: worked out from its bytes, or
    kept from an earlier run): the package's candidate names, then, in the files that may compare
    one of them, their comparisons in order, the first whose operand is a context."""
    chosen = sorted((f for f in files if f.name[:1] not in ("", ".", "_") and f.name.endswith(".go")), key=lambda f: f.name)
    names = frozenset().union(*(f.candidates() for f in chosen))
    trees = _Trees()
    known: dict[bytes, bool] = {}

    def context_field(name: bytes) -> bool:
        """Whether a struct of the package declares a field `name` context.Context."""
        if name not in known:
            known[name] = name in names and any(f.declares_context_field(name, trees) for f in chosen)
        return known[name]

    for file in chosen:
        if not file.may_compare(names):
            continue
        for line, col, local, fields in file.comparisons(trees):
            if local or any(context_field(field) for field in fields):
                return file.name, Position(line, col)
    return None


_Comparison = tuple[int, int, bool, tuple[bytes, ...]]


class ComparisonFacts:
    """What one file tells package_comparison, each part worked out from its bytes when first asked
    and kept in `record`, made of JSON's values (a cache keeps it across runs, beside the file's
    stamp): `c` the names it may declare a context, `h` its comparisons up to the
    first of a context (file-local), `f` whether it declares a field context.Context, by name, `m`
    whether it may compare one of the package's candidate names, by those names.
    `data`: the file's bytes, or a function that reads them (called only when a part is missing).
    `added`: whether a part was worked out and added to `record` (it has something new to keep)."""

    def __init__(self, name: str, data: bytes | Callable[[], bytes], record: dict[str, Any] | None = None):
        self.name = name
        self._data = data
        self.record: dict[str, Any] = {} if record is None else record
        self.added = False

    def data(self) -> bytes:
        if callable(self._data):
            self._data = self._data()
        return self._data

    def candidates(self) -> frozenset[bytes]:
        if "c" not in self.record:
            self.record["c"] = sorted(_text(n) for n in _file_candidate_names(self.data()))
            self.added = True
        return frozenset(_bytes(n) for n in self.record["c"]) if self.record["c"] else frozenset()

    def may_compare(self, names: frozenset[bytes]) -> bool:
        """_may_compare of the file, kept with the package's names it was worked out for (they
        change only when a file changes the names it may declare a context)."""
        known = self.record.setdefault("m", {})
        key = _names_key(names)
        if key not in known:
            known[key] = _may_compare(self.data(), names)
            self.added = True
        return bool(known[key])

    def comparisons(self, trees: _Trees) -> list[_Comparison]:
        """(line, column, whether an operand is a context, the fields a selector operand names) of
        each comparison of two operands neither nil, in source order, that is of a context or
        may be (a selector's field: if a struct of the package declares it context.Context), up to
        the first that is."""
        if "h" not in self.record:
            self.record["h"] = [[line, col, local, [_text(f) for f in fields]] for line, col, local, fields in self._comparisons(trees)]
            self.added = True
        return [(line, col, local, tuple(_bytes(f) for f in fields)) for line, col, local, fields in self.record["h"]]

    def _comparisons(self, trees: _Trees) -> Iterator[_Comparison]:
        data = self.data()
        root, types = trees.of(self.name, data)
        for comparison in _captured_in_order(root, len(data), _COMPARISONS, "comparison"):
            left, right = comparison.child_by_field_name("left"), comparison.child_by_field_name("right")
            operands = [_unparenthesized(n) for n in (left, right) if n is not None]
            if len(operands) != 2 or any(n.type == "nil" for n in operands):
                continue
            local = any(n.type != "selector_expression" and _is_context(n, types) for n in operands)
            fields = tuple(f.text for f in map(_selected_field, operands) if f is not None and f.text is not None)
            if local or fields:
                position = syntax.position(comparison)
                yield position.line, position.col, local, fields
            if local:
                return

    def declares_context_field(self, name: bytes, trees: _Trees) -> bool:
        """Whether a struct of the file declares a field `name` context.Context (the file parsed
        only when a line of it may declare the name)."""
        fields = self.record.setdefault("f", {})
        key = _text(name)
        if key not in fields:
            data = self.data()
            line = re.compile(rb"(?:^|[{;])[ \t]*(?:\w+[ \t]*,[ \t]*)*" + re.escape(name) + rb"(?:[ \t]*,[ \t]*\w+)*[ \t]+\w", re.MULTILINE)
            fields[key] = name in data and line.search(data) is not None and self._declares(name, trees)
            self.added = True
        return bool(fields[key])

    def _declares(self, name: bytes, trees: _Trees) -> bool:
        root, types = trees.of(self.name, self.data())
        for field in _captured(root, _FIELDS, "field"):
            if any(n.text == name for n in field.children_by_field_name("name")) and types.is_context(field.child_by_field_name("type")):
                return True
        return False


@lru_cache(maxsize=16)
def _names_key(names: frozenset[bytes]) -> str:
    """The key of ComparisonFacts.may_compare's answers for `names` (the same for every file of a package)."""
    return " ".join(sorted(_text(n) for n in names))  # names are words: no space in them


def _text(name: bytes) -> str:
    return name.decode("latin-1")  # any bytes, and back (_bytes): a record holds JSON's strings


def _bytes(name: str) -> bytes:
    return name.encode("latin-1")


def _selected_field(operand: Node) -> Node | None:
    return operand.child_by_field_name("field") if operand.type == "selector_expression" else None


class _Trees:
    """The package's files parsed so far, each once, with their type names."""

    def __init__(self) -> None:
        self._trees: dict[str, tuple[Node, TypeNames]] = {}

    def of(self, file: str, data: bytes) -> tuple[Node, TypeNames]:
        if file not in self._trees:
            root = syntax.parse(data, keep=False).root_node
            self._trees[file] = (root, TypeNames(root, FileFacts.read(data, root).context_names, frozenset()))
        return self._trees[file]


def _captured(root: Node, source: str, name: str) -> list[Node]:
    nodes = QueryCursor(syntax.query(source)).captures(root).get(name, [])
    return sorted(nodes, key=lambda n: n.start_byte)


_CHUNK = 1 << 15  # bytes queried at a time


def _captured_in_order(root: Node, size: int, source: str, name: str) -> Iterator[Node]:
    """_captured's nodes, in the same order, queried a range of bytes at a time: a search that
    stops at the first it needs queries only the part of the file it reads (the first comparison
    of a 400 KB file is often in its first tens of KB). A node is given by the range it starts in."""
    cursor = QueryCursor(syntax.query(source))
    for start in range(0, max(size, root.end_byte), _CHUNK):
        cursor.set_byte_range(start, start + _CHUNK)
        nodes = cursor.captures(root).get(name, [])
        yield from sorted((n for n in nodes if start <= n.start_byte < start + _CHUNK), key=lambda n: n.start_byte)


def _unparenthesized(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _is_context(operand: Node, types: TypeNames) -> bool:
    """Whether the operand, not a selector (whose field may be declared in another file), is a context."""
    if operand.type == "call_expression":
        return _context_call(operand)
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
