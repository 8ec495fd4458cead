"""The pure rewrite: Go source bytes and settings in, new bytes and findings out.

Plan, then patch: the file's facts are read once (`facts.py`), each function
that takes a context gets an immutable plan (`plan.py`: a span to add, or one
of ours to bring up to date), and once the imports to add are known every
plan is rendered into byte edits against the original source, applied once.
Line endings, a BOM, comments and everything outside the insertion points stay
as they were. Nothing here touches the disk or loads anything: the backend
and the names the package's other files declare come in `FileInfo`.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence

from tree_sitter import Node

from goinstrument.backends.protocol import ERRORS, Attribute, Backend, Names, go_string
from goinstrument.engine import behaviour, errorblock, handlers, remove, rerender, rules, shape
from goinstrument.engine.align import realign
from goinstrument.engine.attributes import CODE_FILE, CODE_FUNCTION, CODE_LINE, code_location, from_parameters
from goinstrument.engine.directives import PREFIX, DirectiveError, Directives, doc_comment_rows, read_directives
from goinstrument.engine.edits import DisjointRanges, Edit, apply, insert
from goinstrument.engine.facts import FileFacts, ImportNames, TakenNames, fresh
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.go import deadcode, initorder, rangefunc, runtimenames, scopes, syntax, tolerance
from goinstrument.engine.go.linedirectives import apply_with_directives, numbering
from goinstrument.engine.go.typenames import TypeNames
from goinstrument.engine.imports import default_package_name, plan_additions, rename_imports
from goinstrument.engine.options import RewriteOptions, split_sentinel
from goinstrument.engine.plan import AddSpan, Insertion, Lines, Plan, Rendering, UpdateSpan, render
from goinstrument.engine.result import Coverage, Finding, Kind, Position, Problem, Result
from goinstrument.engine.rules import existing_span
from goinstrument.tuples import NamedTuple

DECLARATIONS = ("function_declaration", "method_declaration")


def instrument(src: bytes, settings: RewriteOptions, info: FileInfo) -> Result:
    """Add spans to every function of `src` that takes a context and has none; update ours."""
    root = syntax.parse(src).root_node
    error = syntax.first_error(root)
    if error is not None:
        return Result(src, src, problem=syntax.syntax_problem(info.path, src, root, error))
    facts = FileFacts.read(src, root)
    if not facts.context_names and not (settings.http_handlers and handlers.http_names(facts.imports)):
        return Result(src, src)
    try:
        directives = read_directives(syntax.comments(root)) if PREFIX.encode() in src else Directives()
        _check_doc_excludes(root, directives)
    except DirectiveError as exc:
        return Result(src, src, problem=Problem(info.path, exc.pos, exc.message))
    imports = ImportNames(facts, info.backend, info.sibling_names, shape.expected_packages(settings, info.backend))
    planner = _Planner(facts, settings, info, imports, directives)
    plans = _plan_file(planner)
    added = [p for p in plans if isinstance(p, AddSpan)]
    fixed: list[Edit] = []
    used = {path for p in plans for path in p.packages}
    if used:
        local = info.local_prefixes(settings.local_prefixes)
        fixed += plan_additions(src, root, list(facts.imports), imports.additions(used), facts.eol, local)
    dropped = [r for p in plans if isinstance(p, UpdateSpan) for r in p.dropped]
    unused = []
    if dropped:  # an error block removed: the imports only it used go too
        # Any import used only there (the expected errors' packages of an earlier list among them).
        unused = remove.unused_imports(src, root, list(facts.imports), {s.path for s in facts.imports} - used, dropped)
        fixed += remove.import_edits(src, root, {s.start for s in unused})
    fixed += rename_imports(root, {spec: name for spec, name in imports.renamed.items() if spec not in unused}, dropped)
    aligned, beyond = realign(src, root, {p.expanded_row for p in added if p.expanded_row is not None})
    fixed += aligned
    lines = Lines(numbering(src), not settings.line_directives) if "code" in settings.attributes else None
    edits = render(src, fixed, plans, lines)
    edits = [e for e in edits if src[e.start : e.end] != e.text]  # an update that finds nothing to change
    if not edits:
        output = src
    elif settings.line_directives:
        output = apply_with_directives(src, edits, facts.eol)
    else:
        output = apply(src, edits)
    relayout = any(p.relayout for p in added) or (beyond and not settings.line_directives)
    findings = tuple(p.finding for p in plans if p.finding is not None)
    if len(findings) > len(added) and _go_instrumented(src, settings, info):
        # Spans go-instrument wrote are spans (--check); the run that migrates them brings them up to date.
        findings = tuple(p.finding for p in added)
    if planner.old:  # --new-from-rev: what functions no changed line touches need is not reported
        findings = tuple(f for f in findings if f.pos not in planner.old)
    plain_edits = tuple(edits) if output is not src and not settings.line_directives else ()
    if tolerance.letter_masks(src):  # names the parser saw through stand-ins: the file's own letters again
        output, plain_edits = tolerance.restore(src, output), ()
        findings = tuple(_restored(src, f) for f in findings)
        planner.excluded = [_restored(src, f) for f in planner.excluded]
    # --remove takes the span lines out; it does not un-name results, close opened-up bodies, or
    # give back an import name a sibling file's declaration made us change.
    reversible = not any(p.signature or p.insertion.layout or p.expanded_row is not None for p in added)
    reversible = reversible and not any(p.signature for p in plans if isinstance(p, UpdateSpan)) and not imports.renamed
    reversible = reversible and not (added and _one_spec_import_block(root))
    updated = sum(1 for p in plans if isinstance(p, UpdateSpan) and p.finding is not None)  # what --check says is out of date
    if plain_edits:
        syntax.derived(output, src, plain_edits)  # a parse of the output (the stability check's) starts from src's tree
    return Result(
        src,
        output,
        findings,
        spans_added=len(added),
        spans_updated=updated,
        relayout=relayout,
        reversible=reversible,
        coverage=planner.coverage,
        edits=plain_edits,
        excluded=tuple(planner.excluded),
    )


def _restored(src: bytes, finding: Finding) -> Finding:
    """The finding with the name in the file's own letters (tolerance.py's stand-ins undone)."""
    return finding._replace(name=tolerance.restore(src, finding.name.encode()).decode())


def _one_spec_import_block(root: Node) -> bool:
    """An `import ( "context" )` block of one spec: --remove gives back the one-line form, which is
    what goinstrument turns into a block far more often; the round trip cannot tell them apart."""
    for decl in root.named_children:
        if decl.type == "import_declaration":
            block = next((c for c in decl.named_children if c.type == "import_spec_list"), None)
            if block is not None and sum(c.type == "import_spec" for c in block.named_children) == 1:
                return True
    return False


# the walk -------------------------------------------------------------------------


class _Scope:
    """A function seen while walking the file: its runtime name, and what literals inside inherit."""

    __slots__ = ("end", "excluded", "included", "known_as", "literals", "name", "node", "qualified", "start", "type_name")

    def __init__(
        self, node: Node, name: str, type_name: str, excluded: str | None, included: bool, qualified: str, known_as: frozenset[str] = frozenset()
    ) -> None:
        self.node = node
        self.start, self.end = node.start_byte, node.end_byte  # read once: the walk asks them of each function after it
        self.name = name  # as the Go runtime names it: Func, Type.Method, Outer.func1
        self.type_name = type_name  # the receiver type of the method it is or is written in, or ""
        self.excluded = excluded  # the kind of exclusion (a `scope` rule's, rules/) that leaves it alone, or None
        self.included = included
        self.qualified = qualified  # the runtime's own spelling, less the package: (*Type[...]).Method.func1
        self.literals = 0  # literals numbered so far in its body
        self.known_as = known_as  # the names directives may use for it


def _plan_file(planner: _Planner) -> list[Plan]:
    """The plan of every function that gets or has a span, in source order; what leaves a function
    alone is the rules' (rules/) to say, asked at each stage of the walk."""
    stack: list[_Scope] = []
    top_level_literals = 0
    plans: list[Plan] = []
    functions = syntax.functions(planner.facts.root)
    # cmd/compile numbers only the literals it keeps: those in code it drops get no name and never run.
    planner.dead = deadcode.dropped_ranges(planner.facts.root, functions)
    stages = planner.rules = rules.for_file(planner)  # each stage's rules that may leave a function of this file alone
    compiled, scoped, function_rules = stages["compiled"], stages["scope"], stages["function"]
    aliases = {**dict(planner.info.package_aliases), **runtimenames.aliases(planner.facts.root)}
    names = _DeclarationNames(aliases, planner.info.init_functions_before)
    deleted = DisjointRanges()  # error blocks of ours that a run deletes
    order = _numbering_order(planner.facts, planner.info, functions)
    package_literals = planner.info.package_literals
    if package_literals and len(package_literals) != len(initorder.top_level_literals(planner.facts.root)):
        package_literals = ()  # the directory's copy of the file is not this source: counted in the file
    # A declaration that takes no context, holds no literal and is no `init` (numbered across the
    # package) is neither planned nor counted, and names nothing: where no scope or function rule
    # applies to the file (they are shown its name), the walk passes it by, as most of a file's.
    passable = not scoped and not function_rules
    holders = {f.start_byte for f, inner in itertools.pairwise(functions) if inner.start_byte < f.end_byte} if passable else set()
    for node in order or functions:
        start = node.start_byte
        while stack and not stack[-1].start <= start < stack[-1].end:
            stack.pop()
        if compiled and rules.first(compiled, rules.Function(node, planner)) is not None:
            continue
        if deleted and start in deleted:
            continue  # in an error block a run deletes: not in the output, not numbered
        plain = passable and start not in holders and node.type != "func_literal"
        if plain and planner.context_parameter(node) is None and not runtimenames.is_init(node):
            continue
        if node.type != "func_literal":
            scope = _declaration_scope(node, planner.directives, names)
        elif stack:
            scope = _literal_scope(node, stack[-1], planner.directives)
        else:
            top_level_literals += 1
            name = f"init.func{package_literals[top_level_literals - 1] if package_literals else top_level_literals}"
            scope = _Scope(node, name, "", None, name in planner.directives.include, name, known_as=frozenset({name}))
        if scope.excluded is None and scoped:  # a literal inherits its function's
            left = rules.first(scoped, rules.Function(node, planner, scope.name, scope.known_as, scope.included))
            scope.excluded = left.kind if left is not None else None
        stack.append(scope)
        # --new-from-rev: a function no changed line touches is planned as ever (a run writes its span)
        # but neither counted nor reported. A literal is judged by its own lines, like any function.
        new = planner.info.is_new(node.start_point.row + 1, node.end_point.row + 1)
        if not new:
            planner.old.add(syntax.position(node))
        left = None
        if not scope.excluded and function_rules:
            left = rules.first(function_rules, rules.Function(node, planner, scope.name, scope.known_as, scope.included))
        if scope.excluded or (left is not None and not left.changes_behaviour):
            if new:
                planner.count(planner.has_span(node), scope.excluded or (left.kind if left else None))
            continue
        plan: Plan | rules.Exclusion | None
        if left is not None:  # a span would change what the function does: none, and ours goes
            kind, why = left.kind, left.why
            plan = planner.drop(node, scope.name, scope.type_name, why)
            has_span = False if plan is not None else planner.has_span(node)
            if new:
                planner.count(has_span, kind)
            if not has_span and new:
                planner.excluded.append(
                    Finding(
                        planner.info.path, syntax.position(node), planner.span_name(scope.name, scope.type_name), f"excluded ({why})", Kind.EXCLUDED
                    )
                )
        else:
            plan = planner.plan(node, scope)
            # No plan: no context, or a `body` rule leaves it alone (a span already there, --min-statements).
            if new:
                if plan is None or isinstance(plan, rules.Exclusion):
                    planner.count(planner.has_span(node), plan.kind if plan is not None else None)
                else:
                    planner.count(isinstance(plan, UpdateSpan))
            plan = None if isinstance(plan, rules.Exclusion) else plan
        if plan is not None:
            plans.append(plan)
            # The inserted code's literals come first in the body: the Go runtime
            # numbers the body's own literals after them.
            scope.literals += plan.literals
            for start, end in plan.dropped if isinstance(plan, UpdateSpan) else ():
                deleted.add(start, end)
    return plans if order is None else sorted(plans, key=lambda plan: plan.start)


