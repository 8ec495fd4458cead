"""The report of one run: what its files' outcomes add up to, its closing line and its exit code.

Every file's `Outcome` is counted by `Summary.add`, the one place a file is counted; the
closing line and the exit code are read off the counts, whatever the format shows them in.
"""

from __future__ import annotations

import os

from goinstrument.engine.options import Action
from goinstrument.engine.result import Coverage, Finding, Kind, Outcome, Problem
from goinstrument.options import Output, RunOptions, Staged, Stdin

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class Summary:
    """What a whole run did: the counts, for the report, the closing line and the exit code.

    A plain class, not a dataclass (whose class costs a hook's start-up its generated methods)."""

    def __init__(
        self,
        *,
        files_seen: int = 0,
        files_changed: int = 0,
        skipped: list[tuple[str, str]] | None = None,
        spans_added: int = 0,
        spans_removed: int = 0,
        spans_updated: int = 0,
        findings: list[Finding] | None = None,
        problems: list[Problem] | None = None,
        warnings: list[Problem] | None = None,
        coverage: dict[str, Coverage] | None = None,
        errors: list[str] | None = None,
        excluded: list[Finding] | None = None,
        notes: list[Problem] | None = None,
        notices: list[str] | None = None,
    ) -> None:
        self.files_seen = files_seen
        self.files_changed = files_changed
        self.skipped = [] if skipped is None else skipped  # (path, reason), for -v and the count
        self.spans_added = spans_added
        self.spans_removed = spans_removed
        self.spans_updated = spans_updated
        self.findings = [] if findings is None else findings
        self.problems = [] if problems is None else problems
        self.warnings = [] if warnings is None else warnings  # said, but not a failure of the run
        self.coverage = {} if coverage is None else coverage  # per package: the directory of its files, as shown
        self.errors = [] if errors is None else errors  # what stopped the run before any file (a git error)
        self.excluded = [] if excluded is None else excluded  # functions a span would change, left without one
        self.notes = [] if notes is None else notes  # each once: a package's rule, where it comes from
        self.notices = [] if notices is None else notices  # said on stderr after the report: what to do next (go get ...)

    def add(self, file: Outcome) -> None:
        """Count one file's Outcome: the one place a file is counted."""
        self.files_seen += 1
        self.findings.extend(file.findings)
        if file.problem is not None:
            self.problems.append(file.problem)
        if file.skipped is not None:
            self.skipped.append((file.path, file.skipped))
        if file.changed:
            self.files_changed += 1
            self.spans_added += file.spans_added
            self.spans_removed += file.spans_removed
            self.spans_updated += file.spans_updated
        self.excluded.extend(file.excluded)
        self.notes.extend(n for n in file.notes if n not in self.notes)
        if file.coverage.functions:
            package = os.path.dirname(file.path) or "."
            self.coverage[package] = self.coverage.get(package, Coverage()) + file.coverage

    @property
    def total_coverage(self) -> Coverage:
        return sum(self.coverage.values(), Coverage())

    def count(self, kind: Kind) -> int:
        """How many findings are of `kind`."""
        return sum(1 for f in self.findings if f.kind is kind)

    def closing(self, action: Action, output: Output) -> str:
        """The line that closes a run, on stderr: what it found, or what it changed (or would)."""
        n = len(self.problems)
        errors = f", {_plural(n, 'file')} left untouched because of errors" if n else ""
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        files = _plural(self.files_seen, "file")
        if output is Output.CHECK:
            stale = self.count(Kind.STALE)
            found = _plural(self.count(Kind.MISSING), "function") + " without a span" + (f", {_plural(stale, 'span')} out of date," if stale else "")
            with_findings = len({f.path for f in self.findings})
            return f"{found} in {with_findings} of {files}{skipped}{errors}"
        diff = output in (Output.DIFF, Output.LIST)
        removing = action is Action.REMOVE
        spans = _plural(self.spans_removed if removing else self.spans_added, "span")
        done = ("to remove" if diff else "removed") if removing else ("to add" if diff else "added")
        if self.spans_updated and not removing:
            done += f", {_plural(self.spans_updated, 'span')} {'to update' if diff else 'updated'}"
        return f"{self.files_changed} of {files} {'would change' if diff else 'changed'}, {spans} {done}{skipped}{errors}"

    def says_closing(self, options: RunOptions) -> bool:
        """Whether the run closes with its line: not with -q, not from a hook that had nothing to
        do, not from an editor's filter (which shows stderr as an error) unless -v."""
        quiet_hook = isinstance(options.source, Staged) and not (self.files_changed or self.problems or self.findings)
        quiet_filter = isinstance(options.source, Stdin) and options.verbosity <= 0
        return options.verbosity >= 0 and not quiet_hook and not quiet_filter

    def exit_code(self, options: RunOptions) -> int:
        """0: done; 1: findings (--check, or the coverage below --fail-under), or files -l lists; 2: errors."""
        if self.problems or self.errors:
            return EXIT_ERROR
        if options.output is Output.CHECK and options.fail_under is not None:  # the threshold decides, not each finding
            return EXIT_FINDINGS if self.total_coverage.below(options.fail_under) else EXIT_OK
        if options.output is Output.CHECK and self.findings:
            return EXIT_FINDINGS
        if options.output is Output.LIST and self.files_changed:  # as gofmt -l in CI: something to do
            return EXIT_FINDINGS
        return EXIT_OK
