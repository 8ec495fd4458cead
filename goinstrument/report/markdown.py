"""The coverage as GitHub-flavoured markdown, appended to the job's summary page
(`$GITHUB_STEP_SUMMARY`) by a --check run in `--format github`."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from goinstrument.report.base import Place, packages, percent
from goinstrument.report.summary import Summary


def coverage(summary: Summary, place: Place, fail_under: float | None = None) -> str:
    """The coverage line and the table per package as GitHub-flavoured markdown (the job's summary page)."""
    total = summary.total_coverage
    verdict = ""
    if fail_under is not None:
        verdict = f" ({'below' if total.below(fail_under) else 'meets'} --fail-under {fail_under:g}%)"
    lines = [
        "### goinstrument: span coverage",
        "",
        f"{total.with_span} of {total.functions} functions taking a context have a span: **{percent(total)}**{verdict}; "
        f"{total.without_span} without a span, {total.excluded} excluded.",
        "",
        "| package | functions | with span | excluded | without | coverage |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, c in [*packages(summary, place), ("**total**", total)]:
        cell = name if name == "**total**" else "`" + name.replace("`", "'").replace("|", "\\|") + "`"
        lines.append(f"| {cell} | {c.functions} | {c.with_span} | {c.excluded} | {c.without_span} | {percent(c)} |")
    return "\n".join(lines) + "\n\n"


def append_step_summary(path: Path, text: str, err: TextIO) -> None:
    try:
        with open(path, "a", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
    except OSError as exc:
        print(f"goinstrument: warning: cannot write the step summary {path}: {exc.strerror or exc}", file=err)
