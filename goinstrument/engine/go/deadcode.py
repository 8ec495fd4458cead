"""The code cmd/compile drops before it numbers function literals.

The Go compiler names a function literal after the literals before it in the
same function (`F.func1`, `F.func2`, ...), counting only the literals that
reach its intermediate representation. Its unified-IR writer
($GOROOT/src/cmd/compile/internal/noder/writer.go) leaves some code out:

- `if`: a branch whose condition is constant (`staticBool`) is not written:
  `if debug {…}` with `const debug = false` loses its body, `if true {…} else
  {…}` its else branch. `staticBool` also simplifies the condition: in
  `X && Y` with X constant false, and `X || Y` with X constant true, Y is
  dropped; in `X && Y` (`X || Y`) where Y alone is constant false (true), the
  whole condition counts as that constant. `!X` takes X's answer as it is
  (the writer does so; a parenthesised X is never simplified).
- `for` with a constant-false condition loses its body and its post statement.
- `switch` whose tag is constant (no tag is `true`) and whose case
  expressions are all constant keeps only the clause it always takes (the
  `default`, when no case matches), unless that clause ends in `fallthrough`;
  with no such clause it keeps none.
- In a statement list, everything after a terminating statement (`return`,
  `goto`, a call of the builtin `panic`, an `if` whose taken branches all
  terminate, a block ending in one) and after the list's last label.

The constants this module can see are the ones the file itself gives: the
literals `true`, `false`, integers and strings without escapes, and names
declared by `const` in this file (at package level or in a function) with one
value, never declared otherwise in the file, combined with `!`, `&&`, `||`,
comparisons, and integer `+ - *` and string `+`. A constant declared in
another file of the package or imported (`runtime.GOOS`, `iota`, typed
conversions such as `Flag(false)`) is not known: that code is taken as kept.
"""

from __future__ import annotations

import bisect
import sys
from functools import cached_property

from tree_sitter import Node, QueryCursor

from goinstrument.engine.go import syntax

Value = bool | int | str

# Names declared by anything but `const`: such a name may be a variable, so it is never taken as a constant.
_NON_CONSTANT = """
(parameter_declaration name: (identifier) @n)
(variadic_parameter_declaration name: (identifier) @n)
(short_var_declaration left: (expression_list (identifier) @n))
(var_spec name: (identifier) @n)
(range_clause left: (expression_list (identifier) @n))
(receive_statement left: (expression_list (identifier) @n))
(type_parameter_declaration name: (identifier) @n)
(type_switch_statement alias: (expression_list (identifier) @n))
(type_spec name: (type_identifier) @n)
(type_alias name: (type_identifier) @n)
(function_declaration name: (identifier) @n)
(import_spec name: (package_identifier) @n)
"""
_CONST_SPECS = "(const_spec) @c"  # both compiled when first used: a file with no literal that may get a span never is
_UNKNOWN = object()
_SPEC_TYPES = ("const_spec", "var_spec", "type_spec", "type_alias", "import_spec")


def dropped_ranges(root: Node, functions: list[Node]) -> list[tuple[int, int]]:
    """The byte ranges [start, end) of the file's code that cmd/compile leaves out, sorted and
    disjoint, as far as they matter for naming spans: `functions` is syntax.functions(root),
    and only outermost functions holding a literal whose parameters mention `Context` (one
    that may get a span) are looked at, and in them only code holding a literal."""
    literal_nodes = [n for n in functions if n.type == "func_literal"]
    literals = [n.start_byte for n in literal_nodes]
    spanned = [n.start_byte for n in literal_nodes if b"Context" in syntax.raw(n.child_by_field_name("parameters"))]
    if not spanned:
        return []
    package = _PackageNames(root)
    walker = _Walker(_Constants(package, root), literals)
    outer_end, active = -1, False
    for function in functions:
        body = function.child_by_field_name("body")
        if function.start_byte >= outer_end:  # an outermost function: its own local names
            outer_end = function.end_byte
            i = bisect.bisect_left(spanned, function.start_byte)
            active = i < len(spanned) and spanned[i] < function.end_byte
            walker.constants = _Constants(package, function)
        if active and body is not None and walker.holds_literal(body):
            walker.block(body)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(walker.dropped):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def holds(ranges: list[tuple[int, int]], offset: int) -> bool:
    """Whether one of the sorted, disjoint `ranges` holds the byte at `offset`."""
    i = bisect.bisect_right(ranges, (offset, sys.maxsize)) - 1
    return i >= 0 and ranges[i][0] <= offset < ranges[i][1]


