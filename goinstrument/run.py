"""A run over files: find them (paths, changed since a revision, or staged), process them, report, exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from goinstrument.options import Action, ChangedSince, Format, Output, RewriteOptions, RunOptions, Staged
from goinstrument.result import Summary

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def run(rewrite: RewriteOptions, options: RunOptions) -> int:
    """Run as the options say; the exit code."""
    if isinstance(options.source, Staged):
        return _staged(rewrite, options)
    return _paths(rewrite, options)


def _say(message: str) -> None:
    print(f"goinstrument: {message}", file=sys.stderr)


def _staged(rewrite: RewriteOptions, options: RunOptions) -> int:
    from goinstrument import gitops
    from goinstrument.discover import skip_reason
    from goinstrument.pipeline import rewrite_source

    check = options.output is Output.CHECK
    try:
        top = gitops.worktree_top(Path.cwd())  # run_staged asks about paths relative to it
        summary = gitops.run_staged(
            Path.cwd(),
            options.output,
            lambda p, s: rewrite_source(p, s, rewrite, check),
            lambda p: skip_reason(top / p, rewrite),
        )
    except gitops.GitError as exc:
        _say(str(exc))
        return EXIT_ERROR
    return _finish(summary, rewrite, options)


def _paths(rewrite: RewriteOptions, options: RunOptions) -> int:
    from goinstrument.discover import go_files, skip_reason
    from goinstrument.result import Problem
    from goinstrument.runner import run as run_files

    problems: list[Problem] = []
    source = options.source
    if isinstance(source, ChangedSince):
        from goinstrument import gitops

        try:
            changed = gitops.changed_go_files(Path.cwd(), source.rev, [Path(p) for p in source.paths])
        except gitops.GitError as exc:
            _say(str(exc))
            return EXIT_ERROR
        files = [_relative(p) for p in changed if skip_reason(p, rewrite) is None]
    else:
        files = list(dict.fromkeys(go_files(source.paths, rewrite, problems)))
    summary, outcomes = run_files(files, rewrite, options)
    summary.problems[:0] = problems
    if options.output is Output.DIFF:
        for outcome in outcomes:
            if outcome.diff:
                sys.stdout.write(outcome.diff)
    return _finish(summary, rewrite, options)


def _relative(path: Path) -> Path:
    """Paths are shown relative to the working directory, as git shows them."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _closing(summary: Summary, rewrite: RewriteOptions, options: RunOptions) -> str:
    n = len(summary.problems)
    errors = f", {_plural(n, 'file')} left untouched because of errors" if n else ""
    files = _plural(summary.files_seen, "file")
    if options.output is Output.CHECK:
        return f"{_plural(len(summary.findings), 'function')} without a span in {files}{errors}"
    verb = "would change" if options.output is Output.DIFF else "changed"
    spans = (
        f"{_plural(summary.spans_removed, 'span')} removed"
        if rewrite.action is Action.REMOVE
        else f"{_plural(summary.spans_added, 'span')} added"
    )
    return f"{summary.files_changed} of {files} {verb}, {spans}{errors}"


def _exit_code(summary: Summary, options: RunOptions) -> int:
    if summary.problems:
        return EXIT_ERROR
    if options.output is Output.CHECK and summary.findings:
        return EXIT_FINDINGS
    return EXIT_OK


def _finish(summary: Summary, rewrite: RewriteOptions, options: RunOptions) -> int:
    from goinstrument.report import report

    report(summary, options.format, options.output is Output.CHECK)
    if options.verbosity >= 0 and options.format is not Format.JSON:
        _say(_closing(summary, rewrite, options))
    return _exit_code(summary, options)
