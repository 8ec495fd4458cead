"""One file's way from bytes to an Outcome, whatever its origin and whatever is done with it.

Content rules first (an import of context at all, UTF-8, then skips.py's:
generated, build constraints), then everything the pure core needs from disk is resolved into a
`FileInfo` value, the core runs, gofmt re-lays out what the core says it may
have misaligned, and, unless `verify` is off (`--fast`), the result is checked
before anything is written, as black checks its own: the output parses, a
second run over it changes nothing, and where the round trip is defined,
removing our spans from the output gives what removing them from the input
gives. A file that fails any of these is a problem, left untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys

from goinstrument.backends.loader import load_backend
from goinstrument.driver import TREES_MODULE, gofmt, gomod, package_scope, skips
from goinstrument.driver.gomod import tracer_for
from goinstrument.driver.package_scope import package_declarations
from goinstrument.engine import core, handlers, remove
from goinstrument.engine.fileinfo import FileInfo, import_name_candidates
from goinstrument.engine.go import buildtags, initorder, rangefunc, syntax
from goinstrument.engine.imports import read_imports
from goinstrument.engine.options import Action, RewriteOptions
from goinstrument.engine.result import Outcome, Position, Problem, Result, Source


def file_info(source: Source, options: RewriteOptions, changed_lines: tuple[tuple[int, int], ...] | None = None) -> FileInfo:
    """Everything the core needs from disk, as values (and, with --new-from-rev, the lines git says changed)."""
    own = (source.package, os.path.basename(source.place), source.data) if source.package is not None else None
    package_scope.hold_facts(own)
    try:
        return _file_info(source, options, changed_lines)
    finally:
        package_scope.save_facts()  # after each file: a worker's are kept too


def _file_info(source: Source, options: RewriteOptions, changed_lines: tuple[tuple[int, int], ...] | None) -> FileInfo:
    backend = load_backend(options.backend)
    directory, module = _package_of(source)
    siblings: frozenset[str] = frozenset()
    comparison = None
    if options.action is not Action.REMOVE:  # removing adds no import nor span: the package's names do not matter
        siblings = package_declarations(directory, import_name_candidates(backend))
        comparison = package_scope.context_comparison(directory)
    src = source.data
    return FileInfo(
        source.path,
        tracer_for(source.place, options, src, module),
        gomod.import_path(source.place, module) or "",
        siblings,
        backend,
        # Only an init function holding a literal, or a method, needs the package's other files for
        # its names: the scans are skipped for the others (package_aliases is read once a directory).
        init_functions_before=package_scope.init_functions_before(os.fspath(source.place), directory) if _init_holds_literal(src) else 0,
        package_aliases=package_scope.package_aliases(directory) if b"func (" in src else (),
        context_comparison=comparison,
        package_iterators=package_scope.package_iterators(directory) if _range_needs_package(src) else rangefunc.Iterators(),
        package_literals=package_scope.package_literal_numbers(os.fspath(source.place), directory) if _has_package_literal(src) else (),
        changed_lines=changed_lines,
        module_path=gomod.module_of_file(source.place, module) or "",
        go_version=gomod.go_version_of(source.place, module),
    )


_TOP_LEVEL_VAR = re.compile(rb"^var\b", re.MULTILINE)


# Both look at the tree the core reads (syntax.parse keeps it), after a look at the bytes.
def _has_package_literal(src: bytes) -> bool:
    """Whether the file declares a package-level variable holding a function literal that may get
    a span (its declaration mentions a context or a request): its name takes the whole package."""
    if not _TOP_LEVEL_VAR.search(src) or _LITERAL.search(src) is None:
        return False
    return initorder.may_name_spans(syntax.parse(src).root_node)


def _range_needs_package(src: bytes) -> bool:
    """Whether a range loop's kind, which decides its literals' names, needs the package's other files."""
    if not rangefunc.MAY_RANGE_OVER_LITERAL.search(src):
        return False
    root = syntax.parse(src).root_node
    imports = {s.local_name: s.path for s in read_imports(root) if s.name not in ("_", ".")}
    return rangefunc.needs_package(syntax.functions(root), imports)


