"""The options of a run: values only, read by the driver and the report.

`RewriteOptions` (goinstrument.engine.options) is everything that decides what
a file becomes: the only options the engine sees. `RunOptions` is how the run
goes: where the files come from, what is done with the result, how it is
reported. Both are immutable. How a flag or a `.goinstrument.toml` key spells a
rewrite option is `goinstrument.settings`.
"""

from __future__ import annotations

import enum
from typing import Final

from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Value
from goinstrument.tuples import NamedTuple

# --- the run ---------------------------------------------------------------------------------------


class Output(enum.Enum):
    """What is done with each file's result."""

    WRITE = "write"  # rewrite files (and, with --staged, the index) in place
    CHECK = "check"  # write nothing; report functions without spans
    DIFF = "diff"  # write nothing; print a unified diff
    LIST = "list"  # write nothing; print the name of each file a run would change (-l)


class FromPaths(Value):
    """Files and directories named on the command line (default ".")."""

    __slots__ = ("paths",)

    def __init__(self, paths: tuple[str, ...] = (".",)) -> None:
        self.paths: Final = paths


class ChangedSince(Value):
    """The .go files changed since merge-base(rev, HEAD), optionally below some paths."""

    __slots__ = ("rev", "paths", "new_code_only")  # noqa: RUF023 (__init__'s order)

    def __init__(self, rev: str, paths: tuple[str, ...] = (), new_code_only: bool = False) -> None:
        self.rev: Final = rev
        self.paths: Final = paths
        # --new-from-rev: only the functions a changed line touches are reported and counted.
        self.new_code_only: Final = new_code_only


class Staged(Value):
    """The pre-commit hook: the staged blobs and their working-tree files."""

    __slots__ = ()


class Stdin(Value):
    """`goinstrument -`: one file's source on stdin, its result on stdout (for editors)."""

    __slots__ = ("filename",)

    def __init__(self, filename: str | None = None) -> None:
        self.filename: Final = filename  # --stdin-filename: for the tracer (go.mod), skip rules, config and messages


Source = FromPaths | ChangedSince | Staged | Stdin


class RunOptions(NamedTuple):
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


class Run(Value):
    """A run over files."""

    __slots__ = ("rewrite", "run")

    def __init__(self, rewrite: RewriteOptions, run: RunOptions) -> None:
        self.rewrite: Final = rewrite
        self.run: Final = run


class InstallHook(Value):
    """`--install-hook`: write the git pre-commit hook, and nothing else."""

    __slots__ = ("force",)

    def __init__(self, force: bool = False) -> None:
        self.force: Final = force


Invocation = Run | InstallHook
