"""Printing findings and problems: text, JSON or GitHub workflow annotations."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from goinstrument.options import Format
from goinstrument.result import Finding, Problem, Summary


def _github_escape(value: str, property_: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _github(kind: str, path: str, line: int, col: int, message: str) -> str:
    file = _github_escape(path, property_=True)
    return f"::{kind} file={file},line={line},col={col},title=goinstrument::{_github_escape(message)}"


def finding_line(finding: Finding, fmt: Format) -> str:
    if fmt is Format.GITHUB:
        return _github("error", finding.path, finding.pos.line, finding.pos.col, f"{finding.name}: {finding.message}")
    return finding.text()


def problem_line(problem: Problem, fmt: Format) -> str:
    if fmt is Format.GITHUB:
        return _github("error", problem.path, problem.pos.line, problem.pos.col, problem.message)
    return problem.text()


def as_json(summary: Summary) -> str:
    def item(path: str, line: int, col: int, **rest: object) -> dict[str, object]:
        return {"path": path, "line": line, "col": col, **rest}

    return json.dumps(
        {
            "findings": [item(f.path, f.pos.line, f.pos.col, function=f.name, message=f.message) for f in summary.findings],
            "problems": [item(p.path, p.pos.line, p.pos.col, message=p.message) for p in summary.problems],
            "files_seen": summary.files_seen,
            "files_changed": summary.files_changed,
            "spans_added": summary.spans_added,
            "spans_removed": summary.spans_removed,
        },
        indent=2,
    )


def report(summary: Summary, fmt: Format, check: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
    """Findings on stdout (in --check); problems on stderr, or with the findings for json/github."""
    if fmt is Format.JSON:
        print(as_json(summary), file=out)
        return
    if check:
        for finding in summary.findings:
            print(finding_line(finding, fmt), file=out)
    for problem in summary.problems:
        print(problem_line(problem, fmt), file=out if fmt is Format.GITHUB else err)
