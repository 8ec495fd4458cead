"""Go scoping, just enough to know whether naming a result would change a body's meaning.

Naming an unnamed result `err` puts `err` in the function block, the same scope
as the body's top-level declarations and the enclosing scope of everything
else. That is safe only when the body neither declares `err` at its top level
(a clash, or a silent merge with `:=`) nor uses an `err` from outside the
function (which the new name would capture).
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

_DECLARING_SPECS = {"var_spec", "const_spec"}


class _Resolver:
    """Walks one body tracking a single name through Go's block scopes."""

    def __init__(self, name: bytes, code: bytes = b"", base: int = 0, returns: bool = True):
        self.name = name
        # The bytes of the code walked, from file offset `base`: a subtree that does not spell the
        # name holds no use or declaration of it, and is skipped (b"": no skipping).
        self._code = code
        self._base = base
        self._returns = returns  # whether bare returns matter (result_name_is_safe), or only uses do (reads)
        self.free_use = False
        self.top_level_declaration = False
        # A bare `return` where an inner declaration hides the name: Go rejects it
        # ("result parameter not in scope at return") once a result has that name.
        self.shadowed_bare_return = False
        self._literal_depth = 0

    # statements -------------------------------------------------------------
    def statements(self, parent: Node | None, bound: bool, top: bool = False) -> None:
        """A statement list: declarations bind the name for the statements after them."""
        if parent is None:
            return
        for stmt in parent.named_children:
            declared = self.statement(stmt, bound)
            if declared and top:
                self.top_level_declaration = True
            bound = bound or declared

    def statement(self, stmt: Node, bound: bool) -> bool:
        """Walk one statement; return whether it declares the name in the enclosing block."""
        kind = stmt.type
        if kind == "short_var_declaration":
            self.expr(stmt.child_by_field_name("right"), bound)
            return self._lists_name(stmt.child_by_field_name("left"))
        if kind in ("var_declaration", "const_declaration"):
            declared = False
            for spec in self._specs(stmt):
                self.expr(spec.child_by_field_name("type"), bound or declared)
                self.expr(spec.child_by_field_name("value"), bound or declared)
                declared = declared or any(n.text == self.name for n in spec.children_by_field_name("name"))
            return declared
        if kind == "type_declaration":
            declared = any(_type_name(spec) == self.name for spec in stmt.named_children)
            self.expr(stmt, bound or declared)
            return declared
        if kind == "labeled_statement":
            for child in stmt.named_children:
                if child.type != "label_name":
                    self.statement(child, bound)
            return False
        self.expr(stmt, bound)
        return False

    def _specs(self, decl: Node) -> Iterator[Node]:
        for child in decl.named_children:
            if child.type in _DECLARING_SPECS:
                yield child
            elif child.type.endswith("_spec_list"):
                yield from (c for c in child.named_children if c.type in _DECLARING_SPECS)

    def _lists_name(self, node: Node | None) -> bool:
        return node is not None and any(c.text == self.name for c in node.named_children if c.type == "identifier")

    # expressions and compound statements ---------------------------------------
    def expr(self, node: Node | None, bound: bool) -> None:
        if node is None or self.free_use:  # a free use settles every question asked of the walk
            return
        if bound and not self._returns:
            return  # the name is declared in here: nothing below can use the outer one
        kind = node.type
        if kind == "identifier":
            if not bound and node.text == self.name:
                self.free_use = True
            return
        if not bound and self._code and self._code.find(self.name, node.start_byte - self._base, node.end_byte - self._base) < 0:
            return  # the name is nowhere in here (and a bare return matters only under a declaration of it)
        if kind == "block":
            self.statements(_statement_list(node), bound)
            return
        if kind == "func_literal":
            inner = bound or self._declares_params(node)
            self._literal_depth += 1
            self.expr(node.child_by_field_name("body"), inner)
            self._literal_depth -= 1
            return
        if kind == "return_statement" and node.named_child_count == 0:
            if bound and self._literal_depth == 0:
                self.shadowed_bare_return = True
            return
        if kind == "if_statement":
            bound = self._initializer(node, bound)
            for field in ("condition", "consequence", "alternative"):
                self.expr(node.child_by_field_name(field), bound)
            return
        if kind == "for_statement":
            self._for(node, bound)
            return
        if kind in ("expression_switch_statement", "type_switch_statement"):
            self._switch(node, bound)
            return
        if kind == "select_statement":
            for case in node.named_children:
                self._communication_case(case, bound)
            return
        if kind == "keyed_element":
            # In a struct literal the key is a field name; in a map literal an expression.
            # We cannot tell them apart without types, so count it as a use: the safe side.
            pass
        for child in node.named_children:
            self.expr(child, bound)

    def _declares_params(self, func: Node) -> bool:
        for field in ("parameters", "result"):
            params = func.child_by_field_name(field)
            if params is None or params.type != "parameter_list":
                continue
            for decl in params.named_children:
                if any(n.text == self.name for n in decl.children_by_field_name("name")):
                    return True
        return False

    def _initializer(self, node: Node, bound: bool) -> bool:
        init = node.child_by_field_name("initializer")
        return bound or (init is not None and self.statement(init, bound))

    def _for(self, node: Node, bound: bool) -> None:
        body = node.child_by_field_name("body")
        for clause in node.named_children:
            if clause.type == "for_clause":
                bound = self._initializer(clause, bound)
                self.expr(clause.child_by_field_name("condition"), bound)
                self.expr(clause.child_by_field_name("update"), bound)
            elif clause.type == "range_clause":
                self.expr(clause.child_by_field_name("right"), bound)
                left = clause.child_by_field_name("left")
                if any(c.type == ":=" for c in clause.children):
                    bound = bound or self._lists_name(left)
                else:
                    self.expr(left, bound)
            elif clause is not body:
                self.expr(clause, bound)
        self.expr(body, bound)

    def _switch(self, node: Node, bound: bool) -> None:
        bound = self._initializer(node, bound)
        self.expr(node.child_by_field_name("value"), bound)
        alias = node.child_by_field_name("alias")
        in_case = bound or self._lists_name(alias)
        for case in node.named_children:
            if case.type in ("expression_case", "type_case", "default_case"):
                self.expr(case.child_by_field_name("value"), bound)
                self.statements(_statement_list(case), in_case)

    def _communication_case(self, case: Node, bound: bool) -> None:
        comm = case.child_by_field_name("communication")
        in_case = bound
        if comm is not None:
            if comm.type == "receive_statement" and any(c.type == ":=" for c in comm.children):
                self.expr(comm.child_by_field_name("right"), bound)
                in_case = bound or self._lists_name(comm.child_by_field_name("left"))
            else:
                self.expr(comm, bound)
        self.statements(_statement_list(case), in_case)


