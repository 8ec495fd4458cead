"""Taking spans out again: `--remove`, and the first half of migrating from go-instrument.

A span block is recognised by its syntax tree, never by a pattern over the
text: it is, node for node, a backend's Shape (what goinstrument inserts, the
span's context a parameter of that function) or go-instrument's foreign Shape
(its error block calls SetStatus(otelCodes.Error, "error") before
RecordError), and it is ours by the rule in `shape.py`: a person's span in the
same shape, with their own tracer and span name, stays. Whole lines go, indentation and line ending with them. go-instrument also
leaves a blank line or `//line` directives after its block; they go too in a
file that shows go-instrument's hand. Then the imports only the removed code
used are taken out, undoing what `imports.plan_additions` did.

Plan, then patch, as in core: every deletion is an Edit against the original
bytes, applied once.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator

from tree_sitter import Node

from goinstrument.backends.loader import BACKENDS
from goinstrument.engine import handlers, shape
from goinstrument.engine.edits import Edit, Ranges, apply
from goinstrument.engine.facts import FileFacts
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.go import scopes, syntax, tolerance
from goinstrument.engine.imports import ImportSpec, plan_additions, read_imports
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Result
from goinstrument.engine.rules import existing_span
from goinstrument.tuples import NamedTuple

# Bytes at least one of which every file go-instrument changed holds (with "span").
_GO_INSTRUMENT_MARKERS = (b"otelCodes", b'"error")', b'"anonymous")', b"/*line ")
# Compiled by `re` where first used (--remove, and go-instrument's files: not a hook's run).
_OUR_LINE_DIRECTIVE = rb"//line :[1-9][0-9]*:1\r?"  # what linedirectives.py writes
_LINE_DIRECTIVE = rb"^(?://line |/\*line )(.*?):\d+(?::\d+)?(?:\*/)?$"


def may_hold_go_instrument(src: bytes) -> bool:
    """A cheap look at the bytes before any parsing: could go-instrument have been here?"""
    return b"span" in src and any(marker in src for marker in _GO_INSTRUMENT_MARKERS)


def remove(src: bytes, settings: RewriteOptions, info: FileInfo) -> Result:
    """Strip every recognised span block, the imports only they used, and our //line directives."""
    cleaned = _without_our_line_directives(src)
    if cleaned is src:
        return _strip(src, settings, info, migrating=False)
    result = _strip(cleaned, settings, info, migrating=False)
    return result._replace(source=src) if result.problem is None else Result(src, src, problem=result.problem)


def strip_go_instrument(src: bytes, settings: RewriteOptions, info: FileInfo) -> Result:
    """Strip only go-instrument's blocks, so that instrumenting the output gives our own shape.

    Blocks in our own shape stay for the normal update. An otel import that
    stays in use but sits where go-instrument put it (among the standard
    library) moves to where goinstrument would have put it.
    """
    return _strip(src, settings, info, migrating=True)


# blocks ------------------------------------------------------------------------


class _Block(NamedTuple):
    code: tuple[int, int]  # the statements, where the imports were used
    lines: tuple[int, int]  # the whole lines they fill
    trailer_end: int  # after a blank line and //line directives following, or lines[1]
    foreign: bool  # go-instrument's by its own evidence: error block, "anonymous", a /*line naming this file
    span: bytes  # the span variable's name
    body: tuple[int, int]  # the function body, where nothing else may use the span
    local: bytes = b""  # a handler's context variable (handlers.py), which nothing else may use either
    inline: tuple[int, int] | None = None  # a `/*line f.go:N:C*/ ` starting the statement after the trailer, with its blanks


def _items(body: Node) -> list[Node]:
    """The statements and comments of a block, in order."""
    for child in body.named_children:
        if child.type == "statement_list":
            return list(child.named_children)
    return []


def _parameter_names(func: Node) -> list[bytes]:
    params = func.child_by_field_name("parameters")
    return [
        name.text
        for decl in (params.named_children if params is not None else [])
        if decl.type in ("parameter_declaration", "variadic_parameter_declaration")
        for name in decl.children_by_field_name("name")
        if name.text is not None and name.text != b"_"
    ]


