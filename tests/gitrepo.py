"""Real git repositories in temporary directories, driven by the `git` command.

Every change a test makes to a repository goes through git itself (or plain file
writes in the working tree), so the tool meets the same on-disk state a user has.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import goinstrument

# The checkout the tests run from: put on PYTHONPATH so that `python -m goinstrument`
# (and the installed hook) find this package even when it is not pip-installed.
CHECKOUT = Path(goinstrument.__file__).resolve().parent.parent

GO_MOD = "module example.com/shop\n\ngo 1.22\n"


def checkout_files(*pathspec: str) -> list[str]:
    """This checkout's files, tracked or new and not ignored (under `pathspec`, if given). The
    suite sees no global git config (conftest.py), so a checkout another user owns is declared
    safe here, where a global safe.directory would have said so."""
    listed = subprocess.run(
        ["git", "-c", "safe.directory=*", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *pathspec],
        cwd=CHECKOUT,
        capture_output=True,
        check=True,
    )
    return [name for name in os.fsdecode(listed.stdout).split("\0") if name and (CHECKOUT / name).is_file()]


# One function that takes a context and returns an error: the smallest thing that gets a span.
GO_FUNC = 'package shop\n\nimport "context"\n\nfunc F(ctx context.Context) error { return nil }\n'


def git_env(**extra: str) -> dict[str, str]:
    """The environment for git and goinstrument: no user or system config, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        PYTHONPATH=os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


class GitRepo:
    """A working tree with its repository; paths are relative to the top of the tree."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def init(cls, root: Path, branch: str = "main", bare: bool = False) -> GitRepo:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        repo = cls(root)
        repo.git("init", "-q", "-b", branch, *(["--bare"] if bare else []))
        if not bare:
            repo.git("config", "user.name", "Test")
            repo.git("config", "user.email", "test@example.com")
        return repo

    @classmethod
    def go_module(cls, root: Path, files: dict[str, str] | None = None) -> GitRepo:
        """A repository holding a Go module, its first commit made."""
        repo = cls.init(root)
        repo.write("go.mod", GO_MOD)
        for rel, text in (files or {"shop.go": GO_FUNC}).items():
            repo.write(rel, text)
        repo.commit_all("first")
        return repo

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
        proc = self.run("git", *args, env=env, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def run(self, *argv: str, env: dict[str, str] | None = None, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        """Any command in the working tree; stdout and stderr captured as text."""
        proc = subprocess.run(argv, cwd=self.root, env=env or git_env(), input=input, capture_output=True, check=False)
        return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))

    def goinstrument(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The command line, as a user runs it from the top of the tree (in this process: conftest.invoke)."""
        from conftest import as_text, invoke

        return as_text(invoke(*args, cwd=self.root, env=env or git_env()))

    def goinstrument_process(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`python -m goinstrument ARGS` in a process of its own, from the top of the tree."""
        return self.run(sys.executable, "-m", "goinstrument", *args, env=env)

    # --- the working tree ------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.root / rel

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def read(self, rel: str) -> str:
        return self.path(rel).read_text()

    # --- the index and history -------------------------------------------------------------

    def add(self, *rels: str) -> None:
        self.git("add", "--", *rels)

    def commit(self, message: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`git commit -m message ARGS...` (hooks run); the completed process, not checked."""
        return self.run("git", "commit", "-q", "-m", message, *args, env=env)

    def commit_all(self, message: str) -> str:
        """Stage everything and commit it, hooks skipped; the new commit's id."""
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def show(self, spec: str) -> str:
        """`git show REV:path` (committed) or `git show :path` (staged)."""
        return self.git("show", spec)

    def staged(self, rel: str) -> str:
        return self.show(f":{rel}")

    def staged_mode(self, rel: str) -> str:
        return self.git("ls-files", "-s", "--", rel).split()[0]

    def status(self) -> str:
        return self.git("status", "--porcelain")

    def unstaged_diff(self, *rels: str) -> str:
        return self.git("diff", "--", *rels)

    def staged_diff(self, *rels: str) -> str:
        return self.git("diff", "--cached", "--", *rels)