def _numbering_order(facts: FileFacts, info: FileInfo, functions: list[Node]) -> list[Node] | None:
    """The functions in the order cmd/compile numbers literals in, where a range over a function
    makes it differ from the source's (rangefunc.py); None where it does not."""
    if not rangefunc.MAY_RANGE_OVER_LITERAL.search(facts.src):
        return None
    imports = {s.local_name: s.path for s in facts.imports if s.name not in ("_", ".")}
    known = rangefunc.declared([(facts.root, rangefunc.iter_names(imports))], info.package_iterators)
    return rangefunc.numbering_order(functions, imports, known)


class _DeclarationNames:
    """Runtime names of declarations: methods on aliases by the aliased type, `init` functions numbered."""

    def __init__(self, aliases: dict[str, str], inits: int) -> None:
        self.aliases = aliases
        self.inits = inits  # `func init` declared before the next one, across the package

    def of(self, node: Node) -> tuple[str, set[str], str, str]:
        """(runtime name, the names directives may use for it, receiver type, the runtime's own spelling)."""
        name, short, type_name = _declaration_name(node)
        if runtimenames.is_init(node):
            self.inits += 1
            return f"init.{self.inits - 1}", {name, f"init.{self.inits - 1}"}, "", f"init.{self.inits - 1}"
        if not type_name:
            generic = node.child_by_field_name("type_parameters") is not None
            return name, {name, short}, type_name, name + ("[...]" if generic else "")
        resolved, via_pointer = runtimenames.resolve_pointer(type_name, self.aliases)
        pointer, generic = _receiver_form(node.child_by_field_name("receiver"))
        qualified = f"{runtimenames.receiver(resolved, pointer or via_pointer, generic)}.{short}"
        if resolved == type_name:
            return name, {name, short}, type_name, qualified
        return f"{resolved}.{short}", {f"{resolved}.{short}", name, short}, resolved, qualified