def _next_line(src: bytes, offset: int) -> int:
    newline = src.find(b"\n", offset)
    return len(src) if newline < 0 else newline + 1


def _alone_on_lines(src: bytes, body: Node, block: list[Node]) -> bool:
    """Each statement on lines of its own, the first below the `{`, nothing else on those lines."""
    first, last = block[0], block[-1]
    if first.start_point[0] == body.start_point[0]:
        return False
    if src[syntax.line_start(src, first.start_byte) : first.start_byte].strip():
        return False
    for a, b in itertools.pairwise(block):
        if b.start_point[0] <= a.end_point[0] or src[a.end_byte : b.start_byte].strip():
            return False
    return not src[last.end_byte : syntax.line_end(src, last.end_byte)].strip()


class _Finder:
    """Finds the span blocks of one parsed file."""

    def __init__(self, src: bytes, imports: dict[str, frozenset[bytes]], shapes: list[shape.Shape], info: FileInfo, span_names: str):
        self.src = src
        self.imports = imports
        self.shapes = shapes  # ours first: a tie goes to them
        self.info = info
        self.span_names = span_names  # the span-name template
        self.first_types = frozenset(kind for candidate in shapes for kind in candidate.first_types)  # Shape.may_start's, for all
        self.first_words = frozenset(words for candidate in shapes for words in candidate.first_words)  # and Shape.match's first test

    def block(self, func: Node) -> _Block | None:
        body = func.child_by_field_name("body")
        if body is None:
            return None
        items = _items(body)
        first = 0
        while first < len(items) and items[first].type == "comment" and items[first].start_point[0] == body.start_point[0]:
            first += 1  # `{ // comment`: goinstrument inserts below that line
        found = self.match(func, items[first:])
        if found is None:
            return None
        statements = items[first : first + found.count]
        if not _alone_on_lines(self.src, body, statements):
            return None
        lines = (syntax.line_start(self.src, statements[0].start_byte), _next_line(self.src, statements[-1].end_byte))
        trailer_end, files, inline = self.trailer(lines[1], items[first + found.count :])
        following = next((i for i, item in enumerate(items) if item.start_byte >= trailer_end), len(items))
        if self.match(func, items[following:]) is not None:
            return None  # a second span right after: not ours to judge; both stay
        anonymous = func.type == "func_literal" and any(n.text == b'"anonymous"' for n in found.name)
        foreign = found.foreign or anonymous or posixpath.basename(self.info.path) in {posixpath.basename(f) for f in files}
        code = (statements[0].start_byte, statements[-1].end_byte)
        span = found.span[0].text or b"" if found.span else b""
        local = found.ctx_lhs[0].text or b"" if found.local_ctx and found.ctx_lhs else b""
        return _Block(code, lines, trailer_end, foreign, span, (body.start_byte, body.end_byte), local, inline)

    def match(self, func: Node, items: list[Node]) -> shape.Match | None:
        """The longest block of ours or go-instrument's at the start of `items`."""
        if not items or items[0].type not in self.first_types:
            return None
        first = items[0].text or b""
        if not any(all(word in first for word in words) for words in self.first_words):
            return None  # no shape's variant starts with the names it spells out: none is asked
        # The error block may record any name: one left behind by a lost error result goes with the span.
        where = shape.Where(frozenset(_parameter_names(func)), None, self.imports)
        return existing_span.ours(self.shapes, items, where, self.info.tracer, self.span_names)

    def trailer(self, at: int, following: list[Node]) -> tuple[int, list[str], tuple[int, int] | None]:
        """The end of one blank line and of line directives right after a block, the files `/*line` ones
        name, and a `/*line*/` directive that starts the next statement's line (go-instrument's current
        output: `/*line p.go:9:2*/ return 1`), with the blanks up to that statement."""
        src, files, blank, pending = self.src, [], False, list(following)
        while at < len(src):
            end = _next_line(src, at)
            if not src[at:end].strip():
                if blank:
                    break
                blank, at = True, end
                continue
            item = pending.pop(0) if pending else None
            if item is None or item.type != "comment":
                break
            directive = re.match(_LINE_DIRECTIVE, syntax.raw(item))
            if directive is None or src[at : item.start_byte].strip():
                break
            if src[item.end_byte : end].strip():
                rest = src[item.end_byte : end]
                if syntax.raw(item).startswith(b"/*") and not rest.lstrip(b" \t").startswith((b"//", b"/*")):
                    files.append(directive.group(1).decode("utf-8", "replace"))
                    return at, files, (item.start_byte, item.end_byte + len(rest) - len(rest.lstrip(b" \t")))
                break
            if syntax.raw(item).startswith(b"/*"):  # go-instrument's; a //line may be --line-directives' own
                files.append(directive.group(1).decode("utf-8", "replace"))
            at = end
        return at, files, None


