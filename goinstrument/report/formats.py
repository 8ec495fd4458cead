"""The output formats, in one table: each format's name (`--format NAME`), the function that
writes its report, and what it needs of the run. The command line and the run read this table
and nothing else about a format: a new format is a module with a `render(Context)` and a row here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from goinstrument.engine.options import RewriteOptions
from goinstrument.options import RunOptions
from goinstrument.report.base import Context, below_threshold, coverage_line, mode, say
from goinstrument.report.summary import EXIT_ERROR, Summary
from goinstrument.tuples import NamedTuple


class OutputFormat(NamedTuple):
    name: str
    render: Callable[[Context], None]  # writes the report: errors and the coverage verdict are said before it
    check_only: bool = False  # it reports what --check finds: the run must be one (or measure)
    document: bool = False  # one document on stdout, which nothing else may share (no patch, no -l names)
    progress: bool = False  # a progress bar on stderr may go with it (a terminal's)
    shares_stdout: bool = False  # its report may go beside a patch, -l's names or stdin's code (findings then on stderr)
    closing: bool = True  # the closing line and the coverage line are said on stderr after it


DEFAULT = "text"


def _module(name: str) -> Callable[[Context], None]:
    """The `render` of the module `name`, imported when a run reports in its format: a hook's run
    loads its own format's module only (text: not json, not SARIF's)."""

    def render(ctx: Context) -> None:
        importlib.import_module(name).render(ctx)

    return render


FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("text", _module("goinstrument.report.text"), progress=True, shares_stdout=True),
        OutputFormat("json", _module("goinstrument.report.jsondoc"), document=True, closing=False),
        OutputFormat("github", _module("goinstrument.report.github")),
        OutputFormat("sarif", _module("goinstrument.report.sarif"), check_only=True, document=True),  # SARIF 2.1.0, for GitHub code scanning
    )
}


def register(fmt: OutputFormat) -> None:
    """Add a format (or replace one of the same name)."""
    FORMATS[fmt.name] = fmt


def finish(
    summary: Summary,
    rewrite: RewriteOptions,
    options: RunOptions,
    find_top: Callable[[Path], Path],
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Report the run in its format, say what to do next and the closing line; the exit code.
    `find_top`: where the machine formats place paths from (asked only by those that do)."""
    fmt = FORMATS[options.format]
    ctx = Context(summary, options, mode(options.output, rewrite.action), out or sys.stdout, err or sys.stderr, Path.cwd(), find_top)
    for error in summary.errors:  # in every format: on stderr, and in the machine formats' output too
        print(f"goinstrument: {error}", file=ctx.err)
    if ctx.below and options.fail_under is not None:
        print(f"goinstrument: {below_threshold(summary.total_coverage, options.fail_under)}", file=ctx.err)
    fmt.render(ctx)
    if summary.errors:  # said by the report, in its format
        return EXIT_ERROR
    for notice in summary.notices:
        say(notice)
    if fmt.closing and summary.says_closing(options):
        say(summary.closing(rewrite.action, options.output))
        if ctx.check:
            say(coverage_line(summary.total_coverage, len(summary.problems)))
    return summary.exit_code(options)