def _const_entries(specs: list[Node], declared: dict[bytes, object]) -> None:
    """Record each const spec's names with their value expressions; a name declared twice is unknown."""
    for spec in specs:
        names = [n for n in spec.children_by_field_name("name") if n.type == "identifier"]  # not the commas
        value = spec.child_by_field_name("value")
        values = value.named_children if value is not None else []
        for i, name in enumerate(names):
            key = syntax.raw(name)
            # Implicit repetition (no values) is not evaluated; a second declaration needs scoping: unknown.
            declared[key] = _UNKNOWN if key in declared or len(values) != len(names) else values[i]


class _PackageNames:
    """The file's top-level declarations: constants, and every other name (which may be a variable)."""

    def __init__(self, root: Node):
        self.root = root

    @cached_property
    def _specs(self) -> list[Node]:
        found = []
        for decl in self.root.named_children:
            if decl.type == "function_declaration":
                found.append(decl)
                continue
            for child in decl.named_children:
                found += [c for c in child.named_children if c.type in _SPEC_TYPES] if child.type.endswith("_list") else []
                found += [child] if child.type in _SPEC_TYPES else []
        return found

    @cached_property
    def constants(self) -> dict[bytes, object]:
        declared: dict[bytes, object] = {}
        _const_entries([s for s in self._specs if s.type == "const_spec"], declared)
        return declared

    @cached_property
    def others(self) -> set[bytes]:
        names = set()
        for spec in self._specs:
            if spec.type != "const_spec":
                names |= {syntax.raw(n) for n in spec.children_by_field_name("name") if n.is_named}
        return names


class _Constants:
    """The constant values the file gives for names used in one outermost function (or at package level)."""

    def __init__(self, package: _PackageNames, scope: Node):
        self.package = package
        self.scope = scope  # the outermost function: its own declarations join the package's
        self._resolving: set[bytes] = set()

    def _captures(self, query: str) -> list[Node]:
        if self.scope.type == "source_file":
            return []
        cursor = QueryCursor(syntax.query(query))
        cursor.set_byte_range(self.scope.start_byte, self.scope.end_byte)
        return [n for nodes in cursor.captures(self.scope).values() for n in nodes]

    @cached_property
    def shadowed(self) -> set[bytes]:
        return self.package.others | {syntax.raw(n) for n in self._captures(_NON_CONSTANT)}

    @cached_property
    def declared(self) -> dict[bytes, object]:
        """Name -> its value expression node, or _UNKNOWN."""
        declared = dict(self.package.constants)
        _const_entries(self._captures(_CONST_SPECS), declared)
        return declared

    def of(self, node: Node | None) -> Value | None:
        """The constant value of an expression, or None when this file does not say."""
        if node is None:
            return None
        kind = node.type
        if kind in ("true", "false"):
            return None if node.type.encode() in self.shadowed or node.type.encode() in self.declared else kind == "true"
        if kind == "int_literal":
            return _int(syntax.raw(node))
        if kind == "interpreted_string_literal":
            if any(c.type == "escape_sequence" for c in node.named_children):
                return None
            return syntax.raw(node)[1:-1].decode("utf-8", "replace")
        if kind == "raw_string_literal":
            return syntax.raw(node)[1:-1].replace(b"\r", b"").decode("utf-8", "replace")
        if kind == "parenthesized_expression":
            return self.of(node.named_children[0]) if len(node.named_children) == 1 else None
        if kind == "identifier":
            return self._named(syntax.raw(node))
        if kind == "unary_expression":
            return _unary(_operator(node), self.of(node.child_by_field_name("operand")))
        if kind == "binary_expression":
            left = self.of(node.child_by_field_name("left"))
            right = self.of(node.child_by_field_name("right")) if left is not None else None
            return _binary(_operator(node), left, right)
        return None

    @cached_property
    def _local_constants(self) -> bool:
        return self.scope.type != "source_file" and b"const" in syntax.raw(self.scope)

    def _named(self, name: bytes) -> Value | None:
        if name not in self.package.constants and not self._local_constants:
            return None  # no declaration could make it a constant: spare the queries
        expr = self.declared.get(name)
        if not isinstance(expr, Node) or name in self.shadowed or name in self._resolving:
            return None
        self._resolving.add(name)
        try:
            return self.of(expr)
        finally:
            self._resolving.discard(name)


