"""The output formats are one table (report/formats.py): a format is a module with a
`render(Context)` and its row, which says what it needs of the run. The command line and the run
read the table, nothing else: a format registered here, in this file alone, is a format of both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from goinstrument import cli
from goinstrument.engine.options import Action
from goinstrument.engine.result import Finding, Kind, Position
from goinstrument.options import Output, RunOptions
from goinstrument.report.base import Context
from goinstrument.report.formats import FORMATS, OutputFormat
from goinstrument.report.summary import EXIT_ERROR, EXIT_FINDINGS, Summary

GO = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) error {\n\treturn ctx.Err()\n}\n'


def _tap(ctx: Context) -> None:
    """A format of this test's own: one line a finding, by kind."""
    for n, finding in enumerate(ctx.summary.findings, 1):
        print(f"not ok {n} {finding.path}:{finding.pos.line} {finding.name} # {finding.kind.value}", file=ctx.out)


@pytest.fixture
def tap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(FORMATS, "tap", OutputFormat("tap", _tap, check_only=True, document=True, closing=False))
    monkeypatch.setattr(sys, "path", list(sys.path))  # cli.main takes the working directory out of it
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.go").write_text(GO)
    return tmp_path


def test_a_format_registered_in_the_table_is_one_of_the_command_line(tap: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--check", "--format", "tap", "a.go"]) == EXIT_FINDINGS
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("not ok 1 a.go:5 F # missing\n", "")  # closing=False: no closing line
    assert (tap / "a.go").read_text() == GO


def test_what_the_table_says_a_format_needs_the_command_line_enforces(tap: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--format", "tap", "a.go"]) == EXIT_ERROR  # check_only
    assert capsys.readouterr().err == "goinstrument: error: --format tap reports what --check finds; add --check\n"
    assert cli.main(["-l", "--format", "tap", "a.go"]) == EXIT_ERROR  # its report does not share stdout
    assert (
        capsys.readouterr().err == "goinstrument: error: -l prints the names of the files a run would change; not with --check, --diff or --format\n"
    )
    assert (tap / "a.go").read_text() == GO


def test_the_closing_line_counts_findings_by_kind_not_by_message() -> None:
    """A stale span whose message reads like a missing one is still counted as stale, and the other way round."""
    summary = Summary(files_seen=2)
    summary.findings += [
        Finding("a.go", Position(1, 1), "F", "no span", Kind.STALE),
        Finding("b.go", Position(1, 1), "G", "span is out of date", Kind.MISSING),
        Finding("b.go", Position(9, 1), "H"),
    ]
    closing = summary.closing(Action.INSTRUMENT, Output.CHECK)
    assert closing == "2 functions without a span, 1 span out of date, in 2 of 2 files"
    assert summary.exit_code(RunOptions(output=Output.CHECK)) == EXIT_FINDINGS
