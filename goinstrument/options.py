"""The options of a run: values only, read by the driver and the report.

`RewriteOptions` (goinstrument.engine.options) is everything that decides what
a file becomes: the only options the engine sees. `RunOptions` is how the run
goes: where the files come from, what is done with the result, how it is
reported. Both are immutable. How a flag or a `.goinstrument.toml` key spells a
rewrite option is `goinstrument.settings`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from goinstrument.engine.options import RewriteOptions

# --- the run ---------------------------------------------------------------------------------------


class Output(enum.Enum):
    """What is done with each file's result."""

    WRITE = "write"  # rewrite files (and, with --staged, the index) in place
    CHECK = "check"  # write nothing; report functions without spans
    DIFF = "diff"  # write nothing; print a unified diff
    LIST = "list"  # write nothing; print the name of each file a run would change (-l)


@dataclass(frozen=True)
class FromPaths:
    """Files and directories named on the command line (default ".")."""

    paths: tuple[str, ...] = (".",)


@dataclass(frozen=True)
class ChangedSince:
    """The .go files changed since merge-base(rev, HEAD), optionally below some paths."""

    rev: str
    paths: tuple[str, ...] = ()
    # --new-from-rev: only the functions a changed line touches are reported and counted.
    new_code_only: bool = False


@dataclass(frozen=True)
class Staged:
    """The pre-commit hook: the staged blobs and their working-tree files."""


@dataclass(frozen=True)
class Stdin:
    """`goinstrument -`: one file's source on stdin, its result on stdout (for editors)."""

    filename: str | None = None  # --stdin-filename: for the tracer (go.mod), skip rules, config and messages


Source = FromPaths | ChangedSince | Staged | Stdin


@dataclass(frozen=True)
class RunOptions:
    output: Output = Output.WRITE
    source: Source = FromPaths()
    format: str = "text"  # an output format: a name in report.formats.FORMATS
    # Coverage (--check): a table per package (--coverage), and the percentage below which the
    # run fails (--fail-under). Run options, not settings: a threshold belongs to the CI job.
    coverage: bool = False
    fail_under: float | None = None
    jobs: int = 0  # worker processes; 0: the number of CPUs
    use_cache: bool = True
    keep_facts: bool = True  # each file's package facts kept in the cache directory (package_scope), whatever the output
    verbosity: int = 0  # -1 quiet (no summary), 0 normal, 1 verbose (every skipped file and why)
    verify: bool = True  # the stability check before every write; --fast turns it off
    progress: bool = False  # a progress bar on stderr for a run over many files (stderr a terminal)
    diff: bool = False  # with Output.CHECK (--check --diff): the patch too, on stdout (the findings then on stderr)


@dataclass(frozen=True)
class Run:
    """A run over files."""

    rewrite: RewriteOptions
    run: RunOptions


@dataclass(frozen=True)
class InstallHook:
    """`--install-hook`: write the git pre-commit hook, and nothing else."""

    force: bool = False


Invocation = Run | InstallHook
