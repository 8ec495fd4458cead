"""`goinstrument -`: one file's source on stdin, its result on stdout, as editors run gofmt and black.

The source goes through `process` like any other file. `--stdin-filename` names it:
that name finds its go.mod (the tracer), is judged by the skip rules (a test file,
vendor/, the include and exclude globs, the build constraint of its name) and names
it in messages; without it the file is `<stdin>`, in the working directory, and only
the content rules apply. Its `.goinstrument.toml` is found by `cli.build`.

stdout gets what the output asks for: the new source, or the input unchanged when
the file is skipped or has a problem (the problem on stderr, exit 2), as gofmt does;
a diff (`--diff`); or nothing but the findings the report prints (`--check`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from goinstrument.driver.discover import skip_reason
from goinstrument.driver.fileio import write_stdout
from goinstrument.driver.process import process
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Outcome, Source
from goinstrument.options import Output, RunOptions, Stdin
from goinstrument.report.linediff import file_patch
from goinstrument.report.summary import Summary

STDIN_NAME = "<stdin>"  # the file's name in messages and diffs without --stdin-filename


def run_stdin(rewrite: RewriteOptions, options: RunOptions) -> Summary:
    """Read stdin, process it, write the result on stdout; what the run did, for the report."""
    assert isinstance(options.source, Stdin)
    filename = options.source.filename
    data = sys.stdin.buffer.read()
    source = Source(filename or STDIN_NAME, Path(filename or STDIN_NAME), data)
    reason = skip_reason(source.place, rewrite) if filename else None
    if reason is not None:
        outcome = Outcome.skip(source.path, reason, data)
    else:
        outcome = process(source, rewrite, check=options.output is Output.CHECK, verify=options.verify)
    _write(outcome, options.output)
    summary = Summary()
    summary.add(outcome)
    return summary


def _write(outcome: Outcome, output: Output) -> None:
    if output is Output.CHECK:
        return
    if output is Output.DIFF:
        write_stdout(file_patch(outcome.path, outcome.source, outcome.output).encode() if outcome.changed else b"")
        return
    write_stdout(outcome.output if outcome.changed else outcome.source)
