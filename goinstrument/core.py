"""The pure rewrite: Go source bytes and settings in, new bytes and findings out.

Plan, then patch: every change is an Edit against the original bytes, applied
once at the end, so line endings, a BOM, comments and everything outside the
insertion points stay as they were. Nothing here touches the disk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from tree_sitter import Node

from goinstrument import scopes, syntax
from goinstrument.align import realign
from goinstrument.attributes import LINE_PLACEHOLDER, Attribute, code_location, from_parameters
from goinstrument.backend import Backend, Names, go_string, load_backend, starts_span
from goinstrument.directives import DirectiveError, Directives, doc_comment_rows, read_directives
from goinstrument.edits import Edit, apply, insert
from goinstrument.linedirectives import apply_with_directives
from goinstrument.imports import default_package_name, plan_additions, read_imports
from goinstrument.result import Finding, Position, Problem, Result
from goinstrument.options import RewriteOptions
from goinstrument.settings import FileInfo

CONTEXT_PATHS = ("context", "golang.org/x/net/context")
DECLARATIONS = ("function_declaration", "method_declaration")


@dataclass
class _Scope:
    """A function seen while walking the file: its span name and what literals inside inherit."""

    node: Node
    name: str  # as the Go runtime names it: Func, Type.Method, Outer.func1
    type_name: str  # the receiver type of the method it is or is written in, or ""
    excluded: bool
    included: bool
    literals: int = 0


@dataclass
class _Context:
    """The context parameter of one function."""

    name: str  # the name the inserted code uses
    rename: list[Edit] = field(default_factory=list)  # edits naming `_` or unnamed parameters
    fresh: bool = False  # named by us: the body cannot read it yet


class _File:
    """One source being instrumented: its tree, names in use and the edits planned so far."""

    def __init__(self, src: bytes, root: Node, settings: RewriteOptions, info: FileInfo, backend: Backend):
        self.src = src
        self.root = root
        self.settings = settings
        self.info = info
        self.backend = backend
        self.eol = b"\r\n" if b"\r\n" in src[: src.find(b"\n") + 1] else b"\n"
        self._identifiers: syntax.Identifiers | None = None
        self.second_imports: dict[str, str] = {}  # path -> name of an extra import where the usual one is shadowed
        self.imports = read_imports(root)
        self.existing_imports = {s.path: s.local_name for s in self.imports if s.name not in ("_", ".")}
        self.context_names = {
            s.local_name for s in self.imports if s.path in CONTEXT_PATHS and s.name not in ("_",)
        }
        self.edits: list[Edit] = []
        self.findings: list[Finding] = []
        self.spans_added = 0
        self.used_packages: set[str] = set()
        self.expanded_rows: set[int] = set()  # rows of one-line declarations opened up
        self.relayout = False
        self.line_placeholders: list[tuple[int, Node]] = []  # (edit index, function) awaiting code.line.number
        self._package_names: dict[str, str] | None = None
        clause = next((c for c in root.named_children if c.type == "package_clause"), None)
        self.package = syntax.text(clause.named_children[0]) if clause is not None and clause.named_children else ""

    # names ------------------------------------------------------------------
    @property
    def identifiers(self) -> syntax.Identifiers:
        """Every identifier of the file, collected the first time a name has to be chosen."""
        if self._identifiers is None:
            self._identifiers = syntax.Identifiers(self.root)
        return self._identifiers

    @property
    def package_names(self) -> dict[str, str]:
        """Import path -> the name inserted code calls it by: an existing import, or a free name."""
        if self._package_names is None:
            existing = self.existing_imports
            names = {path: existing[path] for path in self.backend.preferred_names if path in existing}
            missing = [path for path in self.backend.preferred_names if path not in existing]
            if missing:
                taken = {n.decode() for n in self.identifiers.all_names()} | {s.local_name for s in self.imports}
                taken |= self.info.package_names(self.import_name_candidates())
                for path in missing:
                    names[path] = _fresh(self.backend.preferred_names[path], taken)
                    taken.add(names[path])
            self._package_names = names
        return self._package_names

    def import_name_candidates(self) -> frozenset[str]:
        """Every name an import of ours may get: the backend's preferred names, numbered too."""
        names = {name for preferred in self.backend.preferred_names.values() for name in preferred}
        return frozenset(names | {f"{name}{n}" for name in names for n in range(1, 4)})

    def packages_for(self, func: Node, paths: set[str]) -> dict[str, str]:
        """Package names for one function's inserted code.

        An import the file already has is reused under its name, unless the
        function's own declaration declares that name somewhere (a parameter
        called `otel`, a local `attribute`): there the package is imported a
        second time under a fresh name.
        """
        names = dict(self.package_names)
        existing = self.existing_imports
        top = func
        while top.parent is not None and top.parent.type != "source_file":
            top = top.parent
        shadowing = None
        for path in paths:
            if path not in existing:
                continue
            if shadowing is None:
                shadowing = syntax.declared_names(top)
            if names[path].encode() in shadowing:
                names[path] = self.second_import(path)
        return names

    def second_import(self, path: str) -> str:
        if path not in self.second_imports:
            taken = {n.decode() for n in self.identifiers.all_names()} | {s.local_name for s in self.imports}
            taken |= self.info.package_names(self.import_name_candidates()) | set(self.second_imports.values())
            self.second_imports[path] = _fresh(self.backend.preferred_names[path][1:] or (path.rsplit("/", 1)[-1] + "pkg",), taken)
        return self.second_imports[path]


    # the walk -----------------------------------------------------------------
    def run(self, directives: Directives) -> None:
        stack: list[_Scope] = []
        top_level_literals = 0
        for node in syntax.functions(self.root):
            while stack and stack[-1].node.end_byte <= node.start_byte:
                stack.pop()
            if node.type == "func_literal":
                if stack:
                    parent = stack[-1]
                    parent.literals += 1
                    sep = ".func" if parent.node.type in DECLARATIONS else "."
                    name = f"{parent.name}{sep}{parent.literals}"
                    inherited_ex, inherited_in, type_name = parent.excluded, parent.included, parent.type_name
                else:
                    top_level_literals += 1
                    name = f"init.func{top_level_literals}"
                    inherited_ex = inherited_in = False
                    type_name = ""
                excluded = inherited_ex or name in directives.exclude or not self.settings.literals
                included = inherited_in or name in directives.include
            else:
                name, short, type_name = _declaration_name(node)
                excluded = bool({name, short} & directives.exclude) or bool(
                    doc_comment_rows(node) & directives.doc_excludes
                )
                included = bool({name, short} & directives.include)
            scope = _Scope(node, name, type_name, excluded, included)
            stack.append(scope)
            wanted = not excluded and (self.settings.all_functions or included)
            if wanted:
                # A deferred block we insert is a literal too, and comes first in the body:
                # the Go runtime calls it Outer.func1 and numbers the body's own after it.
                scope.literals += self.function(node, self.span_name(name, type_name), name)

    def span_name(self, name: str, type_name: str) -> str:
        """The span name from the settings' template; empty parts leave no stray dots."""
        template = self.settings.span_name
        if template == "{name}":
            return name
        func = name[len(type_name) + 1 :] if type_name else name
        text = template.format(name=name, func=func, type=type_name, package=self.package, path=self.info.import_path)
        return re.sub(r"\.{2,}", ".", text).replace("/.", "/").strip(".")

    def function(self, node: Node, span_name: str, runtime_name: str) -> int:
        """Plan the span of one function; returns how many function literals the inserted code holds."""
        body = node.child_by_field_name("body")
        if body is None:
            return 0
        ctx = self.context_parameter(node)
        if ctx is None:
            return 0
        statements = scopes.statement_list(body)
        package_names = self.existing_imports
        if statements and not ctx.fresh:
            own = self.backend.match_start(statements[0], ctx.name, package_names)
            if own is not None:
                self.update(node, body, own, ctx.name, span_name, runtime_name)
                return 0
            if any(starts_span(stmt, ctx.name) for stmt in statements):
                return 0
        if len(statements) < self.settings.min_statements:
            return 0
        self.findings.append(Finding(self.info.path, syntax.position(node), span_name))
        return self.add_span(node, body, ctx, span_name, runtime_name)

    def context_parameter(self, func: Node) -> _Context | None:
        params = func.child_by_field_name("parameters")
        if params is None:
            return None
        decls = [p for p in params.named_children if p.type in ("parameter_declaration", "variadic_parameter_declaration")]
        for decl in decls:
            if decl.type != "parameter_declaration" or not self.is_context_type(decl.child_by_field_name("type")):
                continue
            names = decl.children_by_field_name("name")
            if names and names[0].text != b"_":
                return _Context(names[0].text.decode())
            taken = self.identifiers.names_in(func.start_byte, func.end_byte)
            fresh = _fresh(("ctx",), {n.decode() for n in taken})
            if names:
                return _Context(fresh, [Edit(names[0].start_byte, names[0].end_byte, fresh.encode())], fresh=True)
            # Unnamed parameters: Go wants all named or none, so the others become `_`.
            rename = [
                insert(d.start_byte, (fresh if d is decl else "_").encode() + b" ") for d in decls
            ]
            return _Context(fresh, rename, fresh=True)
        return None

    def is_context_type(self, node: Node | None) -> bool:
        if node is None:
            return False
        if node.type == "qualified_type":
            package, name = node.child_by_field_name("package"), node.child_by_field_name("name")
            return (
                name is not None
                and name.text == b"Context"
                and package is not None
                and package.text.decode() in self.context_names
            )
        return node.type == "type_identifier" and node.text == b"Context" and "." in self.context_names

    # edits --------------------------------------------------------------------
    def update(self, func: Node, body: Node, own, ctx: str, span_name: str, runtime_name: str) -> None:
        """Bring a span in our own shape up to date: tracer, span name, `_` or the context, code location."""
        reads_ctx = scopes.reads(body, ctx.encode(), after_first=True)
        wanted = {
            own.ctx_lhs: ctx if reads_ctx else "_",
            own.tracer: go_string(self.info.tracer),
            own.name: go_string(span_name),
        }
        if "code" in self.settings.attributes:
            for attribute in code_location(self.code_function(runtime_name), self.code_file()):
                value = self.code_attribute_value(body, own.span.text, attribute.key)
                if value is not None and attribute.value == LINE_PLACEHOLDER:
                    self.line_placeholders.append((len(self.edits), func))
                    self.edits.append(Edit(value.start_byte, value.end_byte, LINE_PLACEHOLDER.encode()))
                elif value is not None:
                    wanted[value] = attribute.value
        for node, value in wanted.items():
            if node is not None and node.text != value.encode():
                self.edits.append(Edit(node.start_byte, node.end_byte, value.encode()))

    def code_attribute_value(self, body: Node, span: bytes, key: str) -> Node | None:
        """The value node of `attribute.X("key", value)` in our `span.SetAttributes(...)` near the top."""
        for stmt in scopes.statement_list(body)[1:4]:
            call = stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else None
            fn = call.child_by_field_name("function") if call is not None and call.type == "call_expression" else None
            if fn is None or fn.type != "selector_expression" or fn.child_by_field_name("operand").text != span:
                continue
            if fn.child_by_field_name("field").text != b"SetAttributes":
                continue
            for arg in call.child_by_field_name("arguments").named_children:
                inner = arg.child_by_field_name("arguments") if arg.type == "call_expression" else None
                values = inner.named_children if inner is not None else []
                if len(values) == 2 and values[0].text == f'"{key}"'.encode():
                    return values[1]
        return None

    def code_function(self, runtime_name: str) -> str:
        return f"{self.info.import_path or self.package}.{runtime_name}"

    def code_file(self) -> str:
        base = os.path.basename(self.info.path)
        return f"{self.info.import_path}/{base}" if self.info.import_path else base

    def add_span(self, func: Node, body: Node, ctx: _Context, span_name: str, runtime_name: str) -> int:
        taken = {n.decode() for n in self.identifiers.names_in(func.start_byte, func.end_byte)} | {ctx.name}
        span = _fresh(("span",), taken)
        taken.add(span)
        err, result_edits = self.error_result(func, body, taken)
        reads_ctx = not ctx.fresh and scopes.reads(body, ctx.name.encode())
        start_attributes, result_attributes = self.attributes(func, ctx, runtime_name)
        paths = set(self.backend.start_imports) | (set(self.backend.error_imports) if err is not None else set())
        if start_attributes or result_attributes:
            paths |= set(getattr(self.backend, "attribute_imports", ()))
        self.used_packages |= paths
        packages = self.packages_for(func, paths)
        names = Names(
            ctx.name if reads_ctx else "_", ctx.name, span, err, packages,
            tuple(start_attributes), tuple(result_attributes),
        )
        lines = self.backend.lines(names, self.info.tracer, span_name)
        self.edits.extend(ctx.rename)
        self.edits.extend(result_edits)
        insertion = self.body_insertion(body, lines)
        if any(LINE_PLACEHOLDER.encode() in edit.text for edit in insertion):
            self.line_placeholders.append((len(self.edits), func))
        self.edits.extend(insertion)
        self.spans_added += 1
        literals = sum(line.count("func()") for line in lines)
        if body.start_point[0] == body.end_point[0]:
            if func.type in DECLARATIONS:
                self.expanded_rows.add(body.start_point[0])
            elif not self.settings.line_directives:
                self.relayout = True
        return literals

    def attributes(self, func: Node, ctx: _Context, runtime_name: str) -> tuple[list[Attribute], list[Attribute]]:
        """Attributes set at the start (code location, arguments) and at return (named results)."""
        kinds = self.settings.attributes
        start: list[Attribute] = []
        if "code" in kinds:
            start += code_location(self.code_function(runtime_name), self.code_file())
        if "args" in kinds:
            start += from_parameters(func.child_by_field_name("parameters"), skip=ctx.name)
        results: list[Attribute] = []
        result = func.child_by_field_name("result")
        if "results" in kinds and result is not None and result.type == "parameter_list":
            results = from_parameters(result, skip="")
        return start, results

    def resolve_line_placeholders(self) -> None:
        """code.line.number: the line the function's `func` has in the output (or the original, with //line)."""
        for index, func in self.line_placeholders:
            line = func.start_point[0] + 1
            if not self.settings.line_directives:
                line += sum(
                    e.text.count(b"\n") - self.src.count(b"\n", e.start, e.end)
                    for e in self.edits
                    if e.end <= func.start_byte and e.start < func.start_byte
                )
            edit = self.edits[index]
            self.edits[index] = Edit(edit.start, edit.end, edit.text.replace(LINE_PLACEHOLDER.encode(), str(line).encode()))

    def error_result(self, func: Node, body: Node, taken: set[str]) -> tuple[str | None, list[Edit]]:
        """The name of the function's last result when it is an `error`, and the edits naming it."""
        result = func.child_by_field_name("result")
        if result is None:
            return None, []
        if result.type != "parameter_list":
            if not _is_error_type(result) or not self.settings.name_results:
                return None, []
            err = self.error_name(func, body, taken)
            return err, [Edit(result.start_byte, result.end_byte, f"({err} error)".encode())]
        decls = [d for d in result.named_children if d.type == "parameter_declaration"]
        if not decls or not _is_error_type(decls[-1].child_by_field_name("type")):
            return None, []
        names = decls[-1].children_by_field_name("name")
        if names and names[-1].text != b"_":
            return names[-1].text.decode(), []
        if not self.settings.name_results:
            return None, []
        err = self.error_name(func, body, taken)
        if names:
            return err, [Edit(names[-1].start_byte, names[-1].end_byte, err.encode())]
        edits = [insert(d.start_byte, b"_ ") for d in decls[:-1]]
        edits.append(insert(decls[-1].start_byte, err.encode() + b" "))
        return err, edits

    def error_name(self, func: Node, body: Node, taken: set[str]) -> str:
        signature = self.identifiers.names_in(func.start_byte, body.start_byte)
        if b"err" not in signature and scopes.result_name_is_safe(body, b"err"):
            return "err"
        return _fresh(("spanErr",), taken)

    def body_insertion(self, body: Node, lines: list[str]) -> list[Edit]:
        src, eol = self.src, self.eol
        lbrace, rbrace = body.children[0], body.children[-1]
        outer = syntax.indentation(src, lbrace.start_byte)
        indent = self.body_indent(body, outer)
        code = [indent + line.encode() for line in lines]
        one_line = lbrace.start_point[0] == rbrace.start_point[0]
        rest = src[lbrace.end_byte : syntax.line_end(src, lbrace.end_byte)]
        if not one_line and _only_line_comment(rest, _block_items(body), lbrace):
            at = syntax.line_end(src, lbrace.end_byte)
            return [insert(at, b"".join(eol + line for line in code))]
        # Code follows `{` on its line: open the block up, one statement a line, as gofmt would.
        text = b"".join(eol + line for line in code)
        items = _block_items(body)
        if not items:
            return [Edit(lbrace.end_byte, rbrace.start_byte, text + eol + outer)]
        edits = [Edit(lbrace.end_byte, items[0].start_byte, text + eol + indent)]
        if one_line:
            edits += [
                Edit(a.end_byte, b.start_byte, eol + indent)
                for a, b in zip(items, items[1:])
                if a.end_point[0] == b.start_point[0]
            ]
            edits.append(Edit(items[-1].end_byte, rbrace.start_byte, eol + outer))
        return edits

    def body_indent(self, body: Node, outer: bytes) -> bytes:
        lbrace = body.children[0]
        for stmt in scopes.statement_list(body):
            if stmt.type == "labeled_statement":
                continue
            if stmt.start_point[0] > lbrace.start_point[0]:
                lead = self.src[syntax.line_start(self.src, stmt.start_byte) : stmt.start_byte]
                if lead.strip() == b"":
                    return lead
            break
        return outer + b"\t"


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
    return (
        stripped.startswith(b"//")
        and first is not None
        and first.type == "comment"
        and first.start_point[0] == lbrace.start_point[0]
    )


