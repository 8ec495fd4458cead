"""What a type in a signature stands for, by Go's scopes: the predeclared `error`, `context.Context`, or neither.

A type name is resolved as the Go compiler resolves it, innermost scope
first: the blocks of the functions around it (local declarations before it,
and the parameters, results and receiver of each function whose body holds
it), the type parameters of the function whose signature holds it, the
package block (this file's top-level declarations, then the names the other
files of the package declare), the file block (imports, `.` imports
included) and the universe (`error`).

- `error` is the predeclared `error` only when no declaration in between
  shadows it: a `type error interface{ Code() int }` in the package or in
  the function is not it.
- `context.Context` is a context when `context` (whatever name the file
  imports "context" or golang.org/x/net/context under) is that import and
  not a local name; a bare `Context` is one only under `import . "context"`
  and with no local `Context` declared.
- An alias declared in this file (`type E = error`, `type Ctx =
  context.Context`, at package level or in an enclosing block) is followed to
  what it names. An alias another file of the package declares is not seen:
  only the names those files declare reach the core.
"""

from __future__ import annotations

import bisect
import functools
import re
from enum import Enum
from functools import cached_property

from tree_sitter import Node

from goinstrument.engine.go import scopes, syntax

ERROR = b"error"
# The predeclared names a package-level declaration (in any file of the package) shadows,
# changing what a file means: a package `error` type is not the predeclared one.
PREDECLARED = frozenset({ERROR.decode()})
CONTEXT = b"Context"
_FUNCTIONS = ("function_declaration", "method_declaration", "func_literal")
_DECLARATIONS = frozenset(("type_declaration", "var_declaration", "const_declaration", "short_var_declaration"))  # _declared_by reads these
_MAX_ALIASES = 16  # a chain of aliases longer than this is not followed (a cycle does not compile anyway)


class Kind(Enum):
    ERROR = "error"
    CONTEXT = "context"