def _declaration_scope(node: Node, directives: Directives, names: _DeclarationNames) -> _Scope:
    name, known_as, type_name, qualified = names.of(node)
    return _Scope(node, name, type_name, None, bool(known_as & directives.include), qualified, known_as=frozenset(known_as))


def _literal_scope(node: Node, parent: _Scope, directives: Directives) -> _Scope:
    parent.literals += 1
    sep = ".func" if parent.node.type in DECLARATIONS else "."
    name = f"{parent.name}{sep}{parent.literals}"
    qualified = f"{parent.qualified}{sep}{parent.literals}"
    included = parent.included or name in directives.include
    return _Scope(node, name, parent.type_name, parent.excluded, included, qualified, known_as=frozenset({name}))


def span_name(template: str, name: str, type_name: str, package: str, import_path: str) -> str:
    """The span name from a template; empty parts leave no stray dots."""
    if template == "{name}":
        return name
    func = name[len(type_name) + 1 :] if type_name else name
    text = template.format(name=name, func=func, type=type_name, package=package, path=import_path)
    return re.sub(r"\.{2,}", ".", text).replace("/.", "/").strip(".")


# one function ------------------------------------------------------------------------


class _Context(NamedTuple):
    """The context parameter of one function."""

    name: str  # the name the inserted code uses
    rename: tuple[Edit, ...] = ()  # edits naming `_` or unnamed parameters
    fresh: bool = False  # named by us: the body cannot read it yet
    # --http-handlers: `name` is the request parameter; the span starts from its context, kept in this new variable.
    local: str | None = None
    # --http-handlers: the code is of the kind that makes the request carry the span's context (handlers.py).
    carries: bool = True
    # --http-handlers: the function is an http.Handler's, its span the server's (handlers.serves).
    server: bool = False
    # --http-handlers: a server span whose request may name its ServeMux pattern (the module's Go has
    # Request.Pattern): named `{method} {route}` with http.route where it does (handlers.py).
    route: bool = False

    @property
    def start(self) -> str:
        """What the span starts from."""
        return self.name if self.local is None else handlers.start_argument(self.name)


