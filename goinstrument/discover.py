"""Which files a run looks at: paths as Go users type them, walked with Go's skip rules."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from goinstrument import globs
from goinstrument.options import RewriteOptions
from goinstrument.result import Position, Problem

SKIPPED_DIRECTORIES = ("vendor", "testdata")


def _hidden(name: str) -> bool:
    return name.startswith((".", "_")) and name not in (".", "..")


def skip_reason(path: Path, settings: RewriteOptions) -> str | None:
    """Why the go tool (or our defaults) would leave this .go file alone, or None."""
    name = path.name
    if not name.endswith(".go"):
        return "not a .go file"
    if _hidden(name):
        return "name starts with . or _"
    if name.endswith("_test.go") and not settings.include_tests:
        return "test file"
    parts = _relative_parts(path)
    for part in parts[:-1]:
        if part in SKIPPED_DIRECTORIES or _hidden(part):
            return f"inside {part}/"
    return _left_out_by_globs(path, settings)


def _left_out_by_globs(path: Path, settings: RewriteOptions) -> str | None:
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


def normalize_argument(arg: str) -> str:
    """`./...` and `dir/...` mean the directory, recursively, as for the go command."""
    if arg == "...":
        return "."
    if arg.endswith("/..."):
        return arg[: -len("/...")] or "/"
    return arg


def go_files(
    arguments: Iterable[str], settings: RewriteOptions, problems: list[Problem], skipped: list[tuple[str, str]] | None = None
) -> Iterator[Path]:
    """The .go files named by the arguments, directories walked; bad arguments go to problems,
    and a file named explicitly that a rule leaves alone to `skipped`, as (path, reason)."""
    for arg in arguments:
        raw = normalize_argument(arg)
        path = Path(raw)
        if path.is_dir():  # whatever its name, as gofmt: nats.go/ is a repository, not a file
            yield from _walk(path, settings)
        elif path.is_symlink() and not path.exists():
            problems.append(Problem(arg, Position(1, 1), "is a dangling symbolic link; left untouched"))
        elif not path.exists():
            problems.append(Problem(arg, Position(1, 1), "no such file or directory"))
        else:
            reason = skip_reason(path, settings)
            if reason is None:
                yield path
            elif skipped is not None:
                skipped.append((arg, reason))


def _walk(root: Path, settings: RewriteOptions) -> Iterator[Path]:
    globs = bool(settings.include_paths or settings.exclude_paths)
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRECTORIES and not _hidden(d))
        parent = Path(directory)  # one parse of the directory; each file's path is made from it
        for name in sorted(filenames):
            if not name.endswith(".go") or _hidden(name):
                continue
            if name.endswith("_test.go") and not settings.include_tests:
                continue
            path = parent / name
            if not globs or _left_out_by_globs(path, settings) is None:
                yield path
