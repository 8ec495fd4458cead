"""The numbers the runtime gives package-level function literals: init.func1, init.func2, ...

cmd/compile names a function literal in a package-level variable's initializer
after the package's initialisation function, numbering them in the order the
variables are initialised (Go spec, "Package initialization"): across the
package's files in the order the compiler reads them, each time the earliest
variable in declaration order that is ready, that is, whose initializer
refers to no variable still waiting. A reference is an identifier naming a
package-level variable or function (not hidden by a local declaration); a
function referred to brings what its body refers to. Each variable of
`var a, b = x, y` is initialised on its own, `var a, b = f()` as one.

A limit: a method value or call `x.M` is a reference too in Go when x's type
is not an interface, which a source rewrite cannot tell; methods are not
followed. (Taking every method of that name instead would make `err.Error()`
in our own error block a reference, and a second run would rename spans.)

`numbers` gives, for each file, the numbers of its package-level literals in
source order; the literals inside one initializer go in source order. Checked
against runtime.FuncForPC on Go 1.26 (fixtures/gomod/initorder).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tree_sitter import Node

from goinstrument.engine.go import scopes, syntax
from goinstrument.tuples import NamedTuple


class _Init(NamedTuple):
    """One initialisation: the variables it sets, the expressions, the literals they hold."""

    file: int
    names: frozenset[str]
    values: tuple[Node, ...]
    literals: tuple[Node, ...]  # outermost function literals, in source order


def top_level_literals(root: Node) -> list[Node]:
    """The file's package-level function literals not inside another, in source order."""
    found: list[Node] = []
    for decl in root.named_children:
        if decl.type == "var_declaration":
            found += _literals(decl)
    return found


def may_name_spans(root: Node) -> bool:
    """Whether a package-level variable declaration holds a function literal and mentions a context
    or a request (a literal in it may get a span, whose name needs the package's numbering)."""
    for decl in root.named_children:
        if decl.type == "var_declaration":
            text = syntax.raw(decl)
            if (b"Context" in text or b"Request" in text) and b"func" in text and _literals(decl):
                return True
    return False


def _literals(node: Node) -> list[Node]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == "func_literal":
            found.append(current)
        else:
            stack.extend(reversed(current.children))
    return found


def _specs(decl: Node) -> list[Node]:
    specs = []
    for child in decl.named_children:
        if child.type == "var_spec":
            specs.append(child)
        elif child.type == "var_spec_list":
            specs += [c for c in child.named_children if c.type == "var_spec"]
    return specs


class Declared(NamedTuple):
    """The package's functions: their names, and their bodies, read when needed."""

    functions: frozenset[str]
    bodies: Callable[[str], list[Node]]


def numbers(files: Sequence[Node | None], declared: Declared) -> list[tuple[int, ...]]:
    """For each file (its tree, in the order the compiler reads them; None for a file with no
    package-level variable), the runtime numbers of its package-level literals in source order
    (init.funcN's N). `declared`: the package's functions."""
    inits: list[_Init] = []
    for index, root in enumerate(files):
        for decl in root.named_children if root is not None else ():
            if decl.type != "var_declaration":
                continue
            for spec in _specs(decl):
                names = [syntax.text(n) for n in spec.children_by_field_name("name")]
                value = spec.child_by_field_name("value")
                values = [v for v in value.named_children if v.type != "comment"] if value is not None else []
                if not values:
                    continue
                if len(values) == len(names) and len(names) > 1:
                    inits += [_Init(index, frozenset({n}), (v,), tuple(_literals(v))) for n, v in zip(names, values, strict=True)]
                else:
                    inits.append(_Init(index, frozenset(names), tuple(values), tuple(lit for v in values for lit in _literals(v))))
    # Only the initialisations the literals' ones wait for, directly or not, decide their order:
    # the others are ready whenever they come and hold nothing numbered.
    setting = {n: i for i, init in enumerate(inits) for n in init.names}
    refs = _References(set(setting), declared)
    deps: dict[int, set[str]] = {}
    todo = [i for i, init in enumerate(inits) if init.literals]
    while todo:
        i = todo.pop()
        if i not in deps:
            deps[i] = refs.variables_of(inits[i].values) - inits[i].names
            todo += [setting[n] for n in deps[i]]
    pending = [(inits[i], deps[i]) for i in sorted(deps)]
    done: set[str] = set()
    counter = 0
    numbered: dict[tuple[int, int], int] = {}
    while pending:
        ready = next((i for i, (_, waits) in enumerate(pending) if waits <= done), 0)  # a cycle (invalid Go): in order
        init, _ = pending.pop(ready)
        done |= init.names
        for literal in init.literals:
            counter += 1
            numbered[(init.file, literal.start_byte)] = counter
    return [tuple(numbered[(i, lit.start_byte)] for lit in top_level_literals(root)) if root is not None else () for i, root in enumerate(files)]


class _References:
    """The package-level variables an expression refers to, through the functions it refers to."""

    def __init__(self, variables: set[str], declared: Declared):
        self.variables = variables  # those with an initializer: the others wait for nothing
        self.declared = declared
        self._of_function: dict[str, tuple[set[str], set[str]]] = {}

    def variables_of(self, values: Sequence[Node]) -> set[str]:
        found: set[str] = set()
        seen: set[str] = set()
        todo = [self._direct(values)]
        while todo:
            variables, functions = todo.pop()
            found |= variables
            for name in functions - seen:
                seen.add(name)
                if name not in self._of_function:
                    self._of_function[name] = self._direct(self.declared.bodies(name))
                todo.append(self._of_function[name])
        return found

    def _direct(self, nodes: Sequence[Node]) -> tuple[set[str], set[str]]:
        """(variables, functions) the nodes name, not counting what is declared inside them."""
        variables: set[str] = set()
        functions: set[str] = set()
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if node.type == "identifier":
                name = syntax.text(node)
                if (name in self.variables or name in self.declared.functions) and not scopes.resolves_locally(node, node.text or b""):
                    (variables if name in self.variables else functions).add(name)
            elif node.type in ("short_var_declaration", "range_clause") and any(c.type == ":=" for c in node.children):
                stack.extend(c for c in node.named_children if c != node.child_by_field_name("left"))  # declared, not named
            elif node.type in ("var_spec", "const_spec"):
                stack.extend(c for c in node.named_children if c.type != "identifier")  # its names are declared here
            else:
                stack.extend(node.named_children)
        return variables, functions
