"""--check reports spans a run would change (name, tracer, error block), not only missing ones.

A span in our shape whose name, tracer or error block is not what a run would
write is a finding `path:line:col: Name: span is out of date (...)`, so a CI
gate fails on a rename nobody re-instrumented. The golden pairs
update_renamed, update_error_gained and update_error_lost show what the run
then writes.
"""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Finding, Kind, Position
from goinstrument.report.github import Annotations
from goinstrument.report.jsondoc import as_json
from goinstrument.report.summary import Summary
from goinstrument.report.text import Lines

HEADER = (
    'package p\n\nimport (\n\t"context"\n\t"errors"\n\n\t"go.opentelemetry.io/otel"\n\t"go.opentelemetry.io/otel/codes"\n'
    '\tsemconv "go.opentelemetry.io/otel/semconv/v1.43.0"\n)\n\n'
)
ERROR_BLOCK = (
    "\tdefer func() {\n\t\tif err != nil && !errors.Is(err, context.Canceled) {\n\t\t\tspan.SetStatus(codes.Error, err.Error())\n"
    "\t\t\tspan.SetAttributes(semconv.ErrorType(err))\n\t\t}\n\t}()\n"
)


def _span(name: str, tracer: str = "t", result: str = "", block: bool = False) -> str:
    start = f'\t_, span := otel.Tracer("{tracer}").Start(ctx, "{name}")\n\tdefer span.End()\n'
    return f"func F(ctx context.Context) {result}{{\n{start}{ERROR_BLOCK if block else ''}\treturn\n}}\n\nvar _ = codes.Ok\n"


def _messages(src: str) -> list[str]:
    return [f.text() for f in instrument(src.encode(), RewriteOptions(), FileInfo("f.go", "t")).findings]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_span("Old"), 'span is out of date (name "Old")'),
        (_span("F", tracer="old/tracer"), 'span is out of date (tracer "old/tracer")'),
        (_span("Old", tracer="old/tracer"), 'span is out of date (name "Old", tracer "old/tracer")'),
        (_span("F", result="(err error) "), "span is out of date (no error block)"),
        (_span("F", result="(n int) ", block=True), "span is out of date (error block without an error result)"),
        (_span("F", result="(e error) ", block=True), "span is out of date (error block records err)"),
    ],
)
def test_a_span_a_run_would_change_is_a_finding(body, message):
    assert _messages(HEADER + body) == [f"f.go:12:1: F: {message}"]


def test_an_up_to_date_span_is_no_finding():
    assert _messages(HEADER + _span("F", result="(err error) ", block=True)) == []
    assert _messages(HEADER + _span("F")) == []


def test_only_the_context_name_changing_is_no_finding():
    """`_` becoming `ctx` once the body reads the context is tidying, not a stale span."""
    src = HEADER + _span("F").replace("\treturn\n", "\t_ = ctx\n\treturn\n")
    result = instrument(src.encode(), RewriteOptions(), FileInfo("f.go", "t"))
    assert result.changed and result.findings == ()


def test_a_missing_span_keeps_its_message():
    assert Finding("a.go", Position(5, 1), "F").text() == "a.go:5:1: F: no span"


def test_reports_carry_the_message():
    stale = Finding("a.go", Position(5, 1), "T.M", 'span is out of date (name "Old")', Kind.STALE)
    assert Lines().finding(stale, str, "error") == 'a.go:5:1: T.M: span is out of date (name "Old")'
    assert Annotations().finding(stale, str, "error") == '::error file=a.go,line=5,col=1,title=goinstrument::T.M: span is out of date (name "Old")'
    found = json.loads(as_json(Summary(findings=[stale, Finding("b.go", Position(1, 1), "F")]), "check"))["findings"]
    assert [(f["function"], f["message"]) for f in found] == [("T.M", 'span is out of date (name "Old")'), ("F", "no span")]


def test_check_fails_on_a_renamed_function_nobody_reinstrumented(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "a.go").write_text(HEADER + _span("Old", tracer="example.com/m"))
    proc = run_cli("--check", "a.go", cwd=tmp_path, check=1)
    assert proc.stdout == 'a.go:12:1: F: span is out of date (name "Old")\n'
    run_cli("a.go", cwd=tmp_path, check=0)
    assert run_cli("--check", "a.go", cwd=tmp_path, check=0).stdout == ""
