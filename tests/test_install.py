"""The README's two quick-start commands in each way of installing it names (issue 22 item 1).

`.ci/run` runs the second command, scripts/test, in a fresh virtual environment. Here,
on a copy of this checkout (so that no install repoints the one the suite runs from),
with a HOME, a user base and a pipx home of their own:

- the first command, `goinstrument --diff fixtures/example`, from a `pipx install .` and
  from a `pip install --user .`, prints what this checkout prints;
- the second, scripts/test, passes on a user install, and on a system Python that is
  externally managed (PEP 668), as where goinstrument came from pipx: there it makes its
  own .venv. Its pytest runs one small test file: the whole suite is what .ci/run runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

EXTERNALLY_MANAGED = (
    "import os, sys, sysconfig; sys.exit(sys.prefix != sys.base_prefix or not "
    "os.path.isfile(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"
)


def externally_managed(python: str) -> bool:
    return subprocess.run([python, "-c", EXTERNALLY_MANAGED]).returncode == 0


def base_python() -> str:
    """The Python this one's virtual environment (if any) was made from: a user install needs one."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of this checkout, as a fresh clone has it (uncommitted changes included)."""
    copy = tmp_path / "goinstrument"
    shutil.copytree(
        REPO,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache", "out"),
    )
    return copy


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The user's environment with a HOME of its own, nothing on PYTHONPATH, pip left to choose where to install."""
    home = tmp_path / "home"
    home.mkdir()
    drop = {"PYTHONPATH", "PIP_USER", "PIP_NO_BUILD_ISOLATION", "VIRTUAL_ENV", "PYTHONUSERBASE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    # The Go side stays where it is (scripts/go-tools.sh's tools, the module and build caches): only Python's install is on trial.
    go = subprocess.run(["go", "env", "GOPATH", "GOCACHE", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.split()
    env.update(zip(("GOPATH", "GOCACHE", "GOMODCACHE"), go, strict=True))
    return {**env, "HOME": str(home), "PIP_CACHE_DIR": os.path.expanduser("~/.cache/pip")}


def on_path(env: dict[str, str], *dirs: str) -> dict[str, str]:
    return {**env, "PATH": os.pathsep.join([*dirs, env["PATH"]])}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def first_command_output() -> str:
    """`goinstrument --diff fixtures/example` as this checkout prints it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "goinstrument", "--diff", "fixtures/example"], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "+\tdefer span.End()" in proc.stdout, proc.stderr
    return proc.stdout


def test_the_first_command_from_pipx(checkout, env, tmp_path):
    pipx = tmp_path / "pipx-tool"  # pipx itself, as `apt install pipx` or `pip install --user pipx` gives it
    run([sys.executable, "-m", "venv", str(pipx)], tmp_path, env)
    run([str(pipx / "bin" / "python"), "-m", "pip", "install", "--quiet", "pipx"], tmp_path, env)
    env = {**env, "PIPX_HOME": str(tmp_path / "pipx-home"), "PIPX_BIN_DIR": str(tmp_path / "pipx-bin")}
    run([str(pipx / "bin" / "pipx"), "install", "."], checkout, env)
    proc = run([str(tmp_path / "pipx-bin" / "goinstrument"), "--diff", "fixtures/example"], checkout, env)
    assert proc.stdout == first_command_output()


def test_the_first_command_from_a_user_install(checkout, env, tmp_path):
    python = base_python()
    if externally_managed(python):
        pytest.skip(f"{python} is externally managed: pip refuses --user there (the README says pipx)")
    env = {**env, "PYTHONUSERBASE": str(tmp_path / "userbase")}
    run([python, "-m", "pip", "install", "--quiet", "--user", "."], checkout, env)
    proc = run([str(tmp_path / "userbase" / "bin" / "goinstrument"), "--diff", "fixtures/example"], checkout, env)
    assert proc.stdout == first_command_output()


def test_the_second_command_on_a_user_install(checkout, env, tmp_path):
    python = base_python()
    if externally_managed(python):
        pytest.skip(f"{python} is externally managed: pip refuses --user there (the README says pipx)")
    # PIP_USER=1: what pip does on its own where the system's site-packages is not writable
    env = on_path({**env, "PYTHONUSERBASE": str(tmp_path / "userbase"), "PIP_USER": "1"}, str(Path(python).parent))
    proc = run(["scripts/test", "-q", "-p", "no:cacheprovider", "tests/test_readme.py"], checkout, env)
    assert re.search(r"\b\d+ passed", proc.stdout) and "failed" not in proc.stdout, proc.stdout  # tests/test_readme.py, whatever its count
    assert not (checkout / ".venv").exists()
    assert list((tmp_path / "userbase").glob("lib/python*/site-packages/__editable__*goinstrument*"))


def test_the_second_command_where_the_system_python_is_externally_managed(checkout, env, tmp_path):
    managed = [p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p) and externally_managed(p)]
    if not managed:
        pytest.skip("no externally managed Python on this machine")
    bin_dir = tmp_path / "system-bin"  # python3 is the system's, as on Debian after `pipx install .`
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(managed[0])
    proc = run(["scripts/test", "-q", "-p", "no:cacheprovider", "tests/test_readme.py"], checkout, on_path(env, str(bin_dir)))
    assert "is externally managed: installing into .venv" in proc.stderr
    assert re.search(r"\b\d+ passed", proc.stdout) and "failed" not in proc.stdout, proc.stdout  # tests/test_readme.py, whatever its count
    assert (checkout / ".venv" / "bin" / "python3").exists()
