"""A run's report: findings, problems and coverage as text, JSON, GitHub workflow annotations or SARIF.

Text shows paths as the run found them (relative to the working directory);
the machine formats (json, github, sarif) show them relative to the top of the
git working tree, where CI and GitHub place files (outside a repository: the
working directory). Every format shows a name that is not UTF-8 (or holds a control
character, a double quote or a backslash) quoted as git quotes it (`result.quote_path`).
The JSON document is versioned (`SCHEMA`); docs/json.md documents every key.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from goinstrument.engine.options import Action
from goinstrument.engine.result import EXCLUSIONS, NO_SPAN, Coverage, Finding, Problem, Summary, printable, quote_path
from goinstrument.options import Format, Output, RunOptions

SCHEMA = 1  # the JSON document's version: raised when a key changes meaning or goes away

Place = Callable[[str], str]  # a path as a report shows it


def mode(output: Output, action: Action) -> str:
    """The run's mode as the JSON document names it: write, remove, check or diff."""
    if output is not Output.WRITE:
        return str(output.value)
    return "remove" if action is Action.REMOVE else "write"


def repository_top(cwd: Path) -> Path:
    """The top of the git working tree holding `cwd`; outside a repository, `cwd` itself."""
    from goinstrument.driver import git as gitops

    return Path(os.path.realpath(gitops.worktree_top_or_none(cwd) or cwd))


def relative_to(top: Path, here: Path) -> Place:
    """Paths (relative to `here`) relative to `top`, "/"-separated; a path outside `top` stays absolute."""

    def place(path: str) -> str:
        full = os.path.realpath(os.path.join(here, path or "."))
        if os.path.islink(os.path.join(here, path)):  # a linked file is placed where its link is
            full = os.path.join(os.path.realpath(os.path.dirname(os.path.join(here, path))), os.path.basename(path))
        rel = os.path.relpath(full, top)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return Path(full).as_posix()
        return Path(rel).as_posix()

    return place


def percent(coverage: Coverage) -> str:
    """The percentage with one decimal, rounded down: 79.96% shows as 79.9%, never as a passing 80.0%."""
    return f"{math.floor(coverage.percent * 10) / 10:.1f}%"


def coverage_line(coverage: Coverage, unread: int = 0) -> str:
    """The coverage, or, when no function was measured because files could not be processed, that."""
    if coverage.functions == 0 and unread:
        return f"coverage: no function takes a context ({unread} file{'' if unread == 1 else 's'} could not be processed)"
    kinds = ", ".join(f"{n} {EXCLUSIONS.get(kind, kind)}" for kind, n in coverage.excluded_by)
    return (
        f"coverage: {coverage.with_span} of {coverage.functions} functions taking a context have a span ({percent(coverage)}); "
        f"{coverage.without_span} without a span, {coverage.excluded} excluded" + (f" ({kinds})" if kinds else "")
    )


def below_threshold(coverage: Coverage, fail_under: float) -> str:
    return f"coverage {percent(coverage)} is below --fail-under {fail_under:g}%"


def coverage_table(summary: Summary, place: Place) -> str:
    """Coverage per package (directory) and in total, one row each."""
    rows = [(quote_path(place(package)), c) for package, c in summary.coverage.items()]
    rows.sort()
    rows.append(("total", summary.total_coverage))
    width = max(len("package"), *(len(name) for name, _ in rows))
    head = f"{'package':<{width}}  functions  with span  excluded  without  coverage"
    lines = [head]
    for name, c in rows:
        lines.append(f"{name:<{width}}  {c.functions:>9}  {c.with_span:>9}  {c.excluded:>8}  {c.without_span:>7}  {percent(c):>8}")
    return "\n".join(lines)


# --- GitHub workflow annotations ------------------------------------------------------------------


