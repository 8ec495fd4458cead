"""GitHub workflow annotations (`--format github`): findings, problems, warnings and notes as
`::error`/`::warning`/`::notice` lines on stdout, which a workflow shows on the lines of the
pull request; in --check, the coverage goes to the job's summary page (markdown.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from goinstrument.engine.result import Finding, Problem, quote_path
from goinstrument.report import markdown, text
from goinstrument.report.base import Context, Place, below_threshold


def _escape(value: str, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def annotation(kind: str, path: str | None, line: int, col: int, message: str) -> str:
    if path is None:
        return f"::{kind} title=goinstrument::{_escape(message)}"
    file = _escape(quote_path(path), property_=True)
    return f"::{kind} file={file},line={line},col={col},title=goinstrument::{_escape(message)}"


class Annotations(text.Lines):
    """Each item as a workflow command on stdout."""

    def place(self, ctx: Context) -> Place:
        return ctx.place

    def items(self, ctx: Context) -> TextIO:
        return ctx.out

    def finding(self, finding: Finding, place: Place, level: str) -> str:
        """A finding as an annotation of `level` (a warning once --fail-under passes)."""
        return annotation(level, place(finding.path), finding.pos.line, finding.pos.col, f"{finding.name}: {finding.message}")

    def problem(self, problem: Problem, place: Place) -> str:
        return annotation("error", place(problem.path), problem.pos.line, problem.pos.col, problem.message)

    def warning(self, warning: Problem, place: Place) -> str:
        return annotation("warning", place(warning.path), warning.pos.line, warning.pos.col, warning.message)

    def note(self, note: Problem, place: Place) -> str:
        return annotation("notice", place(note.path), note.pos.line, note.pos.col, note.message)

    def error(self, message: str) -> str | None:
        return annotation("error", None, 0, 0, message)

    def closing(self, ctx: Context, place: Place) -> None:
        fail_under = ctx.run.fail_under
        if ctx.below and fail_under is not None:
            print(annotation("error", None, 0, 0, below_threshold(ctx.summary.total_coverage, fail_under)), file=ctx.out)
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if ctx.check and step_summary and not ctx.summary.errors:
            markdown.append_step_summary(Path(step_summary), markdown.coverage(ctx.summary, place, fail_under), ctx.err)


def render(ctx: Context) -> None:
    text.write(ctx, Annotations())