def _type_name(spec: Node) -> bytes | None:
    """The name a type spec declares."""
    name = spec.child_by_field_name("name")
    return name.text if name is not None else None


def _statement_list(node: Node) -> Node | None:
    for child in node.named_children:
        if child.type == "statement_list":
            return child
    return None


def result_name_is_safe(body: Node, name: bytes) -> bool:
    """Whether the function block can gain `name` without changing what the body means."""
    resolver = _Resolver(name, body.text or b"", body.start_byte)
    resolver.statements(_statement_list(body), bound=False, top=True)
    return not (resolver.free_use or resolver.top_level_declaration or resolver.shadowed_bare_return)


def reads(body: Node, name: bytes, after_first: bool = False, skip: int = 0) -> bool:
    """Whether the body uses the function's own `name` (not one declared inside it).

    With after_first, the first statement is left out: it is the span's own line,
    which reads the context it replaces. With skip, the first `skip` statements are.
    """
    stmts = _statement_list(body)
    if stmts is None:
        return False
    walked = stmts.named_children[max(skip, 1 if after_first else 0) :]
    code = body.text or b""
    if not walked or code.find(name, walked[0].start_byte - body.start_byte) < 0:
        return False  # the name is nowhere in the statements: nothing to walk
    resolver = _Resolver(name, code, body.start_byte, returns=False)
    for stmt in walked:
        if resolver.statement(stmt, bound=False) or resolver.free_use:
            break  # a use found, or redeclared at the top level: later uses are not the parameter's
    return resolver.free_use


def statement_list(body: Node) -> list[Node]:
    """The top-level statements of a block."""
    stmts = _statement_list(body)
    return list(stmts.named_children) if stmts is not None else []


def _declares(stmt: Node, name: bytes) -> bool:
    """Whether one statement declares `name` in the block it stands in."""
    if stmt.type == "short_var_declaration":
        left = stmt.child_by_field_name("left")
        return left is not None and any(c.text == name for c in left.named_children if c.type == "identifier")
    if stmt.type in ("var_declaration", "const_declaration"):
        return any(n.text == name for spec in _Resolver(name)._specs(stmt) for n in spec.children_by_field_name("name"))
    if stmt.type == "type_declaration":
        return any(_type_name(s) == name for s in stmt.named_children)
    return False


def resolves_locally(use: Node, name: bytes) -> bool:
    """Whether the identifier `use` (spelled `name`) refers to a declaration inside its
    function rather than to something at file level, such as an imported package."""
    child, node = use, use.parent
    while node is not None and node.type != "source_file":
        kind = node.type
        if kind in ("statement_list", "block"):
            for stmt in node.named_children:
                if stmt.start_byte >= child.start_byte:
                    break
                if _declares(stmt, name):
                    return True
        elif kind in ("if_statement", "expression_switch_statement", "type_switch_statement", "for_clause"):
            init = node.child_by_field_name("initializer")
            if init is not None and init is not child and _declares(init, name):
                return True
            alias = node.child_by_field_name("alias")
            if alias is not None and any(c.text == name for c in alias.named_children):
                return True
        elif kind == "for_statement":
            for clause in node.named_children:
                if clause.type == "range_clause" and any(c.type == ":=" for c in clause.children):
                    left = clause.child_by_field_name("left")
                    if left is not None and any(c.text == name for c in left.named_children):
                        return True
                if clause.type == "for_clause" and clause is not child:
                    init = clause.child_by_field_name("initializer")
                    if init is not None and _declares(init, name):
                        return True
        elif kind == "communication_case":
            comm = node.child_by_field_name("communication")
            if comm is not None and comm.type == "receive_statement" and any(c.type == ":=" for c in comm.children):
                left = comm.child_by_field_name("left")
                if left is not None and any(c.text == name for c in left.named_children):
                    return True
        elif kind in ("func_literal", "function_declaration", "method_declaration") and signature_declaration(node, name, SIGNATURE) is not None:
            return True
        child, node = node, node.parent
    return False


SIGNATURE = ("receiver", "parameters", "result", "type_parameters")  # the lists a signature declares names in


def signature_declaration(func: Node, name: bytes, fields: tuple[str, ...]) -> Node | None:
    """The declaration of `name` among the lists `fields` of a function's signature (receiver,
    parameters, result, type_parameters), or None."""
    for field in fields:
        params = func.child_by_field_name(field)
        if params is None:
            continue
        for decl in params.named_children:
            if any(n.text == name for n in decl.children_by_field_name("name")):
                return decl
    return None