# imports -------------------------------------------------------------------------


def unused_imports(src: bytes, root: Node, specs: list[ImportSpec], paths: set[str], removed: list[tuple[int, int]]) -> list[ImportSpec]:
    """Imports of `paths` the removed code used and nothing else does.

    A local variable of the import's name (`for _, attribute := range xs`) is no use of the
    package. The uses in the removed code are read first (a query over its few ranges); those
    elsewhere only for an import the removed code uses, up to the first that is one."""
    imported = [(s.start, s.end) for s in specs]
    code = _tree_bytes(src)
    in_removed, elsewhere = Ranges(removed), Ranges(removed + imported)
    found = []
    inside: dict[bytes, list[Node]] | None = None  # the package uses in the removed code, by name
    for spec in specs:
        if spec.path not in paths or spec.name in ("_", "."):
            continue
        name = spec.local_name.encode()
        if inside is None:
            inside = {}
            for start, end in removed:
                for use in syntax.package_uses_in(root, start, end):
                    inside.setdefault(use.text or b"", []).append(use)
        if all(scopes.resolves_locally(u, name) for u in inside.get(name, [])):
            continue  # the removed code does not use it
        if not _spelled_outside(code, name, (0, len(src)), elsewhere):
            found.append(spec)  # spelled only in the removed code (and the imports): used nowhere else
        elif all(scopes.resolves_locally(u, name) for u in _uses_outside(root, code, name, in_removed)):
            found.append(spec)
    return found


def _uses_outside(root: Node, code: bytes | None, name: bytes, ranges: Ranges) -> Iterator[Node]:
    """The package uses (syntax.package_uses) of `name` outside `ranges`: looked up where the bytes
    spell it (where the tree holds stand-in letters, `code` None, among all of the file's)."""
    if code is None:
        yield from (u for u in syntax.package_uses(root) if u.text == name and u.start_byte not in ranges)
        return
    at = code.find(name) if name else -1
    while at != -1:
        if at not in ranges:
            yield from (u for u in syntax.package_uses_in(root, at, at + 1) if u.text == name)
        at = code.find(name, at + 1)


def _tree_bytes(src: bytes) -> bytes | None:
    """`src` where it is what the tree holds; None where names read from the tree are stand-in
    letters (tolerance.py), which the file's bytes do not spell."""
    return None if tolerance.letter_masks(src) else src


def _spelled_outside(code: bytes | None, name: bytes, within: tuple[int, int], ranges: Ranges) -> bool:
    """Whether `name`'s bytes may occur in `within` outside `ranges`: without that, no identifier
    there can be `name` (the usual case, decided without the file's identifiers). With no `code`
    (_tree_bytes), it may: the tree decides."""
    if code is None:
        return True
    at = code.find(name, *within) if name else -1
    while at != -1:
        if at not in ranges:
            return True
        at = code.find(name, at + 1, within[1])
    return False


def _third_party(path: str) -> bool:
    return "." in path.split("/")[0]


def _misplaced(spec: ImportSpec, specs: list[ImportSpec]) -> bool:
    """A third-party import in a run of consecutive lines that holds standard-library ones."""
    run = [spec]
    for step in (-1, 1):
        row = spec.row + step
        while (near := next((s for s in specs if s.in_block and s.row == row), None)) is not None:
            run.append(near)
            row += step
    return spec.in_block and any(not _third_party(s.path) for s in run)