class TypeNames:
    """Resolves types in one parsed file; `context_names` are the names the file imports a context package under."""

    def __init__(self, root: Node, context_names: frozenset[str], sibling_names: frozenset[str]):
        self._root = root
        self._context_packages = frozenset(n.encode() for n in context_names if n != ".")
        self._dot_context = "." in context_names
        self._siblings = frozenset(n.encode() for n in sibling_names)
        self._top_level: dict[bytes, Node | None] = {}  # name -> its package-level declaration in this file

    def is_error(self, node: Node | None) -> bool:
        return node is not None and self.kind(node) is Kind.ERROR

    def is_context(self, node: Node | None) -> bool:
        if node is not None and node.type == "type_identifier" and node.text == ERROR and ERROR not in self._aliases:
            return False  # the predeclared error or a type of the file's: a context only through an alias
        return node is not None and self.kind(node) is Kind.CONTEXT

    def is_context_package(self, name: Node) -> bool:
        """Whether the identifier `name` is the file's import of a context package (not a local name)."""
        return name.text in self._context_packages and self.declaration(name, name.text or b"") is None

    def may_be_context(self, code: bytes) -> bool:
        """Whether types spelled in `code` may include a context: only `Context` or an alias can name one."""
        return CONTEXT in code or (bool(self._aliases) and any(alias in code for alias in self._aliases))

    def kind(self, node: Node, depth: int = 0) -> Kind | None:
        """What the type `node` is, of the two kinds that matter here."""
        if node.type == "parenthesized_type" and node.named_child_count == 1:
            return self.kind(node.named_children[0], depth)
        if node.type == "qualified_type":
            package, name = node.child_by_field_name("package"), node.child_by_field_name("name")
            if package is None or name is None or name.text != CONTEXT or package.text not in self._context_packages:
                return None
            return Kind.CONTEXT if self.declaration(package, package.text) is None else None
        if node.type != "type_identifier" or node.text is None or depth > _MAX_ALIASES:
            return None
        spelled = node.text
        if spelled not in (ERROR, CONTEXT) and spelled not in self._aliases:
            return None  # neither a universe or dot-imported name nor an alias this file declares
        found = self.declaration(node, spelled)
        if found is not None:
            target = found.child_by_field_name("type") if found.type == "type_alias" else None
            return self.kind(target, depth + 1) if target is not None else None
        if spelled in self._siblings:
            return None  # declared at package level by another file of the package
        if spelled == ERROR:
            return Kind.ERROR
        return Kind.CONTEXT if spelled == CONTEXT and self._dot_context else None

    @cached_property
    def _aliases(self) -> frozenset[bytes]:
        """Every name some `type X = ...` in the file declares: only those need resolving beyond error and Context."""
        return frozenset(syntax.type_alias_names(self._root))  # from the file's index: no walk of its own

    def _package_level(self, name: bytes) -> Node | None:
        """The node declaring `name` at the top level of this file (a type spec, alias, variable,
        constant or function), or None: the first declaration whose bytes spell it is asked."""
        if name not in self._top_level:
            self._top_level[name] = self._first_declaring(name)
        return self._top_level[name]

    def _first_declaring(self, name: bytes) -> Node | None:
        """_package_level's look-up: each place the bytes spell `name` is taken to the top-level node
        holding it (a declaration of it spells it), each such node asked once, in order: not a loop
        over every top-level node of the file for each name."""
        text, base = self._text
        tops, starts, ends = self._tops
        function = _named_function(name)  # a function's: the bytes after `func` and blanks start with the name, or a comment
        at = text.find(name)
        while at >= 0:
            i = bisect.bisect_right(starts, at + base) - 1  # the last top-level node starting at or before it
            if i >= 0 and at + base + len(name) <= ends[i]:
                decl = tops[i]
                kind = decl.type  # a method, a comment, an import declare nothing here
                if (kind == "function_declaration" and function.match(text, starts[i] - base)) or kind in _DECLARATIONS:
                    found = next((node for node, declared in _declared_by(decl) if declared == name), None)
                    if found is not None:
                        return found
                at = text.find(name, ends[i] - base)  # the node is asked once
            else:
                at = text.find(name, at + 1)
        return None

    def _spells(self, name: bytes, node: Node, end: int | None = None) -> bool:
        """Whether the bytes of `node` (up to `end`) spell `name`: a declaration of it there does (a cheap test first)."""
        text, base = self._text
        return text.find(name, node.start_byte - base, (node.end_byte if end is None else end) - base) >= 0

    @cached_property
    def _tops(self) -> tuple[list[Node], list[int], list[int]]:
        """The file's top-level nodes, their starts and their ends (read once for every name asked)."""
        tops = self._root.named_children
        return tops, [decl.start_byte for decl in tops], [decl.end_byte for decl in tops]

    @cached_property
    def _text(self) -> tuple[bytes, int]:
        """The tree's bytes, and the offset they start at (the root's first token's)."""
        return self._root.text or b"", self._root.start_byte

    def declaration(self, use: Node, name: bytes) -> Node | None:
        """The node declaring `name` where `use` stands, in this file's blocks or package level, or None."""
        child, node = use, use.parent
        while node is not None:
            kind = node.type
            if kind == "source_file":
                return self._package_level(name)
            if kind in ("statement_list", "block") and self._spells(name, node, child.start_byte):
                for stmt in node.named_children:
                    if stmt.start_byte >= child.start_byte:
                        break
                    found = next((n for n, declared in _declared_by(stmt) if declared == name), None)
                    if found is not None:
                        return found
            elif kind in _FUNCTIONS:
                found = _function_scope(node, name, in_body=_same(child, node.child_by_field_name("body")))
                if found is not None:
                    return found
            elif _clause_declares(node, child, name):
                return node  # a variable of an if, for, switch or select clause: not a type
            child, node = node, node.parent
        return None