def _package_of(source: Source) -> tuple[package_scope.Where, gomod.Module]:
    """Where the package's other files (and go.mod) are read: the index's for a staged blob, which
    is what is committed with it, else the file's directory on disk."""
    if source.package is not None:
        return source.package, source.package.module
    return os.path.dirname(os.path.abspath(source.place)), gomod.ON_DISK


_INIT_BODY = re.compile(rb"^func\s+init\s*\(\s*\)\s*\{(.*?)^\}", re.MULTILINE | re.DOTALL)
_LITERAL = re.compile(rb"func(?<!\wfunc)\s*\(")  # `\bfunc`, written literal first for speed


def _init_holds_literal(src: bytes) -> bool:
    """Whether an init function of the file may hold a function literal (whose runtime name, init.N.funcM, needs N)."""
    return b"func init" in src and any(_LITERAL.search(body.group(1)) for body in _INIT_BODY.finditer(src))


def process(
    source: Source, options: RewriteOptions, *, check: bool = False, verify: bool = True, changed_lines: tuple[tuple[int, int], ...] | None = None
) -> Outcome:
    """The Outcome of one file; bad input and bugs of ours come back as problems, never raised.

    `check`: only findings are wanted (--check): go-instrument's spans count as
    spans and are not migrated. `verify`: the stability check (off with --fast).
    `changed_lines`: --new-from-rev's (FileInfo.changed_lines).
    """
    try:
        return _process(source, options, check, verify, changed_lines)
    except RecursionError:
        return _problem(source, Position(1, 1), "nested too deeply to analyse; left untouched")
    except Exception as exc:  # a bug of ours must not stop the batch or lose the file
        return _problem(source, Position(1, 1), f"internal error ({type(exc).__name__}: {exc}); left untouched, please report it")


def _problem(source: Source, pos: Position, message: str) -> Outcome:
    return Outcome.failed(source.path, Problem(source.path, pos, message), source.data)


def same_outcome(a: Source, b: Source, options: RewriteOptions) -> bool:
    """Whether `b` is sure to have `a`'s outcome: the same bytes, told the same by their packages
    (a staged blob and its working-tree copy: the index's package and the one on disk)."""
    if a.data != b.data:
        return False
    if not _may_change(a.data, options):
        return True
    try:
        (where_a, module_a), (where_b, module_b) = _package_of(a), _package_of(b)
        same_module = gomod.import_path(a.place, module_a) == gomod.import_path(b.place, module_b)
        same_tracer = tracer_for(a.place, options, a.data, module_a) == tracer_for(b.place, options, b.data, module_b)
        if same_module and same_tracer and package_scope.same_files(where_a, where_b, os.path.basename(b.place)):
            return True  # file_info would be the same: spared
        return file_info(a, options) == file_info(b, options)
    except Exception:  # process reports it, for each
        return False


def _may_change(src: bytes, options: RewriteOptions) -> bool:
    # Without an import of "context" (or golang.org/x/net/context), no function can take one (nor,
    # unless --http-handlers or --remove, is a handler's span of interest).
    handler_code = (options.http_handlers or options.action is Action.REMOVE) and handlers.may_hold(src)
    return b'context"' in src or b"context`" in src or bool(handler_code)


def _process(source: Source, options: RewriteOptions, check: bool, verify: bool, changed_lines: tuple[tuple[int, int], ...] | None) -> Outcome:
    src = source.data
    if not _may_change(src, options):  # not a skip: there is simply nothing to do
        return Outcome.done(source.path, src)
    problem = _not_utf8(source.path, src)
    if problem is not None:
        return Outcome.failed(source.path, problem, src)
    try:
        reason = skips.content_reason(source, options)
    except buildtags.ConstraintError as exc:
        return _problem(source, Position(exc.line, exc.col), exc.message)
    if reason is not None:
        return Outcome.skip(source.path, reason, src)
    kept = sys.modules.get(TREES_MODULE)  # a server's child alone keeps trees
    if kept is not None:
        with contextlib.suppress(Exception):  # a parse spared at most, never a file failed
            kept.prime(os.fspath(source.place), src)  # from an earlier run's tree of the file, where there is one
    info = file_info(source, options, changed_lines)
    result = rewrite(src, options, info, migrate=not check)
    if result.problem is None and result.changed and verify and not check:
        failure = stability_failure(result, options, info)
        if failure is not None:
            return _problem(source, failure[0], f"internal check failed: {failure[1]}; left untouched, please report it")
    return Outcome.done(source.path, src, result, identity_note(source.path, info) if result.coverage.functions else ())