class _Planner:
    """Plans the span of one function at a time, from the file's facts; changes nothing."""

    def __init__(self, facts: FileFacts, settings: RewriteOptions, info: FileInfo, imports: ImportNames, directives: Directives):
        self.facts = facts
        self.settings = settings
        self.directives = directives
        self.dead: list[tuple[int, int]] = []  # code cmd/compile drops: set by _plan_file
        self.rules: Mapping[rules.Stage, Sequence[rules.Rule]] = {}  # each stage's rules for this file: set by _plan_file
        self.coverage = Coverage()  # of the functions planned so far: counted by _plan_file
        self.excluded: list[Finding] = []  # functions a span would change, left without one (for -v)
        self.old: set[Position] = set()  # --new-from-rev: where the functions no changed line touches start
        self.info = info
        self.imports = imports
        self.shape = shape.of(info.backend)
        self.types = TypeNames(facts.root, facts.context_names, info.sibling_names)
        self.http_names = handlers.http_names(facts.imports) if settings.http_handlers else frozenset()
        self.patterns = info.go_version is not None and info.go_version >= handlers.PATTERN_GO  # Request.Pattern
        self._contexts: dict[int, _Context | None] = {}
        self._keeps: dict[int, bool] = {}  # keeps_context, by the function's start
        self.expected = tuple(split_sentinel(v) for v in settings.expected_errors) if shape.expected_packages(settings, info.backend) else ()
        # An expected error of the file's own package is named bare (`ErrX`): importing the package
        # into itself would be an import cycle. Not so for an external test package (`package p_test`).
        self.own = info.import_path if info.import_path and not facts.package.endswith("_test") else None
        self.style = shape.Style("" if settings.errors == "none" else settings.errors, bool(self.expected), True)

    def count(self, has_span: bool | None, excluded: str | None = None) -> None:
        """Coverage.one of a function, added to the file's (a function that takes no context is not counted)."""
        if has_span is not None:
            self.coverage += Coverage.one(has_span, excluded)

    def styled(self, names: Names) -> Names:
        """`names` rendering the error block and the attributes as the settings ask."""
        expected = tuple(self.sentinel(path, name, names.packages) for path, name in self.expected) if names.err is not None else ()
        return names._replace(errors=self.style.errors or "status", expected=expected, attributes_at_start=True)

    def sentinel(self, path: str, name: str, packages: Mapping[str, str]) -> str:
        """An expected error as the file names it: `pkg.Name` through its import, `Name` in its own package."""
        return name if path == self.own else f"{packages.get(path, default_package_name(path))}.{name}"

    def sentinel_paths(self) -> set[str]:
        """The packages the expected errors need imported (not the file's own)."""
        return {path for path, _ in self.expected if path != self.own}

    def error_paths(self, backend: Backend) -> set[str]:
        """The packages the error block uses: the backend's, and those of the expected errors."""
        return set(backend.error_imports) | ({ERRORS, *self.sentinel_paths()} if self.expected else set())

    def attribute_paths(self, backend: Backend, parts: tuple[bool, bool, bool]) -> set[str]:
        paths = set(backend.attribute_imports) if parts[1] or parts[2] else set()
        return paths | (set(backend.start_attribute_imports) if parts[1] else set())

    def plan(self, func: Node, scope: _Scope) -> Plan | rules.Exclusion | None:
        """The plan of a function the walk's rules let through; the `body` rule that leaves it alone
        once no span of ours is found; None when it takes no context. `scope.name` as span names
        write it (Type.Method), `scope.qualified` as the runtime does ((*Type).Method)."""
        qualified = scope.qualified
        body = func.child_by_field_name("body")
        ctx = self.context_parameter(func) if body is not None else None
        if body is None or ctx is None:
            return None
        name = self.span_name(scope.name, scope.type_name)
        statements = scopes.statement_list(body)
        if statements and not ctx.fresh:
            # Any error name: whether the function still has that error result is the update's question.
            where = shape.Where(frozenset({ctx.name.encode()}), None, self.facts.imported_under)
            found, match = self.matched(ctx, statements, where)
            if match is not None and shape.is_ours(match, self.info.tracer, self.settings.span_name):
                local = None
                if found.local is not None:  # a handler's context variable is its own: handlers.request_line keeps it
                    local = syntax.text(match.ctx_lhs[0]) if match.ctx_lhs else found.local
                return self.update(func, body, match, found, name, qualified, local, (ctx.server, ctx.route))
        context = ctx.name if not ctx.fresh else ""
        function = rules.Function(func, self, scope.name, scope.known_as, scope.included, statements, context, ctx.local is not None)
        left = rules.first(self.rules["body"], function)
        if left is not None:
            return left
        return self.add(func, body, ctx, name, qualified)

    def matched(self, ctx: _Context, statements: Sequence[Node], where: shape.Where) -> tuple[_Context, shape.Match | None]:
        """The code of ours the body starts with, and the context of the kind it is: for a handler, of
        any kind (not carrying the context; a server span where the function is no longer a handler's,
        an internal one where it is, as versions before 2026-12 wrote every handler's; a server span
        with or without the route block, as the module's Go version asks or not)."""
        server_kinds = [(ctx.server, ctx.route), (ctx.server, not ctx.route), (not ctx.server, False), (not ctx.server, True)]
        kinds = [(carries, *kind) for kind in dict.fromkeys((s, r and s) for s, r in server_kinds) for carries in (True, False)]
        best: tuple[_Context, shape.Match | None] = (ctx, None)
        for carries, server, route in kinds if ctx.local is not None else [(ctx.carries, ctx.server, ctx.route)]:
            found = ctx._replace(carries=carries, server=server, route=route)
            match = self.shape_for(found).match(statements, where)
            if match is not None and (best[1] is None or match.count > best[1].count):
                best = found, match  # the longest: a kind without the route block matches the start of one with it
        return best

    def span_name(self, runtime_name: str, type_name: str) -> str:
        return span_name(self.settings.span_name, runtime_name, type_name, self.facts.package, self.info.import_path)

    # what a span would change (behaviour.py) --------------------------------------------
    def context_declaration(self, func: Node) -> tuple[str, Node] | None:
        """The name of the function's own context parameter (not one we would name) and its declaration."""
        ctx = self.context_parameter(func)
        params = func.child_by_field_name("parameters")
        if ctx is None or ctx.fresh or ctx.local is not None or params is None:
            return None
        for decl in params.named_children:
            if any(n.text == ctx.name.encode() for n in decl.children_by_field_name("name")):
                return ctx.name, decl
        return None

    def keeps_context(self, func: Node) -> bool:
        """Whether a span must leave the function's context as it is (`_, span := ...`): its package
        compares contexts by identity, or it returns a context (behaviour.py)."""
        key = func.start_byte  # asked up to three times of a function
        if key not in self._keeps:
            self._keeps[key] = self.info.context_comparison is not None or behaviour.returns_context(func, self.types)
        return self._keeps[key]

    def drop(self, func: Node, runtime_name: str, type_name: str, why: str) -> UpdateSpan | None:
        """A span of ours in a function that is to have none: its lines deleted (`why` says why in
        --check). None when it has no span of ours, or its span variable is used after it."""
        body = func.child_by_field_name("body")
        ctx = self.context_parameter(func) if body is not None else None
        if body is None or ctx is None or ctx.fresh:
            return None
        where = shape.Where(frozenset({ctx.name.encode()}), None, self.facts.imported_under)
        match = existing_span.ours([self.shape_for(ctx)], scopes.statement_list(body), where, self.info.tracer, self.settings.span_name)
        if match is None or not match.statements:
            return None
        src, first, last = self.facts.src, match.statements[0], match.statements[-1]
        start, end = syntax.line_start(src, first.start_byte), syntax.line_end(src, last.end_byte)
        if src[start : first.start_byte].strip() or src[last.end_byte : end].strip():
            return None  # not on lines of its own
        if match.span and syntax.raw(match.span[0]) in src[last.end_byte : body.end_byte]:
            return None  # the span is used after it: a person's code relies on it
        end = src.find(b"\n", last.end_byte) + 1 or len(src)  # the whole lines, their line break too
        finding = Finding(self.info.path, syntax.position(func), self.span_name(runtime_name, type_name), f"span is out of date ({why})", Kind.STALE)
        return UpdateSpan(
            func.start_byte, func.start_point[0], (Edit(start, end, b""),), None, (), finding, dropped=((first.start_byte, last.end_byte),)
        )

    def has_span(self, func: Node) -> bool | None:
        """Whether a function that takes a context starts a span at the top level of its body
        (ours, go-instrument's or a person's); None when it has no body or takes no context."""
        body = func.child_by_field_name("body")
        ctx = self.context_parameter(func) if body is not None else None
        if body is None or ctx is None:
            return None
        return not ctx.fresh and existing_span.starts_span(scopes.statement_list(body), ctx.name, ctx.local is not None)

    def shape_for(self, ctx: _Context) -> shape.Shape:
        """The Shape of the code for this function: a handler's (handlers.py), or the backend's."""
        return self.shape if ctx.local is None else handlers.shape_of(self.info.backend, ctx.carries, ctx.server, ctx.route)

    def backend_for(self, ctx: _Context) -> Backend:
        """What renders the code for this function: a handler's (handlers.py), or the backend."""
        return self.info.backend if ctx.local is None else handlers.backend(self.info.backend, ctx.carries, ctx.server, ctx.route)

    # the context parameter ------------------------------------------------------------
    def context_parameter(self, func: Node) -> _Context | None:
        """The function's context parameter (asked of each function twice: planned, then counted)."""
        key = func.start_byte  # no two functions of a file start at the same byte
        if key not in self._contexts:
            self._contexts[key] = self._context_parameter(func)
        return self._contexts[key]

    def _context_parameter(self, func: Node) -> _Context | None:
        params = func.child_by_field_name("parameters")
        if params is None:
            return None
        if not self.types.may_be_context(params.text or b""):
            return self.request_parameter(func)
        decls = [p for p in params.named_children if p.type in ("parameter_declaration", "variadic_parameter_declaration")]
        for decl in decls:
            if decl.type != "parameter_declaration" or not self.types.is_context(decl.child_by_field_name("type")):
                continue
            names = decl.children_by_field_name("name")
            if names and names[0].text != b"_":
                return _Context(syntax.text(names[0]))
            name = fresh(("ctx",), self.names_in(func))
            if names:
                return _Context(name, (Edit(names[0].start_byte, names[0].end_byte, name.encode()),), fresh=True)
            # Unnamed parameters: Go wants all named or none, so the others become `_`.
            rename = tuple(insert(d.start_byte, (name if d is decl else "_").encode() + b" ") for d in decls)
            return _Context(name, rename, fresh=True)
        return self.request_parameter(func)

    def request_parameter(self, func: Node) -> _Context | None:
        """With --http-handlers, the `*http.Request` parameter of a function that takes no context."""
        if not self.http_names:
            return None
        found = handlers.request_parameter(func, self.http_names, self.names_in(func))
        if found is None:
            return None
        return _Context(found.name, found.rename, found.fresh, found.local, server=found.server, route=found.server and self.patterns)

    # a span of ours, brought up to date ------------------------------------------------
    def update(
        self,
        func: Node,
        body: Node,
        match: shape.Match,
        context: _Context,
        name: str,
        qualified: str,
        local: str | None = None,
        kind: tuple[bool, bool] = (False, False),
    ) -> UpdateSpan:
        """Tracer, span name, `_` or the context, and the code location, as a run would write them now.
        `local`: a handler's context variable (--http-handlers), which stays as it is; `kind`: whether
        the handler's span is to be a server span, and one with the route block (a span of another
        kind is rendered afresh)."""
        ctx = context.name
        request = None
        if local is not None:  # a handler's context variable is its own, brought along with the request line
            keeps = self.keeps_context(func)
            request = handlers.request_line(body, match, ctx, context.carries, context.local or local, self.facts.src, self.facts.eol, keeps)
            match = match._replace(ctx_lhs=())
        # The span's context goes on to the body only where it reads it, and the function keeps its own not.
        reads_ctx = not self.keeps_context(func) and scopes.reads(body, ctx.encode(), after_first=True)
        wanted = [
            *((node, ctx if reads_ctx else "_") for node in match.ctx_lhs),
            *((node, go_string(self.info.tracer)) for node in match.tracer),
            *((node, go_string(name)) for node in match.name),
        ]
        line_value = None
        if "code" in self.settings.attributes:
            values = {shape.string_value(key): value for key, value in match.attributes}
            code = {CODE_FUNCTION: self.code_function(qualified), CODE_FILE: self.code_file()}
            wanted += [(values[key], go_string(text)) for key, text in code.items() if key in values]
            line = values.get(CODE_LINE)
            line_value = (line.start_byte, line.end_byte) if line is not None else None
        replacements = tuple(Edit(n.start_byte, n.end_byte, text.encode()) for n, text in wanted)
        stale = [f"name {go_string(old)}" for old in _values(match.name) if old != name]
        # `_` becoming `ctx` (or back) as the body's reads change is tidying; the package's rule is not.
        if match.ctx_lhs and syntax.raw(match.ctx_lhs[0]) != b"_" and self.keeps_context(func):
            stale.append("keeps ctx")
        stale += [f"tracer {go_string(old)}" for old in _values(match.tracer) if old != self.info.tracer]
        lhs = local if local is not None else ctx if reads_ctx else "_"
        block = self.refresh_error_block(func, body, match, lhs, context, name)
        stale += [block.reason] if block.reason else []
        if request is not None and request.reason:
            stale.append(request.reason)
            block = block._replace(edits=block.edits + request.edits)
        target, restyled = context, None
        if local is not None and kind != (context.server, context.route):  # rendered afresh, of the kind wanted now
            target, lhs = self.handler_kind(func, body, match, context, local, kind)
            restyled = "span kind" if kind[0] != context.server else "http.route"
        restyled = restyled or self.restyled(func, match, context, match.parts[0] if block.block is None else block.block)
        fresh_code = self.rerender(func, body, match, target, lhs, name, qualified, block, restyled is not None)
        stale += [restyled or "attributes"] if fresh_code is not None else []
        finding = Finding(self.info.path, syntax.position(func), name, f"span is out of date ({', '.join(stale)})", Kind.STALE) if stale else None
        if fresh_code is not None:
            return fresh_code._replace(finding=finding)
        return UpdateSpan(
            func.start_byte,
            func.start_point[0],
            replacements + block.edits,
            line_value,
            block.naming,
            finding,
            block.packages,
            block.literals,
            block.dropped,
        )

    def handler_kind(self, func: Node, body: Node, match: shape.Match, ctx: _Context, local: str, kind: tuple[bool, bool]) -> tuple[_Context, str]:
        """A handler's span of another kind (server or not, with the route block or not) as a new one
        would be: carrying the context where the body reads the request after it (and the package
        lets contexts change), the context variable kept where it reads that."""
        skip = len(match.statements)
        carries = scopes.reads(body, ctx.name.encode(), skip=skip) and not self.keeps_context(func)
        variable = local if local != "_" else ctx.local or "ctx"
        kept = carries or (local != "_" and scopes.reads(body, local.encode(), skip=skip))
        return ctx._replace(server=kind[0], route=kind[1], carries=carries), variable if kept else "_"

    def restyled(self, func: Node, match: shape.Match, ctx: _Context, block: bool) -> str | None:
        """Why the span's code is not in the form the settings ask for (--errors, --expected-errors,
        attributes given to Start), or None when it is. `block`: it has an error block after the update.
        A person's SetAttributes right after our lines (rerender.written) is not ours to move."""
        start = match.parts[1] and (match.style.at_start or rerender.written(match, func, self.settings.attribute_prefix) is not None)
        code, parts = self.shape_for(ctx), (block, start, match.parts[2])
        # An error block the update adds is written in the settings' form.
        written = match.style if match.parts[0] else match.style._replace(errors=self.style.errors, expected=self.style.expected)
        if code.variant(parts, written) is not code.variant(parts, self.style):
            if match.style.at_start != self.style.fit(parts).at_start:
                return "attributes after Start"
            return "error block form"
        if block and match.parts[0] and match.style.expected:
            names = self.imports.for_function(func, self.sentinel_paths())
            wanted = [self.sentinel(path, name, names) for path, name in self.expected]
            if [syntax.text(n) for n in match.expected] != wanted:
                return "expected errors"
        return None

    def refresh_error_block(self, func: Node, body: Node, match: shape.Match, ctx_lhs: str, ctx: _Context, name: str) -> errorblock.Refresh:
        """The error block as a new span would have it (errorblock.py)."""
        code = self.shape_for(ctx)
        if not code.supported[0]:
            return errorblock.Refresh()
        err, naming = self.error_result(func, body, lambda: self.names_in(func)) if self.settings.errors != "none" else (None, ())

        def names() -> Names:
            return self.names_of(func, match, ctx, ctx_lhs, err, self.error_paths(self.backend_for(ctx)))

        writing = errorblock.Writing(names, self.info.tracer, name, self.facts.src, self.facts.eol, self.style)
        return errorblock.refresh(code, match, body, err, naming, writing, self.error_paths(self.backend_for(ctx)))

    def names_of(self, func: Node, match: shape.Match, ctx: _Context, ctx_lhs: str, err: str | None, paths: set[str]) -> Names:
        """The names the span's code already uses (following an import being renamed), others (the
        packages of `paths` it does not use yet) as for a new span."""
        renamed = {spec.local_name: new for spec, new in self.imports.renamed.items()}
        bound = {path: renamed.get(name, name) for path, name in match.packages}
        missing = (set(self.backend_for(ctx).start_imports) | paths) - set(bound)
        span = syntax.text(match.span[0]) if match.span else "span"
        return self.styled(Names(ctx_lhs, ctx.name, span, err, {**self.imports.for_function(func, missing), **bound}))

    def rerender(
        self,
        func: Node,
        body: Node,
        match: shape.Match,
        ctx: _Context,
        ctx_lhs: str,
        name: str,
        qualified: str,
        block: errorblock.Refresh,
        restyle: bool = False,
    ) -> UpdateSpan | None:
        """The span's statements rendered afresh (rerender.py) when its attributes are not those the
        settings and the signature give it now, or its form not the one they ask for (`restyle`);
        None when they are (or it cannot be done)."""
        arguments, results = self.attributes(func, ctx)
        code = (self.code_function(qualified), self.code_file()) if "code" in self.settings.attributes else None
        start = [*(code_location(*code, 0) if code is not None else ()), *arguments]
        now = rerender.written(match, func, self.settings.attribute_prefix)
        if now is None or (not restyle and now == rerender.Written(tuple(map(rerender.key, start)), tuple(map(rerender.key, results)))):
            return None
        insertion = rerender.replacement(self.facts.src, match.statements, self.facts.eol)
        if insertion is None:
            return None
        shaped = self.shape_for(ctx)
        if block.edits or (restyle and not block.reason):  # the error block as a new span would have it
            wanted = shaped.supported[0] and self.settings.errors != "none"
            err = self.error_result(func, body, lambda: self.names_in(func))[0] if wanted else None
            err = None if err is not None and not match.parts[0] and errorblock.doubled(match, body) else err
        else:
            err = syntax.text(match.err[0]) if match.parts[0] and match.err else None
        parts = shaped.parts(err is not None, bool(start), bool(results))
        backend = self.backend_for(ctx)
        paths = set(backend.start_imports) | (self.error_paths(backend) if parts[0] else set())
        paths |= self.attribute_paths(backend, parts)
        names = self.names_of(func, match, ctx, ctx_lhs, err, paths)._replace(result_attributes=results)
        rendering = Rendering(backend, names, self.info.tracer, name, code, arguments)
        statements = match.statements
        return UpdateSpan(
            func.start_byte,
            func.start_point[0],
            (),
            None,
            block.naming if block.edits else (),
            None,
            frozenset(paths),
            shaped.literals(parts),
            ((statements[0].start_byte, statements[-1].end_byte),),
            (insertion, rendering),
        )

    def code_function(self, qualified: str) -> str:
        """The runtime's full name of a function (runtime.FuncForPC), as the semantic conventions want it."""
        test_file = posixpath.basename(self.info.path).endswith("_test.go")
        return f"{runtimenames.qualified_prefix(self.facts.package, self.info.import_path, test_file)}.{qualified}"

    def code_file(self) -> str:
        base = posixpath.basename(self.info.path)
        return f"{self.info.import_path}/{base}" if self.info.import_path else base

    # a new span -------------------------------------------------------------------------
    def add(self, func: Node, body: Node, ctx: _Context, name: str, qualified: str) -> AddSpan:
        taken = self.names_in(func) | {ctx.name}
        taken |= {ctx.local} if ctx.local is not None else set()
        reads_ctx = not ctx.fresh and scopes.reads(body, ctx.name.encode())
        if ctx.local is not None:  # a handler: the request carries the span's context only if the body reads it, and may
            ctx = ctx._replace(carries=reads_ctx and not self.keeps_context(func))
        span = fresh(("span",), taken)
        wanted = self.shape.supported[0] and self.settings.errors != "none"
        err, result_edits = self.error_result(func, body, lambda: taken | {span}) if wanted else (None, ())
        arguments, results = self.attributes(func, ctx)
        code = (self.code_function(qualified), self.code_file()) if "code" in self.settings.attributes else None
        parts = self.shape_for(ctx).parts(err is not None, bool(arguments) or code is not None, bool(results))
        backend = self.backend_for(ctx)
        paths = set(backend.start_imports) | (self.error_paths(backend) if parts[0] else set())
        paths |= self.attribute_paths(backend, parts)
        if ctx.local is None and self.keeps_context(func):  # its package compares contexts, or it returns one
            reads_ctx = False
        ctx_lhs = ctx.local if ctx.local is not None and ctx.carries else ctx.name if reads_ctx and ctx.local is None else "_"
        names = self.styled(Names(ctx_lhs, ctx.name, span, err, self.imports.for_function(func, paths), (), results))
        one_line = body.start_point[0] == body.end_point[0]
        return AddSpan(
            func.start_byte,
            func.start_point[0],
            ctx.rename + result_edits,
            self.insertion(body),
            Rendering(backend, names, self.info.tracer, name, code, arguments),
            Finding(self.info.path, syntax.position(func), name),
            frozenset(paths),
            self.shape_for(ctx).literals(parts),
            body.start_point[0] if one_line and func.type in DECLARATIONS else None,
            one_line and func.type not in DECLARATIONS and not self.settings.line_directives,
        )

    def attributes(self, func: Node, ctx: _Context) -> tuple[tuple[Attribute, ...], tuple[Attribute, ...]]:
        """Attributes from the arguments (set at the start) and the named results (set at return); a
        server span's HTTP attributes first, where the backend writes start attributes."""
        kinds = self.settings.attributes
        arguments = from_parameters(func.child_by_field_name("parameters"), skip=ctx.name) if "args" in kinds else []
        arguments = [a._replace(key=self.settings.attribute_prefix + a.key) for a in arguments]
        if ctx.server and self.shape_for(ctx).supported[1]:
            arguments = [*handlers.server_attributes(ctx.name), *arguments]
        result = func.child_by_field_name("result")
        results = []
        if "results" in kinds and result is not None and result.type == "parameter_list":
            results = from_parameters(result, skip="")
        return tuple(arguments), tuple(results)

    def names_in(self, func: Node) -> TakenNames:
        """Every identifier the function's text holds, its signature included."""
        return TakenNames(self.facts, set(), func.start_byte, func.end_byte)

    def error_result(self, func: Node, body: Node, taken: Callable[[], TakenNames]) -> tuple[str | None, tuple[Edit, ...]]:
        """The name of the function's last result when it is an `error`, and the edits naming it.
        `taken`: the names a new name must avoid, asked for only when a result is to be named."""
        result = func.child_by_field_name("result")
        if result is None:
            return None, ()
        if result.type != "parameter_list":
            if not self.types.is_error(result) or not self.settings.name_results:
                return None, ()
            err = self.error_name(func, body, taken)
            return err, (Edit(result.start_byte, result.end_byte, b"(" + err.encode() + b" " + syntax.raw(result) + b")"),)
        decls = [d for d in result.named_children if d.type == "parameter_declaration"]
        if not decls or not self.types.is_error(decls[-1].child_by_field_name("type")):
            return None, ()
        names = decls[-1].children_by_field_name("name")
        if names and names[-1].text != b"_":
            return syntax.text(names[-1]), ()
        if not self.settings.name_results:
            return None, ()
        err = self.error_name(func, body, taken)
        if names:
            return err, (Edit(names[-1].start_byte, names[-1].end_byte, err.encode()),)
        edits = [insert(d.start_byte, b"_ ") for d in decls[:-1]]
        edits.append(insert(decls[-1].start_byte, err.encode() + b" "))
        return err, tuple(edits)

    def error_name(self, func: Node, body: Node, taken: Callable[[], TakenNames]) -> str:
        if "err" not in TakenNames(self.facts, set(), func.start_byte, body.start_byte) and scopes.result_name_is_safe(body, b"err"):
            return "err"
        return fresh(("spanErr",), taken())

    # where the lines go -----------------------------------------------------------------
    def insertion(self, body: Node) -> Insertion:
        src, eol = self.facts.src, self.facts.eol
        lbrace, rbrace = body.children[0], body.children[-1]
        # gofmt indents a body one level deeper than the line `func` is on (a literal's too: a
        # literal starting a continuation line is indented with it), never like a continuation
        # line of the signature that the `{` may be on.
        func = body.parent
        outer = syntax.indentation(src, (func if func is not None else lbrace).start_byte)
        indent = self.body_indent(body, outer)
        one_line = lbrace.start_point[0] == rbrace.start_point[0]
        rest = src[lbrace.end_byte : syntax.line_end(src, lbrace.end_byte)]
        items = _block_items(body)
        if not one_line and _only_line_comment(rest, items, lbrace):
            at = syntax.line_end(src, lbrace.end_byte)
            return Insertion(at, at, eol, indent, b"", ())
        # Code follows `{` on its line: open the block up, one statement a line, as gofmt would.
        if not items:
            return Insertion(lbrace.end_byte, rbrace.start_byte, eol, indent, eol + outer, ())
        layout: list[Edit] = []
        if one_line:
            layout += [Edit(a.end_byte, b.start_byte, eol + indent) for a, b in itertools.pairwise(items) if a.end_point[0] == b.start_point[0]]
            layout.append(Edit(items[-1].end_byte, rbrace.start_byte, eol + outer))
        return Insertion(lbrace.end_byte, items[0].start_byte, eol, indent, eol + indent, tuple(layout))

    def body_indent(self, body: Node, outer: bytes) -> bytes:
        lbrace = body.children[0]
        for stmt in scopes.statement_list(body):
            if stmt.type == "labeled_statement":
                continue
            if stmt.start_point[0] > lbrace.start_point[0]:
                lead = self.facts.src[syntax.line_start(self.facts.src, stmt.start_byte) : stmt.start_byte]
                if lead.strip() == b"":
                    return lead
            break
        return outer + b"\t"


