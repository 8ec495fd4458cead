"""One file's way from bytes to an Outcome, whatever its origin and whatever is done with it.

Content rules first (UTF-8, generated, build constraints, an import of context
at all), then everything the pure core needs from disk is resolved into a
`FileInfo` value, the core runs, gofmt re-lays out what the core says it may
have misaligned, and, unless `verify` is off (`--fast`), the result is checked
before anything is written, as black checks its own: the output parses, a
second run over it changes nothing, and where the round trip is defined,
removing our spans from the output gives what removing them from the input
gives. A file that fails any of these is a problem, left untouched.
"""

from __future__ import annotations

import os
import re

from goinstrument import buildtags, core, gofmt, gomod, handlers, package_scope, remove, syntax
from goinstrument.backend import load_backend
from goinstrument.fileinfo import FileInfo, import_name_candidates
from goinstrument.generated import is_generated
from goinstrument.gomod import tracer_for
from goinstrument.options import Action, RewriteOptions
from goinstrument.package_scope import package_declarations
from goinstrument.result import Outcome, Position, Problem, Result, Source


def file_info(source: Source, options: RewriteOptions) -> FileInfo:
    """Everything the core needs from disk, as values."""
    backend = load_backend(options.backend)
    directory = os.path.dirname(os.path.abspath(source.place))
    siblings: frozenset[str] = frozenset()
    if options.action is not Action.REMOVE:  # removing adds no import: the package's names do not matter
        siblings = package_declarations(directory, import_name_candidates(backend))
    src = source.data
    return FileInfo(
        source.path,
        tracer_for(source.place, options, src),
        gomod.import_path(source.place) or "",
        siblings,
        backend,
        # Only an init function holding a literal, or a method, needs the package's other files for
        # its names: the scans are skipped for the others (package_aliases is read once a directory).
        init_functions_before=package_scope.init_functions_before(os.fspath(source.place)) if _init_holds_literal(src) else 0,
        package_aliases=package_scope.package_aliases(directory) if b"func (" in src else (),
    )


_INIT_BODY = re.compile(rb"^func\s+init\s*\(\s*\)\s*\{(.*?)^\}", re.MULTILINE | re.DOTALL)
_LITERAL = re.compile(rb"func(?<!\wfunc)\s*\(")  # `\bfunc`, written literal first for speed


def _init_holds_literal(src: bytes) -> bool:
    """Whether an init function of the file may hold a function literal (whose runtime name, init.N.funcM, needs N)."""
    return b"func init" in src and any(_LITERAL.search(body.group(1)) for body in _INIT_BODY.finditer(src))


def process(source: Source, options: RewriteOptions, *, check: bool = False, verify: bool = True) -> Outcome:
    """The Outcome of one file; bad input and bugs of ours come back as problems, never raised.

    `check`: only findings are wanted (--check): go-instrument's spans count as
    spans and are not migrated. `verify`: the stability check (off with --fast).
    """
    try:
        return _process(source, options, check, verify)
    except RecursionError:
        return _problem(source, Position(1, 1), "nested too deeply to analyse; left untouched")
    except Exception as exc:  # a bug of ours must not stop the batch or lose the file
        return _problem(source, Position(1, 1), f"internal error ({type(exc).__name__}: {exc}); left untouched, please report it")


def _problem(source: Source, pos: Position, message: str) -> Outcome:
    return Outcome(source.path, source.data, source.data, problem=Problem(source.path, pos, message))


def _process(source: Source, options: RewriteOptions, check: bool, verify: bool) -> Outcome:
    src = source.data
    handler_code = (options.http_handlers or options.action is Action.REMOVE) and handlers.may_hold(src)
    if b'context"' not in src and b"context`" not in src and not handler_code:
        # No import of "context" (or golang.org/x/net/context): no function can take one (nor, unless
        # --http-handlers or --remove, is a handler's span of interest). Not a skip: there is
        # simply nothing to do.
        return Outcome(source.path, src, src)
    problem = _not_utf8(source.path, src)
    if problem is not None:
        return Outcome(source.path, src, src, problem=problem)
    reason = skip_reason(source, options)
    if reason is not None:
        return Outcome(source.path, src, src, skipped=reason)
    try:
        if not buildtags.can_build(os.path.basename(source.place), src):
            return Outcome(source.path, src, src, skipped="build constraint never satisfied")
    except buildtags.ConstraintError as exc:
        return _problem(source, Position(exc.line, exc.col), exc.message)
    info = file_info(source, options)
    result = rewrite(src, options, info, migrate=not check)
    if result.problem is None and result.changed and verify and not check:
        failure = stability_failure(result, options, info)
        if failure is not None:
            return _problem(source, failure[0], f"internal check failed: {failure[1]}; left untouched, please report it")
    return Outcome(
        source.path,
        src,
        result.output if result.problem is None else src,
        result.findings,
        result.problem,
        spans_added=result.spans_added,
        spans_removed=result.spans_removed,
        coverage=result.coverage,
        spans_updated=result.spans_updated,
    )


def skip_reason(source: Source, options: RewriteOptions) -> str | None:
    """Why a file's content says to leave it alone (the rules on its bytes; paths are discover's)."""
    if not options.include_generated and is_generated(source.data):
        return "generated file"
    return None


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
    syntax.parse_edited(result.source, result.edits, output)  # the output's tree, from the source's
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