def _int(text: bytes) -> int | None:
    digits = text.replace(b"_", b"").decode()
    try:
        if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
            return int(digits, 8)  # legacy octal
        return int(digits, 0)
    except ValueError:
        return None


def _operator(node: Node) -> bytes:
    op = node.child_by_field_name("operator")
    return syntax.raw(op)


def _unary(op: bytes, x: Value | None) -> Value | None:
    if op == b"!" and isinstance(x, bool):
        return not x
    if isinstance(x, int) and not isinstance(x, bool):
        return {b"-": -x, b"+": x}.get(op)
    return None


def _binary(op: bytes, x: Value | None, y: Value | None) -> Value | None:
    if x is None or y is None or type(x) is not type(y):
        return None
    if isinstance(x, bool):
        assert isinstance(y, bool)
        return {b"&&": x and y, b"||": x or y, b"==": x == y, b"!=": x != y}.get(op)
    if op in (b"==", b"!="):
        return (x == y) == (op == b"==")
    if isinstance(x, int) and isinstance(y, int):
        return {b"<": x < y, b"<=": x <= y, b">": x > y, b">=": x >= y, b"+": x + y, b"-": x - y, b"*": x * y}.get(op)
    if isinstance(x, str) and isinstance(y, str):
        strings: dict[bytes, Value] = {b"<": x < y, b"<=": x <= y, b">": x > y, b">=": x >= y, b"+": x + y}
        return strings.get(op)
    return None


