"""What every output format builds on: where a report writes, how it places paths, and the
coverage figures in words.

Text shows paths as the run found them (relative to the working directory);
the machine formats (json, github, sarif) show them relative to the top of the
git working tree, where CI and GitHub place files (outside a repository: the
working directory). Every format shows a name that is not UTF-8 (or holds a control
character, a double quote or a backslash) quoted as git quotes it (`result.quote_path`).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TextIO

from goinstrument.engine.options import Action
from goinstrument.engine.result import EXCLUSIONS, Coverage, quote_path
from goinstrument.options import Output, RunOptions
from goinstrument.report.summary import Summary

Place = Callable[[str], str]  # a path as a report shows it


def say(message: str) -> None:
    """A message of the tool's own on stderr (the command line's too)."""
    print(f"goinstrument: {message}", file=sys.stderr)


def mode(output: Output, action: Action) -> str:
    """The run's mode as the JSON document names it: write, remove, check or diff."""
    if output is not Output.WRITE:
        return str(output.value)
    return "remove" if action is Action.REMOVE else "write"


class Context:
    """One report being written: the run's counts and options, and the streams it writes to."""

    def __init__(self, summary: Summary, run: RunOptions, mode: str, out: TextIO, err: TextIO, here: Path, find_top: Callable[[Path], Path]) -> None:
        self.summary = summary
        self.run = run
        self.mode = mode  # as `mode` names it
        self.out = out
        self.err = err
        self.here = here
        self.find_top = find_top  # the top of the git working tree holding a directory (the driver's)

    @property
    def check(self) -> bool:
        return self.mode == "check"

    @property
    def below(self) -> bool:
        """Whether --check's coverage is below --fail-under."""
        return self.check and self.run.fail_under is not None and self.summary.total_coverage.below(self.run.fail_under)

    @cached_property
    def top(self) -> Path:
        """Where the machine formats place paths from: the top of the git working tree."""
        return self.find_top(self.here)

    @cached_property
    def place(self) -> Place:
        """Paths as the machine formats show them: relative to `top`."""
        return relative_to(self.top, self.here)


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


def packages(summary: Summary, place: Place) -> list[tuple[str, Coverage]]:
    """(package as shown, its coverage), sorted by the name shown."""
    return sorted((quote_path(place(package)), c) for package, c in summary.coverage.items())


def coverage_table(summary: Summary, place: Place) -> str:
    """Coverage per package (directory) and in total, one row each."""
    rows = [*packages(summary, place), ("total", summary.total_coverage)]
    width = max(len("package"), *(len(name) for name, _ in rows))
    head = f"{'package':<{width}}  functions  with span  excluded  without  coverage"
    lines = [head]
    for name, c in rows:
        lines.append(f"{name:<{width}}  {c.functions:>9}  {c.with_span:>9}  {c.excluded:>8}  {c.without_span:>7}  {percent(c):>8}")
    return "\n".join(lines)