def _github_escape(value: str, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _github(kind: str, path: str | None, line: int, col: int, message: str) -> str:
    if path is None:
        return f"::{kind} title=goinstrument::{_github_escape(message)}"
    file = _github_escape(quote_path(path), property_=True)
    return f"::{kind} file={file},line={line},col={col},title=goinstrument::{_github_escape(message)}"


def finding_line(finding: Finding, fmt: Format, place: Place = str, level: str = "error") -> str:
    """One finding; as a GitHub annotation of `level` (a warning once --fail-under passes)."""
    if fmt is Format.GITHUB:
        return _github(level, place(finding.path), finding.pos.line, finding.pos.col, f"{finding.name}: {finding.message}")
    return finding.text()


def problem_line(problem: Problem, fmt: Format, place: Place = str) -> str:
    if fmt is Format.GITHUB:
        return _github("error", place(problem.path), problem.pos.line, problem.pos.col, problem.message)
    return problem.text()


# --- JSON ----------------------------------------------------------------------------------------------


def _coverage_json(c: Coverage) -> dict[str, object]:
    return {
        "functions": c.functions,
        "with_span": c.with_span,
        "excluded": c.excluded,
        "excluded_by": [{"kind": kind, "count": n} for kind, n in c.excluded_by],
        "without_span": c.without_span,
        "percent": c.percent,
    }


def as_json(summary: Summary, run_mode: str, place: Place = str, fail_under: float | None = None) -> str:
    """The run as one JSON document, schema `SCHEMA`: the keys of its mode, as docs/json.md lists them."""

    def item(path: str | None, line: int | None, col: int | None, **rest: object) -> dict[str, object]:
        return {"path": None if path is None else quote_path(path), "line": line, "col": col, **rest}

    problems = [item(place(p.path), p.pos.line, p.pos.col, message=p.message) for p in summary.problems]
    problems += [item(None, None, None, message=error) for error in summary.errors]
    document: dict[str, object] = {
        "schema": SCHEMA,
        "mode": run_mode,
        "files_seen": summary.files_seen,
        "skipped": [{"path": quote_path(place(path)), "reason": reason} for path, reason in summary.skipped],
        "problems": problems,
        "warnings": [item(place(p.path), p.pos.line, p.pos.col, message=p.message) for p in summary.warnings],
        "notes": [item(place(p.path), p.pos.line, p.pos.col, message=p.message) for p in summary.notes],
    }
    if run_mode == "check":
        document["findings"] = [
            item(place(f.path), f.pos.line, f.pos.col, function=f.name, message=f.message) for f in summary.findings
        ]
        document["files_with_findings"] = len({f.path for f in summary.findings})
        packages = sorted((quote_path(place(package)), c) for package, c in summary.coverage.items())
        total = _coverage_json(summary.total_coverage)
        if summary.errors or (summary.total_coverage.functions == 0 and summary.problems):
            total["percent"] = None  # nothing was measured: no figure that claims 100%
        document["coverage"] = {
            **total,
            "fail_under": fail_under,
            "packages": [{"path": name, **_coverage_json(c)} for name, c in packages],
        }
    else:
        document["files_changed"] = summary.files_changed
        if run_mode == "remove":
            document["spans_removed"] = summary.spans_removed
        else:
            document["spans_added"] = summary.spans_added
            document["spans_updated"] = summary.spans_updated
    return dump(document)


def dump(document: object) -> str:
    """A JSON document whose strings are all Unicode: a byte of a name that is not UTF-8, in a
    message, as `\\351` (names themselves are quoted), never a lone surrogate escape."""

    def clean(value: object) -> object:
        if isinstance(value, str):
            return printable(value)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return json.dumps(clean(document), indent=2)


# --- the report --------------------------------------------------------------------------------------


def report(summary: Summary, run: RunOptions, run_mode: str, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Findings on stdout (in --check); problems and warnings on stderr, or with the findings for
    json/github/sarif; with `verbose`, every file left alone on purpose and why, on stderr. A
    git error that stopped the run is said on stderr in every format, and is part of the output
    of the machine formats too. Coverage (in --check): a table per package with --coverage,
    and a message when it is below --fail-under."""
    out, err = out or sys.stdout, err or sys.stderr  # the streams of now, not of when this module was loaded
    fmt, check = run.format, run_mode == "check"
    for error in summary.errors:
        print(f"goinstrument: {error}", file=err)
    here = Path.cwd()
    top = here if fmt is Format.TEXT else repository_top(here)
    place: Place = str if fmt is Format.TEXT else relative_to(top, here)
    below = check and run.fail_under is not None and summary.total_coverage.below(run.fail_under)
    if below and run.fail_under is not None:
        print(f"goinstrument: {below_threshold(summary.total_coverage, run.fail_under)}", file=err)
    if fmt is Format.JSON:
        print(as_json(summary, run_mode, place, run.fail_under), file=out)
        return
    if fmt is Format.SARIF:
        from goinstrument.report import sarif

        print(dump(sarif.log(summary, place, run.fail_under, top)), file=out)
        return
    github = fmt is Format.GITHUB
    if run.verbosity > 0:
        for path, reason in summary.skipped:
            print(f"{quote_path(path)}: skipped: {reason}", file=err)
        for excluded in summary.excluded:
            print(excluded.text(), file=err)
    if run.verbosity > 0 or check:
        for note in summary.notes:  # why spans are as they are: not a finding, no effect on the exit code
            if github:
                print(_github("notice", place(note.path), note.pos.line, note.pos.col, note.message), file=out)
            else:
                print(note.text(), file=err)
    for error in summary.errors if github else ():
        print(_github("error", None, 0, 0, error), file=out)
    if check:
        # Under a --fail-under that passes, the findings do not fail the run: warnings, not errors.
        level = "warning" if run.fail_under is not None and not below else "error"
        for finding in summary.findings:  # with --diff, stdout is the patch's
            print(finding_line(finding, fmt, place, level), file=err if run.diff else out)
    for problem in summary.problems:
        print(problem_line(problem, fmt, place), file=out if github else err)
    for warning in summary.warnings:
        if github:
            print(_github("warning", place(warning.path), warning.pos.line, warning.pos.col, warning.message), file=out)
        else:
            print(f"{quote_path(warning.path)}:{warning.pos.line}:{warning.pos.col}: warning: {warning.message}", file=err)
    if check and run.coverage and not summary.errors:
        print(coverage_table(summary, place), file=out)
    if github and below and run.fail_under is not None:
        print(_github("error", None, 0, 0, below_threshold(summary.total_coverage, run.fail_under)), file=out)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if github and check and step_summary and not summary.errors:
        _append_step_summary(Path(step_summary), markdown_coverage(summary, place, run.fail_under), err)


def markdown_coverage(summary: Summary, place: Place, fail_under: float | None = None) -> str:
    """The coverage line and the table per package as GitHub-flavoured markdown (the job's summary page)."""
    total = summary.total_coverage
    verdict = ""
    if fail_under is not None:
        verdict = f" ({'below' if total.below(fail_under) else 'meets'} --fail-under {fail_under:g}%)"
    rows = sorted((quote_path(place(package)), c) for package, c in summary.coverage.items())
    lines = [
        "### goinstrument: span coverage",
        "",
        f"{total.with_span} of {total.functions} functions taking a context have a span: **{percent(total)}**{verdict}; "
        f"{total.without_span} without a span, {total.excluded} excluded.",
        "",
        "| package | functions | with span | excluded | without | coverage |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, c in [*rows, ("**total**", total)]:
        cell = name if name == "**total**" else "`" + name.replace("`", "'").replace("|", "\\|") + "`"
        lines.append(f"| {cell} | {c.functions} | {c.with_span} | {c.excluded} | {c.without_span} | {percent(c)} |")
    return "\n".join(lines) + "\n\n"


def _append_step_summary(path: Path, text: str, err: TextIO) -> None:
    try:
        with open(path, "a", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
    except OSError as exc:
        print(f"goinstrument: warning: cannot write the step summary {path}: {exc.strerror or exc}", file=err)


def missing_and_stale(findings: list[Finding]) -> tuple[int, int]:
    """(functions without a span, spans out of date) among the findings."""
    missing = sum(1 for f in findings if f.message == NO_SPAN)
    return missing, len(findings) - missing
