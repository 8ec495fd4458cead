"""A --check run as a SARIF 2.1.0 log, for GitHub code scanning and other SARIF readers.

One run; the tool's rules are a missing span, a span out of date (a finding's
kind, MISSING or STALE) and a file that could not be processed. Every
result is placed by a path relative to the top of the git working tree
(`uriBaseId` `%SRCROOT%`; the URI percent-encodes the name's bytes, so a name that
is not UTF-8 is a valid URI too, `caf%E9.go`; text shows it quoted as git does) and
the line and column of its function. Columns
count bytes, as Go's do (the same as SARIF's UTF-16 columns on ASCII lines).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from goinstrument import __version__
from goinstrument.engine.result import Coverage, Kind, Position, quote_path
from goinstrument.report.base import Context, Place, below_threshold
from goinstrument.report.jsondoc import dump
from goinstrument.report.summary import Summary

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"

MISSING_SPAN, STALE_SPAN, PROBLEM = "missing-span", "stale-span", "problem"

RULES: list[dict[str, object]] = [
    {
        "id": MISSING_SPAN,
        "name": "MissingSpan",
        "shortDescription": {"text": "A function that takes a context.Context has no trace span."},
        "fullDescription": {
            "text": "A function, method or function literal with a context.Context parameter does not start a span "
            "at the top of its body. Run goinstrument to add it, or leave the function out with //instrument:exclude."
        },
        "defaultConfiguration": {"level": "error"},
    },
    {
        "id": STALE_SPAN,
        "name": "StaleSpan",
        "shortDescription": {"text": "A span goinstrument added is out of date."},
        "fullDescription": {
            "text": "Its span name, tracer or error block is not what a run would write now; run goinstrument to bring it up to date."
        },
        "defaultConfiguration": {"level": "warning"},
    },
    {
        "id": PROBLEM,
        "name": "FileNotProcessed",
        "shortDescription": {"text": "A file goinstrument could not process."},
        "fullDescription": {
            "text": "The file does not parse, is not UTF-8, holds an unknown //instrument: directive, or could not be read; it was left untouched."
        },
        "defaultConfiguration": {"level": "error"},
    },
]
_RULE_INDEX = {rule["id"]: index for index, rule in enumerate(RULES)}


def _location(path: str, pos: Position) -> dict[str, object]:
    if os.path.isabs(path):  # outside the working tree: a file URI of its own
        artifact: dict[str, object] = {"uri": Path(path).as_uri()}
    else:
        artifact = {"uri": urllib.parse.quote(os.fsencode(path)), "uriBaseId": SRCROOT}
    region = {"startLine": max(pos.line, 1), "startColumn": max(pos.col, 1)}
    return {"physicalLocation": {"artifactLocation": artifact, "region": region}}


def _result(rule: str, level: str, message: str, path: str, pos: Position, fingerprint: str | None = None) -> dict[str, object]:
    result: dict[str, object] = {
        "ruleId": rule,
        "ruleIndex": _RULE_INDEX[rule],
        "level": level,
        "message": {"text": message},
        "locations": [_location(path, pos)],
    }
    if fingerprint is not None:  # the function, not its line: an alert follows it when lines move
        result["partialFingerprints"] = {"goinstrumentFunction/v1": fingerprint}
    return result


def _coverage(c: Coverage) -> dict[str, object]:
    return {"functions": c.functions, "withSpan": c.with_span, "excluded": c.excluded, "withoutSpan": c.without_span, "percent": c.percent}


def log(summary: Summary, place: Place, fail_under: float | None = None, top: Path | None = None) -> dict[str, object]:
    """The SARIF log of a --check run: findings, problems and warnings as results, a git error
    that stopped the run as a tool notification, the coverage in the run's properties."""
    results = []
    for f in summary.findings:
        path = place(f.path)
        fingerprint = f"{quote_path(path)}:{f.name}"
        if f.kind is Kind.MISSING:
            text = f"{f.name} takes a context.Context and has no span"
            results.append(_result(MISSING_SPAN, "error", text, path, f.pos, fingerprint))
        else:
            results.append(_result(STALE_SPAN, "warning", f"{f.name}: {f.message}", path, f.pos, fingerprint))
    results += [_result(PROBLEM, "error", p.message, place(p.path), p.pos) for p in summary.problems]
    results += [_result(PROBLEM, "warning", p.message, place(p.path), p.pos) for p in summary.warnings]
    total = summary.total_coverage
    notifications = [{"level": "error", "message": {"text": error}} for error in summary.errors]
    if fail_under is not None and total.below(fail_under):
        notifications.append({"level": "error", "message": {"text": below_threshold(total, fail_under)}})
    invocation: dict[str, object] = {"executionSuccessful": not summary.errors and not summary.problems}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "goinstrument",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": RULES,
            }
        },
        "invocations": [invocation],
        "columnKind": "utf16CodeUnits",
        "results": results,
        "properties": {
            "coverage": {
                **_coverage(total),
                "failUnder": fail_under,
                "packages": [{"path": quote_path(place(package)), **_coverage(c)} for package, c in sorted(summary.coverage.items())],
            }
        },
    }
    if top is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": top.as_uri() + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(ctx: Context) -> None:
    print(dump(log(ctx.summary, ctx.place, ctx.run.fail_under, ctx.top)), file=ctx.out)