def import_edits(src: bytes, root: Node, doomed: set[int]) -> list[Edit]:
    """Delete the import specs starting at the `doomed` offsets, whole lines, as plan_additions added them."""
    edits: list[Edit] = []
    for decl in root.named_children:
        if decl.type != "import_declaration":
            continue
        block = next((c for c in decl.named_children if c.type == "import_spec_list"), None)
        specs = [s for s in (block or decl).named_children if s.type == "import_spec"]
        gone = [s for s in specs if s.start_byte in doomed]
        if not gone:
            continue
        if len(gone) == len(specs) or block is None:
            edits += _delete_declaration(src, decl)
        else:
            edits += _delete_from_block(src, decl, block, specs, gone)
    return edits


def _blank(src: bytes, start: int, end: int) -> bool:
    return start < end and not src[start:end].strip()


def _delete_declaration(src: bytes, decl: Node) -> list[Edit]:
    start, end = syntax.line_start(src, decl.start_byte), _next_line(src, decl.end_byte)
    if src[start : decl.start_byte].strip():
        return [Edit(decl.start_byte, decl.end_byte, b"")]
    before = syntax.line_start(src, max(start - 1, 0))
    if start > 0 and _blank(src, before, start) and _blank(src, end, _next_line(src, end)):
        end = _next_line(src, end)  # keep one blank line between what was around it
    return [Edit(start, end, b"")]


def _delete_from_block(src: bytes, decl: Node, block: Node, specs: list[Node], gone: list[Node]) -> list[Edit]:
    opening, closing = block.children[0], block.children[-1]
    inner, inner_end = _next_line(src, opening.end_byte), syntax.line_start(src, closing.start_byte)
    lines = []  # (start, end, kind): kind "gone", "blank" or "kept"
    at = inner
    while at < inner_end:
        end = _next_line(src, at)
        holds = [s for s in gone if at <= s.start_byte < end]
        alone = holds and not src[at : holds[0].start_byte].strip() and not src[holds[-1].end_byte : end].strip()
        lines.append((at, end, "gone" if alone else "blank" if not src[at:end].strip() else "kept"))
        at = end
    edits = [Edit(s.start_byte, s.end_byte, b"") for s in gone if not any(a <= s.start_byte < e and k == "gone" for a, e, k in lines)]

    def near_gone(i: int) -> bool:
        return any(0 <= j < len(lines) and lines[j][2] == "gone" for j in (i - 1, i + 1))

    kept: list[int] = []
    for i, (_, _, kind) in enumerate(lines):
        if kind == "gone" or (kind == "blank" and near_gone(i) and (not kept or lines[kept[-1]][2] == "blank")):
            continue
        kept.append(i)
    while kept and lines[kept[-1]][2] == "blank" and near_gone(kept[-1]):
        kept.pop()
    left = [s for s in specs if s not in gone]
    collapsible = (
        not edits
        and len(left) == 1
        and len(kept) == 1
        and lines[kept[0]][0] <= left[0].start_byte < lines[kept[0]][1]
        and block.named_child_count == len(specs)
        and re.fullmatch(rb"import\s*\(", src[decl.start_byte : opening.end_byte]) is not None
        and src[lines[kept[0]][0] : left[0].start_byte].strip() == b""
        and src[left[0].end_byte : lines[kept[0]][1]].strip() == b""
    )
    if collapsible:  # a block goinstrument made from one import line: that line again
        return [Edit(decl.start_byte, decl.end_byte, b"import " + syntax.raw(left[0]))]
    return edits + [Edit(a, e, b"") for i, (a, e, _) in enumerate(lines) if i not in kept]


# the whole file --------------------------------------------------------------------


def _shapes(info: FileInfo) -> list[shape.Shape]:
    """The chosen backend's, the other built-in ones', their handler variants (whatever --http-handlers
    says: removing never depends on it), then go-instrument's."""
    chosen = [info.backend]
    backends = chosen + [b for b in BACKENDS.values() if b is not info.backend]
    return [shape.of(b) for b in backends] + [s for b in backends for s in handlers.shapes_of(b)] + [shape.go_instrument()]


