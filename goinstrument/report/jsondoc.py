"""The run as one JSON document on stdout (`--format json`).

The document is versioned (`SCHEMA`); docs/json.md documents every key.
"""

from __future__ import annotations

import json

from goinstrument.engine.result import Coverage, printable, quote_path
from goinstrument.report.base import Context, Place, packages
from goinstrument.report.summary import Summary

SCHEMA = 1  # the JSON document's version: raised when a key changes meaning or goes away


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
        document["findings"] = [item(place(f.path), f.pos.line, f.pos.col, function=f.name, message=f.message) for f in summary.findings]
        document["files_with_findings"] = len({f.path for f in summary.findings})
        total = _coverage_json(summary.total_coverage)
        if summary.errors or (summary.total_coverage.functions == 0 and summary.problems):
            total["percent"] = None  # nothing was measured: no figure that claims 100%
        document["coverage"] = {
            **total,
            "fail_under": fail_under,
            "packages": [{"path": name, **_coverage_json(c)} for name, c in packages(summary, place)],
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


def render(ctx: Context) -> None:
    print(as_json(ctx.summary, ctx.mode, ctx.place, ctx.run.fail_under), file=ctx.out)
