"""Which files a run leaves alone on purpose, and why: the one list of skip rules.

By path (`skip_reason`): what the go command leaves out of a package (a name
that is not `.go`, starts with `.` or `_`; a directory `vendor`, `testdata`, or
starting with `.` or `_`), test files unless `--include-tests`, and the include
and exclude globs. By content (`content_reason`): a generated file unless
`--include-generated`, a build constraint no platform satisfies. The walk, a
named file, stdin's `--stdin-filename`, git's changed and staged files and the
package scan ask these; the cache keeps the reason a file was skipped with its stamp.
"""

from __future__ import annotations

import os
from pathlib import Path

from goinstrument.driver import globs
from goinstrument.engine.go import buildtags
from goinstrument.engine.go.generated import is_generated
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Source

SKIPPED_DIRECTORIES = ("vendor", "testdata")


def ignored_by_go(name: str) -> bool:
    """A file or directory name the go command ignores: it starts with `.` or `_`."""
    return name.startswith((".", "_")) and name not in (".", "..")


def skipped_directory(name: str) -> bool:
    """A directory whose files (and those below it) a walk leaves alone."""
    return name in SKIPPED_DIRECTORIES or ignored_by_go(name)


def name_reason(name: str, settings: RewriteOptions) -> str | None:
    """Why a file's own name leaves it alone, or None."""
    if not name.endswith(".go"):
        return "not a .go file"
    if ignored_by_go(name):
        return "name starts with . or _"
    if name.endswith("_test.go") and not settings.include_tests:
        return "test file"
    return None


def skip_reason(path: Path, settings: RewriteOptions) -> str | None:
    """Why the go tool (or our defaults) would leave this .go file alone, or None."""
    reason = name_reason(path.name, settings)
    if reason is not None:
        return reason
    parts = _relative_parts(path)
    for part in parts[:-1]:
        if skipped_directory(part):
            return f"inside {part}/"
    return left_out_by_globs(path, settings)


def left_out_by_globs(path: Path, settings: RewriteOptions) -> str | None:
    """Why the include/exclude globs leave this file out, or None; a relative glob
    (from --exclude) is taken from the working directory, as the path is."""
    if not settings.include_paths and not settings.exclude_paths:
        return None
    cwd = os.getcwd()
    full = Path(os.path.abspath(path)).as_posix()
    if settings.include_paths and not any(globs.matches(globs.anchor(g, cwd), full) for g in settings.include_paths):
        return "not matched by the include globs"
    for glob in settings.exclude_paths:
        if globs.matches(globs.anchor(glob, cwd), full):
            return f"excluded by {glob}"
    return None


def _relative_parts(path: Path) -> tuple[str, ...]:
    """The path as seen from the working directory: directories above it (../) are not judged."""
    try:
        return Path(os.path.relpath(path)).parts
    except ValueError:
        return path.parts


def content_reason(source: Source, options: RewriteOptions) -> str | None:
    """Why a file's bytes say to leave it alone, or None; a malformed build constraint raises
    buildtags.ConstraintError (a problem, not a skip)."""
    if not options.include_generated and is_generated(source.data):
        return "generated file"
    if not buildtags.can_build(os.path.basename(source.place), source.data):
        return "build constraint never satisfied"
    return None
