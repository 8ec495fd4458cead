"""One Outcome per file, tagged by its kind: `changed` is decided where it is made, and the
report counts it by its tags, never by a message's text."""

from __future__ import annotations

from goinstrument.engine.result import Coverage, Finding, Kind, Outcome, Position, Problem, Result
from goinstrument.report.summary import Summary


def test_a_processed_file_is_changed_when_its_bytes_are() -> None:
    same = Outcome.done("a.go", b"x", Result(b"x", b"x", coverage=Coverage(1, 1)))
    new = Outcome.done("b.go", b"x", Result(b"x", b"y", spans_added=1))
    assert (same.kind, same.changed, new.kind, new.changed) == (None, False, None, True)


def test_a_problem_and_a_skip_are_tagged_and_never_changed() -> None:
    problem = Problem("a.go", Position(3, 1), "syntax error")
    failed = Outcome.done("a.go", b"x", Result(b"x", b"y", problem=problem, spans_added=1))
    skipped = Outcome.skip("b.go", "generated file", b"x")
    assert (failed.kind, failed.changed, failed.output) == (Kind.PROBLEM, False, b"x")
    assert (skipped.kind, skipped.changed, skipped.skipped) == (Kind.SKIPPED, False, "generated file")
    summary = Summary()
    for outcome in (failed, skipped, Outcome.done("c.go", b"x", Result(b"x", b"y", spans_added=2))):
        summary.add(outcome)
    assert (summary.files_seen, summary.files_changed, summary.spans_added) == (3, 1, 2)
    assert (summary.problems, summary.skipped) == ([problem], [("b.go", "generated file")])


def test_a_worker_sends_back_no_bytes_but_the_outcome_stays_what_it_was() -> None:
    outcome = Outcome.done("a.go", b"x", Result(b"x", b"y", (Finding("a.go", Position(1, 1), "F"),), spans_added=1))
    light = outcome.light(diff="--- a/a.go\n")
    assert (light.source, light.output, light.changed, light.findings, light.diff) == (b"", b"", True, outcome.findings, "--- a/a.go\n")