IDENTITY = "contexts compared by identity here; spans in this package keep ctx"


def identity_note(path: str, info: FileInfo) -> tuple[Problem, ...]:
    """Where the comparison is that makes the package's spans keep their context (behaviour.py)."""
    if info.context_comparison is None:
        return ()
    name, pos = info.context_comparison
    return (Problem(os.path.join(os.path.dirname(path), name), pos, IDENTITY),)


def _not_utf8(display: str, src: bytes) -> Problem | None:
    try:
        src.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = src.count(b"\n", 0, exc.start) + 1
        col = exc.start - (src.rfind(b"\n", 0, exc.start) + 1) + 1
        return Problem(display, Position(line, col), "not valid UTF-8; left untouched")
    return None


def rewrite(src: bytes, options: RewriteOptions, info: FileInfo, *, migrate: bool = True) -> Result:
    """The core's rewrite for the options' action, with the edge steps around it.

    Instrumenting a file go-instrument instrumented strips go-instrument's
    blocks first (migration, unless `migrate` is off); where the core says its edits may have put
    neighbouring lines out of gofmt's alignment, gofmt lays the output out.
    """
    if options.action is Action.REMOVE:
        return remove.remove(src, options, info)
    base = src
    if migrate and remove.may_hold_go_instrument(src):
        stripped = remove.strip_go_instrument(src, options, info)
        base = stripped.output if stripped.problem is None else src
    result = core.instrument(base, options, info)
    if result.relayout:
        result = result._replace(output=gofmt.relayout(base, result.output), edits=())
    return result._replace(source=src, edits=()) if base is not src else result


def stability_failure(result: Result, options: RewriteOptions, info: FileInfo) -> tuple[Position, str] | None:
    """Where and why a changed result is not safe to write, or None.

    The output must parse; a second run over it must change nothing; and
    removing our spans from the output must give what removing them from the
    input gives, where that round trip is defined: not where a signature was
    changed (a context or error result named) or a one-line body opened up, after a migration from
    go-instrument, a gofmt re-layout or --line-directives, whose changes
    --remove does not undo byte for byte.
    """
    output = result.output
    again = rewrite(output, options, info)  # parses the output first: a syntax error is a problem of its own
    if again.problem is not None and again.problem.message.startswith("syntax error"):
        return again.problem.pos, "the output would not parse here"
    if again.problem is not None:
        return again.problem.pos, f"a second run over the output fails: {again.problem.message}"
    if again.output != output:
        return _first_difference(output, again.output), "a second run would change this line again"
    if options.action is Action.REMOVE or result.relayout or not result.reversible or options.line_directives:
        return None
    if remove.may_hold_go_instrument(result.source):
        return None
    removed_output = remove.remove(output, options, info)
    # Without a span in the input (the usual first run), --remove of the input is the input itself.
    spanless = result.coverage.with_span == 0 and b"WithContext" not in result.source
    removed_input = Result(result.source, result.source) if spanless else remove.remove(result.source, options, info)
    if removed_input.problem is None and removed_output.output != removed_input.output:
        return _first_difference(removed_output.output, removed_input.output), "--remove would not give back the input here"
    return None


def _first_difference(a: bytes, b: bytes) -> Position:
    """The line and column in `a` where `a` and `b` part."""
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    line_start = a.rfind(b"\n", 0, n) + 1
    return Position(a.count(b"\n", 0, n) + 1, n - line_start + 1)