def _go_instrumented(src: bytes, settings: RewriteOptions, info: FileInfo) -> bool:
    """Whether the file holds go-instrument's blocks (a normal run migrates them first)."""
    return remove.may_hold_go_instrument(src) and remove.strip_go_instrument(src, settings, info).output != src


def _values(literals: tuple[Node, ...]) -> list[str]:
    """The value of the first of a placeholder's string literals (all hold the same text), or none."""
    return [shape.string_value(literals[0])] if literals else []


def _block_items(body: Node) -> list[Node]:
    """Statements and comments of a block, in order (a `;` between them is not an item)."""
    items = []
    for child in body.children[1:-1]:
        items.extend(child.named_children if child.type == "statement_list" else [child])
    return items


def _only_line_comment(rest: bytes, content: list[Node], lbrace: Node) -> bool:
    """Whether nothing but blanks or a `//` comment ending on that line follows `{`."""
    stripped = rest.strip()
    if not stripped:
        return True
    first = content[0] if content else None
    return stripped.startswith(b"//") and first is not None and first.type == "comment" and first.start_point[0] == lbrace.start_point[0]


def _declaration_name(node: Node) -> tuple[str, str, str]:
    """(span name, bare name, receiver type): `Func` or `Type.Method`, pointer and type parameters dropped."""
    name_node = node.child_by_field_name("name")
    name = syntax.text(name_node) if name_node is not None else ""
    if node.type != "method_declaration":
        return name, name, ""
    receiver = node.child_by_field_name("receiver")
    type_name = (_receiver_type(receiver) if receiver is not None else None) or ""
    return (f"{type_name}.{name}" if type_name else name), name, type_name


