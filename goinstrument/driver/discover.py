"""Which files a run looks at: paths as Go users type them, walked with the skip rules (skips.py)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from goinstrument.driver.skips import left_out_by_globs, name_reason, skip_reason, skipped_directory
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Position, Problem

__all__ = ["go_files", "normalize_argument", "skip_reason"]


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
    """The .go files below `root` (named, so never left out itself), with Go's skip rules and, inside
    a git working tree, without what .gitignore (and .git/info/exclude, core.excludesFile) ignores."""
    globs = bool(settings.include_paths or settings.exclude_paths)
    ignored = _GitIgnored.at(root)
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not skipped_directory(d))
        if ignored is not None:
            dirnames[:] = [d for d in dirnames if not ignored(os.path.join(directory, d), directory=True)]
        parent = Path(directory)  # one parse of the directory; each file's path is made from it
        for name in sorted(filenames):
            if name_reason(name, settings) is not None:
                continue
            path = parent / name
            if ignored is not None and ignored(os.fspath(path)):
                continue
            if not globs or left_out_by_globs(path, settings) is None:
                yield path


class _GitIgnored:
    """Whether git ignores a path of the working tree holding the walk, as `git status` does
    (pygit2, loaded only when a directory is walked inside a repository)."""

    def __init__(self, top: str) -> None:
        import pygit2

        self.top = top
        self.repository = pygit2.Repository(top)

    @classmethod
    def at(cls, root: Path) -> _GitIgnored | None:
        here = os.path.realpath(root)
        probe = here
        while not os.path.lexists(os.path.join(probe, ".git")):
            parent = os.path.dirname(probe)
            if parent == probe:
                return None
            probe = parent
        try:
            ignored = cls(probe)
        except Exception:  # a .git that is no repository libgit2 can open: walk as outside one
            return None
        if ignored.repository.is_bare or ignored.repository.workdir is None:
            return None
        if here != probe and ignored(here, directory=True):  # a directory git ignores, named: the user wants what is in it
            return None
        return ignored

    def __call__(self, path: str, directory: bool = False) -> bool:
        rel = os.path.relpath(os.path.realpath(os.path.dirname(path)), self.top)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return False  # reached through a link to outside the working tree
        rel = os.path.join(rel, os.path.basename(path)) if rel != "." else os.path.basename(path)
        name = Path(rel).as_posix() + ("/" if directory else "")
        try:
            return bool(self.repository.path_is_ignored(name))
        except UnicodeEncodeError:  # a name that is not UTF-8 (pygit2 takes str only): its bad bytes as U+FFFD
            return bool(self.repository.path_is_ignored(os.fsencode(name).decode("utf-8", "replace")))
