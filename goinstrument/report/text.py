"""The text report (`--format text`): findings on stdout (in --check), problems and warnings on
stderr; with -v, every file left alone on purpose and why. GitHub's annotations (github.py) are
this report with each item written as an annotation.
"""

from __future__ import annotations

from typing import TextIO

from goinstrument.engine.result import Finding, Problem, quote_path
from goinstrument.report.base import Context, Place, coverage_table


class Lines:
    """How each item of the report is written: here as text, for people."""

    def place(self, ctx: Context) -> Place:
        return str  # as the run found the paths

    def items(self, ctx: Context) -> TextIO:
        """Where notes, problems and warnings go."""
        return ctx.err

    def finding(self, finding: Finding, place: Place, level: str) -> str:
        return finding.text()

    def problem(self, problem: Problem, place: Place) -> str:
        return problem.text()

    def warning(self, warning: Problem, place: Place) -> str:
        return f"{quote_path(warning.path)}:{warning.pos.line}:{warning.pos.col}: warning: {warning.message}"

    def note(self, note: Problem, place: Place) -> str:
        return note.text()

    def error(self, message: str) -> str | None:
        """A git error that stopped the run, again (text has said it on stderr already)."""
        return None

    def closing(self, ctx: Context, place: Place) -> None:
        """What the format writes after the rest."""


def write(ctx: Context, lines: Lines) -> None:
    """The report, item by item as `lines` writes them."""
    summary, run = ctx.summary, ctx.run
    place, items = lines.place(ctx), lines.items(ctx)
    if run.verbosity > 0:  # every file left alone on purpose, and every function
        _print([f"{quote_path(path)}: skipped: {reason}" for path, reason in summary.skipped], ctx.err)
        _print([excluded.text() for excluded in summary.excluded], ctx.err)
    if run.verbosity > 0 or ctx.check:  # why spans are as they are: not a finding, no effect on the exit code
        _print([lines.note(note, place) for note in summary.notes], items)
    _print([line for error in summary.errors for line in [lines.error(error)] if line is not None], items)
    if ctx.check:
        # Under a --fail-under that passes, the findings do not fail the run: warnings, not errors.
        level = "warning" if run.fail_under is not None and not ctx.below else "error"
        # With --diff, stdout is the patch's.
        _print([lines.finding(finding, place, level) for finding in summary.findings], ctx.err if run.diff else ctx.out)
    _print([lines.problem(problem, place) for problem in summary.problems], items)
    _print([lines.warning(warning, place) for warning in summary.warnings], items)
    if ctx.check and run.coverage and not summary.errors:
        print(coverage_table(summary, place), file=ctx.out)
    lines.closing(ctx, place)


def _print(lines: list[str], stream: TextIO) -> None:
    for line in lines:
        print(line, file=stream)


def render(ctx: Context) -> None:
    write(ctx, Lines())