def _receiver_form(receiver: Node | None) -> tuple[bool, bool]:
    """(a pointer receiver, a generic receiver type): `(s *Stack[T])` gives (True, True)."""
    declaration = next((c for c in receiver.named_children if c.type == "parameter_declaration"), None) if receiver is not None else None
    node = declaration.child_by_field_name("type") if declaration is not None else None
    pointer = False
    while node is not None and node.type in ("pointer_type", "parenthesized_type"):
        pointer |= node.type == "pointer_type"
        node = node.named_children[0] if node.named_children else None
    return pointer, node is not None and node.type == "generic_type"


def _receiver_type(receiver: Node) -> str | None:
    stack = [receiver]
    while stack:
        node = stack.pop(0)
        if node.type == "type_identifier":
            return syntax.text(node)
        if node.type in ("identifier", "type_arguments", "type_parameter_list"):
            continue
        stack.extend(node.named_children)
    return None


def _check_doc_excludes(root: Node, directives: Directives) -> None:
    """A bare //instrument:exclude must be part of a declaration's doc comment."""
    if not directives.doc_excludes:
        return
    documented: set[int] = set()
    for node in root.named_children:
        if node.type in DECLARATIONS:
            documented |= doc_comment_rows(node)
    for row in sorted(directives.doc_excludes - documented):
        raise DirectiveError(
            Position(row + 1, 1),
            "//instrument:exclude without names must be in the doc comment of a function or method",
        )