def _is_error_type(node: Node | None) -> bool:
    return node is not None and node.type == "type_identifier" and node.text == b"error"


def _declaration_name(node: Node) -> tuple[str, str, str]:
    """(span name, bare name, receiver type): `Func` or `Type.Method`, pointer and type parameters dropped."""
    name = syntax.text(node.child_by_field_name("name"))
    if node.type != "method_declaration":
        return name, name, ""
    receiver = node.child_by_field_name("receiver")
    type_name = (_receiver_type(receiver) if receiver is not None else None) or ""
    return (f"{type_name}.{name}" if type_name else name), name, type_name


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


def _fresh(preferred: tuple[str, ...], taken: set[str]) -> str:
    for name in preferred:
        if name not in taken:
            return name
    base = preferred[-1]
    n = 1
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def instrument(src: bytes, settings: RewriteOptions, info: FileInfo) -> Result:
    """Add spans to every function of `src` that takes a context and has none."""
    tree = syntax.parse(src)
    root = tree.root_node
    error = syntax.first_error(root)
    if error is not None:
        return Result(src, src, problem=Problem(info.path, syntax.position(error), "syntax error: the file does not parse; left untouched"))
    file = _File(src, root, settings, info, load_backend(settings.backend))
    if not file.context_names:
        return Result(src, src)
    try:
        directives = read_directives(syntax.comments(root))
        _check_doc_excludes(root, directives)
    except DirectiveError as exc:
        return Result(src, src, problem=Problem(info.path, exc.pos, exc.message))
    file.run(directives)
    if file.spans_added:
        existing = file.existing_imports
        missing = [
            (None if (n := file.package_names[p]) == default_package_name(p) else n, p)
            for p in sorted(file.used_packages)
            if p not in existing
        ] + [(name, path) for path, name in sorted(file.second_imports.items())]
        file.edits.extend(plan_additions(src, root, file.imports, missing, file.eol))
    aligned, beyond = realign(src, root, file.expanded_rows)
    file.edits.extend(aligned)
    file.relayout |= beyond and not settings.line_directives
    file.resolve_line_placeholders()
    if not file.edits:
        output = src
    elif settings.line_directives:
        output = apply_with_directives(src, file.edits, os.path.basename(info.path), file.eol)
    else:
        output = apply(src, file.edits)
    return Result(src, output, tuple(file.findings), spans_added=file.spans_added, relayout=file.relayout)


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