def _strip(src: bytes, settings: RewriteOptions, info: FileInfo, migrating: bool) -> Result:
    root = syntax.parse(src).root_node
    error = syntax.first_error(root)
    if error is not None:
        return Result(src, src, problem=syntax.syntax_problem(info.path, src, root, error))
    facts = FileFacts.read(src, root)
    specs = list(facts.imports)
    shapes = _shapes(info)
    if not any(path in facts.imported_under for s in shapes for path in s.start_imports):
        return Result(src, src)
    finder = _Finder(src, facts.imported_under, shapes, info, settings.span_name)
    blocks = [b for func in syntax.functions(root) if (b := finder.block(func)) is not None]
    foreign_file = any(b.foreign for b in blocks)
    if migrating:
        blocks = [b for b in blocks if b.foreign or (foreign_file and b.trailer_end > b.lines[1])]
    blocks = _span_unused_elsewhere(src, root, blocks)
    if not blocks:
        return Result(src, src)
    edits = [Edit(b.lines[0], b.trailer_end if foreign_file else b.lines[1], b"") for b in blocks]
    edits += [Edit(*b.inline, b"") for b in blocks if foreign_file and b.inline is not None]
    paths = {p for s in shapes for p in s.imports}
    # Any import the removed code alone used goes (the packages of the expected errors it skipped among them).
    doomed = unused_imports(src, root, specs, {s.path for s in specs}, [b.code for b in blocks])
    moved = []
    if migrating:
        moved = [s for s in specs if s.path in paths and s not in doomed and s.name not in ("_", ".") and _misplaced(s, specs)]
    if moved:
        output = apply(src, edits + import_edits(src, root, {s.start for s in doomed + moved}))
        moved_back = _add_back(output, moved)
        if moved_back is not None:
            return Result(src, moved_back, spans_removed=len(blocks))
    return Result(src, apply(src, edits + import_edits(src, root, {s.start for s in doomed})), spans_removed=len(blocks))


def _without_our_line_directives(src: bytes) -> bytes:
    """`src` without the lines `--line-directives` wrote: exactly `//line :N:1`, alone on a line at
    column 1 (`src` itself when there are none). Other directives (`//line grammar.y:10`) stay."""
    if b"//line :" not in src:
        return src
    edits = []
    for comment in syntax.comments(syntax.parse(src).root_node):
        start = comment.start_byte
        if re.fullmatch(_OUR_LINE_DIRECTIVE, syntax.raw(comment)) and syntax.line_start(src, start) == start:
            end = syntax.line_end(src, comment.end_byte)
            if not src[comment.end_byte : end].strip():
                edits.append(Edit(start, _next_line(src, start), b""))
    return apply(src, edits) if edits else src


def _span_unused_elsewhere(src: bytes, root: Node, blocks: list[_Block]) -> list[_Block]:
    """The blocks whose span variable nothing outside the removed code uses (a hand-written
    `defer func() { span.RecordError(err); log(err) }()` after our two lines keeps them)."""
    code = _tree_bytes(src)
    while True:
        removed = Ranges(b.code for b in blocks)
        kept = [b for b in blocks if not _named_outside(code, b, removed) or not _used_outside(root, b, removed)]
        if len(kept) == len(blocks):
            return kept
        blocks = kept


def _named_outside(code: bytes | None, block: _Block, removed: Ranges) -> bool:
    """Whether the block's span or local variable may be spelled in its body outside the removed code."""
    return any(_spelled_outside(code, name, block.body, removed) for name in (block.span, block.local) if name)


def _used_outside(root: Node, block: _Block, removed: Ranges) -> bool:
    return any(n.start_byte not in removed for n in _uses_in_body(syntax.index(root), block))


def _uses_in_body(index: syntax.Index, block: _Block) -> list[Node]:
    """The identifiers in the block's function body that name its span or local variable."""
    wanted = (block.span, block.local)
    return [n for n in index.within("identifier", *block.body) if n.text in wanted and n.type == "identifier"]


def _add_back(src: bytes, moved: list[ImportSpec]) -> bytes | None:
    """Add imports again where goinstrument puts them; None when there is no place for them."""
    root = syntax.parse(src).root_node
    eol = b"\r\n" if b"\r\n" in src[: src.find(b"\n") + 1] else b"\n"
    try:
        return apply(src, plan_additions(src, root, read_imports(root), [(s.name, s.path) for s in moved], eol))
    except ValueError:
        return None
