"""`--install-hook`: a git pre-commit hook that runs `goinstrument --staged`."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pygit2

from goinstrument.fileio import FileError, replace_atomically
from goinstrument.gitops import open_repository
from goinstrument.result import GitError

MARKER = "# goinstrument pre-commit hook"


def hook_script(python: str | None = None) -> str:
    """The hook: goinstrument under the Python that installed it, else the one on PATH.

    `-P`: git runs hooks at the top of the working tree, and a goinstrument.py there
    must not stand in for the installed package.
    """
    python = shlex.quote(python or sys.executable)
    return f"""#!/bin/sh
{MARKER}: instruments the staged Go files and re-stages them.
# Written by `goinstrument --install-hook`; run that again to update it, delete this file to remove it.
python={python}
if [ -x "$python" ]; then
\texec "$python" -P -m goinstrument --staged
fi
if command -v goinstrument >/dev/null 2>&1; then
\texec goinstrument --staged
fi
echo "goinstrument pre-commit hook: neither $python nor goinstrument on PATH; reinstall goinstrument or delete $0" >&2
exit 2
"""


def hooks_dir(repo: pygit2.Repository) -> Path:
    """Where git looks for hooks: core.hooksPath (relative to the working tree), else the common git dir's hooks/."""
    try:
        configured = repo.config["core.hooksPath"]
    except KeyError:
        configured = None
    if configured:
        return Path(repo.workdir) / os.path.expanduser(configured)
    return _common_dir(Path(repo.path)) / "hooks"


def _common_dir(git_dir: Path) -> Path:
    """A linked worktree's git dir names the main one in `commondir`; hooks live there."""
    try:
        pointer = (git_dir / "commondir").read_text().strip()
    except OSError:
        return git_dir
    return (git_dir / pointer).resolve()


def install_hook(start: Path, force: bool = False) -> str:
    """Write the pre-commit hook; refuse to replace one goinstrument did not write unless `force`."""
    repo = open_repository(start)
    hook = hooks_dir(repo) / "pre-commit"
    script = hook_script()
    try:
        existing = hook.read_text(errors="replace")
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise GitError(f"cannot read {hook}: {exc.strerror or exc}") from None
    if existing == script and os.access(hook, os.X_OK):
        return f"the pre-commit hook is already installed: {hook}"
    foreign = existing is not None and MARKER not in existing
    if foreign and not force:
        raise GitError(f"{hook} exists and was not written by goinstrument; use --force to replace it")
    backup = hook.with_name("pre-commit.bak") if foreign else None
    try:
        hook.parent.mkdir(parents=True, exist_ok=True)
        if backup is not None:
            os.replace(hook, backup)
        replace_atomically(hook, script.encode(), mode=0o755)
    except OSError as exc:
        raise GitError(f"cannot write {hook}: {exc.strerror or exc}") from None
    except FileError as exc:
        raise GitError(f"cannot write {hook}: {exc}") from None
    if backup is not None:
        return f"replaced the pre-commit hook (the old one is now {backup}): {hook}"
    verb = "updated" if existing is not None else "installed"
    return f"{verb} the pre-commit hook: {hook}"