@functools.lru_cache(maxsize=16)
def _named_function(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"func[ \t\r\n]*(?:/|" + re.escape(name) + rb")")


def _same(a: Node | None, b: Node | None) -> bool:
    return a is not None and b is not None and (a.start_byte, a.end_byte, a.type) == (b.start_byte, b.end_byte, b.type)


def _declared_by(stmt: Node) -> list[tuple[Node, bytes]]:
    """(declaring node, name) for each name a declaration statement brings into its block."""
    found: list[tuple[Node, bytes]] = []
    if stmt.type == "type_declaration":
        for spec in stmt.named_children:
            name = spec.child_by_field_name("name")
            if name is not None and name.text is not None:
                found.append((spec, name.text))
    elif stmt.type in ("var_declaration", "const_declaration"):
        specs = [c for c in stmt.named_children if c.type in ("var_spec", "const_spec")]
        for group in (c for c in stmt.named_children if c.type.endswith("_spec_list")):
            specs += [c for c in group.named_children if c.type in ("var_spec", "const_spec")]
        found += [(spec, n.text) for spec in specs for n in spec.children_by_field_name("name") if n.text is not None]
    elif stmt.type == "short_var_declaration":
        left = stmt.child_by_field_name("left")
        found += [(stmt, n.text) for n in (left.named_children if left is not None else []) if n.type == "identifier" and n.text is not None]
    elif stmt.type == "function_declaration":
        name = stmt.child_by_field_name("name")
        if name is not None and name.text is not None:
            found.append((stmt, name.text))
    return found


def _clause_declares(node: Node, child: Node, name: bytes) -> bool:
    """Whether an if, switch, for or select clause around `child` declares `name` (a variable) for it."""

    def lists(left: Node | None) -> bool:
        return left is not None and any(c.text == name for c in left.named_children if c.type == "identifier")

    kind = node.type
    if kind in ("if_statement", "expression_switch_statement", "type_switch_statement", "for_clause"):
        init = node.child_by_field_name("initializer")
        if init is not None and not _same(init, child) and init.type == "short_var_declaration" and lists(init.child_by_field_name("left")):
            return True
        return kind == "type_switch_statement" and lists(node.child_by_field_name("alias"))
    if kind == "for_statement":
        for clause in node.named_children:
            defines = clause.type == "range_clause" and any(c.type == ":=" for c in clause.children)
            if defines and not _same(clause, child) and lists(clause.child_by_field_name("left")):
                return True
            if clause.type == "for_clause" and not _same(clause, child):
                init = clause.child_by_field_name("initializer")
                if init is not None and init.type == "short_var_declaration" and lists(init.child_by_field_name("left")):
                    return True
        return False
    if kind == "communication_case":
        comm = node.child_by_field_name("communication")
        return (
            comm is not None
            and comm.type == "receive_statement"
            and any(c.type == ":=" for c in comm.children)
            and lists(comm.child_by_field_name("left"))
        )
    return False


def _function_scope(func: Node, name: bytes, in_body: bool) -> Node | None:
    """The declaration of `name` a function brings: its type parameters (over its signature and body) and,
    for a use in its body, its receiver, parameters and results."""
    fields = ("type_parameters", "receiver", "parameters", "result") if in_body else ("type_parameters",)
    decl = scopes.signature_declaration(func, name, fields)
    if decl is not None:
        return decl
    receiver = func.child_by_field_name("receiver")
    if receiver is not None:  # `func (s *Stack[T]) ...` declares T for the signature and the body
        stack = list(receiver.named_children)
        while stack:
            node = stack.pop()
            if node.type == "type_arguments":
                for arg in node.named_children:
                    ident = arg.named_children[0] if arg.type == "type_elem" and arg.named_child_count == 1 else arg
                    if ident.type == "type_identifier" and ident.text == name:
                        return ident
            else:
                stack.extend(node.named_children)
    return None