class _Walker:
    """Follows the writer's statement walk, collecting what it leaves out."""

    __slots__ = ("constants", "dropped", "literals")

    def __init__(self, constants: _Constants, literals: list[int]) -> None:
        self.constants = constants
        self.literals = literals  # where the file's function literals start, sorted
        self.dropped: list[tuple[int, int]] = []

    def holds_literal(self, node: Node) -> bool:
        i = bisect.bisect_left(self.literals, node.start_byte)
        return i < len(self.literals) and self.literals[i] < node.end_byte

    def drop(self, node: Node | None) -> None:
        if node is not None:
            self.dropped.append((node.start_byte, node.end_byte))

    def static_bool(self, cond: Node | None) -> int:
        """writer.go's staticBool: +1 always true, -1 always false, 0 unknown; drops what it simplifies away."""
        if cond is None:
            return 0
        value = self.constants.of(cond)
        if isinstance(value, bool):
            return 1 if value else -1
        if cond.type == "unary_expression" and _operator(cond) == b"!":
            return self.static_bool(cond.child_by_field_name("operand"))  # as the writer does: not negated
        if cond.type == "binary_expression" and _operator(cond) in (b"&&", b"||"):
            short = -1 if _operator(cond) == b"&&" else 1  # the value of X that decides the whole
            x = self.static_bool(cond.child_by_field_name("left"))
            if x == short:
                self.drop(cond.child_by_field_name("right"))
                return x
            y = self.static_bool(cond.child_by_field_name("right"))
            if x == -short or y == short:
                return y
        return 0

    # statements -------------------------------------------------------------------------
    def block(self, block: Node) -> None:
        self.statements(_statements(block))

    def statements(self, items: list[Node]) -> None:
        if not items or self.literals[-1] < items[0].start_byte:
            return
        last_label = max((i for i, s in enumerate(items) if s.type == "labeled_statement"), default=-1)
        dead = False
        for i, stmt in enumerate(items):
            if self.literals[-1] < stmt.start_byte:
                return  # no literal from here on: nothing dropped below matters
            if dead and i > last_label:
                self.drop(stmt)
                continue
            if self.holds_literal(stmt):
                self.statement(stmt)
            dead = self.terminates(stmt)

    def statement(self, stmt: Node) -> None:
        kind = stmt.type
        if kind == "if_statement":
            cond = self.static_bool(stmt.child_by_field_name("condition"))
            then, other = stmt.child_by_field_name("consequence"), stmt.child_by_field_name("alternative")
            if cond >= 0 and then is not None:
                self.block(then)
            else:
                self.drop(then)
            if cond <= 0 and other is not None:
                self.statement(other)
            else:
                self.drop(other)
        elif kind == "for_statement":
            self.for_statement(stmt)
        elif kind == "expression_switch_statement":
            self.switch_statement(stmt)
        elif kind in ("type_switch_statement", "select_statement"):
            for clause in stmt.named_children:
                if clause.type in ("type_case", "default_case", "communication_case"):
                    self.statements(_statements(clause))
        elif kind == "labeled_statement":
            inner = [c for c in stmt.named_children if c.type != "label_name"]
            if inner:
                self.statement(inner[0])
        elif kind == "block":
            self.block(stmt)

    def for_statement(self, stmt: Node) -> None:
        body = stmt.child_by_field_name("body")
        clause = next((c for c in stmt.named_children if c is not body), None)
        if clause is not None and clause.type == "for_clause":
            cond, update = clause.child_by_field_name("condition"), clause.child_by_field_name("update")
        elif clause is not None and clause.type != "range_clause":
            cond, update = clause, None
        else:
            cond, update = None, None
        if cond is not None and self.static_bool(cond) < 0:
            self.drop(update)
            self.drop(body)
        elif body is not None:
            self.block(body)

    def switch_statement(self, stmt: Node) -> None:
        clauses = [c for c in stmt.named_children if c.type in ("expression_case", "default_case")]
        kept = self.taken_clause(stmt, clauses)
        for clause in clauses:
            if kept is None or clause is kept:
                self.statements(_statements(clause))
            elif kept is not None:
                self.drop(clause)

    def taken_clause(self, stmt: Node, clauses: list[Node]) -> Node | None:
        """The one clause a constant switch keeps; the switch node itself when it keeps none; None: all kept."""
        tag_node = stmt.child_by_field_name("value")
        tag = self.constants.of(tag_node) if tag_node is not None else True
        if tag is None:
            return None
        target = None
        for clause in clauses:
            if clause.type == "default_case":
                target = clause
                continue
            values = clause.child_by_field_name("value")
            for case in values.named_children if values is not None else []:
                value = self.constants.of(case)
                if value is None:
                    return None  # a case that is not constant: the writer gives up
                if type(value) is type(tag) and value == tag:
                    target = clause
                    break
            else:
                continue
            break
        if target is None:
            return stmt
        last = _last_statement(_statements(target))
        while last is not None and last.type == "labeled_statement":
            last = _last_statement([c for c in last.named_children if c.type != "label_name"])
        return None if last is not None and last.type == "fallthrough_statement" else target

    def terminates(self, stmt: Node | None) -> bool:
        """writer.go's terminates: whether stmt ends normal control flow, as the writer judges it."""
        if stmt is None:
            return False
        kind = stmt.type
        if kind in ("goto_statement", "return_statement"):
            return True
        if kind == "expression_statement":
            call = _unparen(stmt.named_children[0]) if stmt.named_children else None
            if call is not None and call.type == "call_expression":
                fun = _unparen(call.child_by_field_name("function"))
                return fun is not None and fun.type == "identifier" and fun.text == b"panic" and b"panic" not in self.constants.shadowed
            return False
        if kind == "if_statement":
            cond = self.static_bool(stmt.child_by_field_name("condition"))
            then, other = stmt.child_by_field_name("consequence"), stmt.child_by_field_name("alternative")
            return (cond < 0 or self.terminates(then)) and (cond > 0 or self.terminates(other))
        if kind == "block":
            return self.terminates(_last_statement(_statements(stmt)))
        return False


def _statements(node: Node) -> list[Node]:
    """The statements of a block or a case clause, comments left out."""
    items: list[Node] = []
    for child in node.named_children:
        if child.type == "statement_list":
            items.extend(c for c in child.named_children if c.type != "comment")
    return items


def _last_statement(items: list[Node]) -> Node | None:
    for stmt in reversed(items):
        if stmt.type != "empty_statement":
            return stmt
    return None


def _unparen(node: Node | None) -> Node | None:
    while node is not None and node.type == "parenthesized_expression" and len(node.named_children) == 1:
        node = node.named_children[0]
    return node
