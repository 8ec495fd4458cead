"""Helpers for tests that run the real Go toolchain.

Every helper that can fail returns or raises with the command, its exit
status and its whole output, so a failing test shows what Go said.
scripts/go-tools.sh installs goimports, staticcheck and the fixture module's
dependencies before the suite runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GOMOD_FIXTURE = REPO / "fixtures" / "gomod"


def _missing(what: str) -> None:
    """A tool is missing: fail under CI (it must be installed), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (run scripts/go-tools.sh)")
    pytest.skip(what)


def go_bin() -> str:
    """Path of the go command: PATH first, then the usual install places."""
    found = shutil.which("go")
    if found:
        return found
    for candidate in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
        if os.access(candidate, os.X_OK):
            return candidate
    _missing("the go toolchain is not installed")
    raise AssertionError("unreachable")


def go_env(name: str) -> str:
    proc = subprocess.run([go_bin(), "env", name], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def gofmt_bin() -> str:
    """gofmt from the same GOROOT as go (so the two always agree)."""
    candidate = Path(go_env("GOROOT"), "bin", "gofmt")
    if os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("gofmt")
    if found:
        return found
    _missing("gofmt is not installed")
    raise AssertionError("unreachable")


def _go_tool(name: str, missing: str) -> str:
    """A tool from $(go env GOPATH)/bin (where scripts/go-tools.sh puts it), else PATH."""
    for gopath in go_env("GOPATH").split(os.pathsep):
        candidate = Path(gopath, "bin", name)
        if gopath and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    _missing(missing)
    raise AssertionError("unreachable")


def goimports_bin() -> str:
    return _go_tool("goimports", "goimports is not installed")


def staticcheck_bin() -> str:
    return _go_tool("staticcheck", "staticcheck is not installed (scripts/go-tools.sh installs it)")


_STATICCHECK_LINE = re.compile(r"^(?:\./)?([^:\n]+\.go):\d+:\d+: (.*) \((\w+)\)$", re.M)


def staticcheck(directory: Path) -> Counter[tuple[str, str, str]]:
    """staticcheck ./... of a module: each diagnostic as (file, check, message), positions left out so
    that the same finding in an instrumented copy (its lines moved) counts as the same."""
    proc = subprocess.run([staticcheck_bin(), "./..."], cwd=directory, capture_output=True, text=True, env=go_environ(), timeout=900)
    found = Counter((m.group(1), m.group(3), m.group(2)) for m in _STATICCHECK_LINE.finditer(proc.stdout))
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not found):
        raise AssertionError(f"staticcheck failed in {directory}\n{describe(proc, directory)}")
    return found


def go_environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for go commands: never fetch another toolchain."""
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    env.update(extra or {})
    return env


def describe(proc: subprocess.CompletedProcess[str], cwd: Path | str | None = None) -> str:
    """A readable account of a finished command: what ran, where, and all it printed."""
    cmd = proc.args if isinstance(proc.args, str) else " ".join(map(str, proc.args))
    where = f" (in {cwd})" if cwd else ""
    return f"$ {cmd}{where}\nexit status {proc.returncode}\n--- stdout ---\n{proc.stdout or ''}--- stderr ---\n{proc.stderr or ''}"


def run_go(args, cwd, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `go ARGS` in cwd and return the finished process (text output)."""
    return subprocess.run(
        [go_bin(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=go_environ(env),
        timeout=timeout,
    )


def _list_unformatted(tool: str, directory: Path) -> list[str]:
    proc = subprocess.run([tool, "-l", "."], cwd=directory, capture_output=True, text=True, env=go_environ())
    assert proc.returncode == 0 and not proc.stderr, describe(proc, directory)
    return sorted(line for line in proc.stdout.splitlines() if line)


def gofmt_l(directory: Path) -> list[str]:
    """Files under directory that gofmt would change (paths relative to it)."""
    return _list_unformatted(gofmt_bin(), directory)


def goimports_l(directory: Path) -> list[str]:
    """Files under directory that goimports would change (paths relative to it)."""
    return _list_unformatted(goimports_bin(), directory)


def go_build_vet(directory: Path, env: dict[str, str] | None = None, context: str = "") -> None:
    """Assert that `go build ./...` and `go vet ./...` succeed in directory.

    -mod=readonly is explicit, so a go.sum that lacks an entry fails here
    even when GOFLAGS says -mod=mod.
    """
    for args in (["build", "-mod=readonly", "./..."], ["vet", "-mod=readonly", "./..."]):
        proc = run_go(args, directory, env=env)
        assert proc.returncode == 0, f"{context}go {args[0]} failed\n{describe(proc, directory)}"


def copy_module(src: Path, tmp_path: Path, name: str | None = None) -> Path:
    """Copy a module tree into tmp_path (symlinks kept) and return the copy."""
    dest = Path(tmp_path) / (name or Path(src).name)
    shutil.copytree(src, dest, symlinks=True)
    return dest


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every regular file under root, keyed by its relative path."""
    root = Path(root)
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def digest_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Relative paths added, removed or changed between two tree_digest results."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
