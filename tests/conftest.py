"""What every test shares: a private cache, and the command line run in this process.

`invoke` (and `run_cli`, `GitRepo.goinstrument` over it) calls `goinstrument.cli.main(argv)` here,
as `python -m goinstrument` would run it, with its own working directory, environment, stdin and
captured stdout/stderr (text and bytes): starting a Python process costs about 0.9 s, the run itself
a few ms. What a process would start afresh is made fresh and put back afterwards: the working
directory, os.environ, sys.path (PYTHONPATH's entries put on it, as Python does at start-up, and the
modules imported from them forgotten), the standard streams, signal handlers, umask, and the caches
the package keeps at module level (a process would not see one run's files in the next). A
SystemExit is the exit code. The tests that must prove the installed entry point, a separate process
or signals start a real process themselves (test_startup, test_hook, test_precommit, test_action,
the `run_process` calls here and there).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).parent.parent

# No git configuration of the user's or the machine's reaches the suite, nor a caller's git
# variables (GIT_DIR and the like, where the suite is run from a git hook): a global core.hooksPath
# would have the tests' hooks written there, and their commits made without them. For git
# commands (GIT_CONFIG_*), and for libgit2 in this process, which reads $HOME's files otherwise.
for _name in [name for name in os.environ if name.startswith("GIT_")]:
    del os.environ[_name]
os.environ.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)


def _no_libgit2_config() -> None:
    import pygit2
    from pygit2.enums import ConfigLevel

    for level in (ConfigLevel.SYSTEM, ConfigLevel.XDG, ConfigLevel.GLOBAL, ConfigLevel.PROGRAMDATA):
        pygit2.settings.search_path[level] = os.devnull  # (not a directory: no file is found there)


_no_libgit2_config()


@pytest.fixture(scope="session")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where --install-hook builds the hook's native client: once a session, not once a test."""
    return tmp_path_factory.mktemp("client")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, client_dir: Path) -> None:
    """Every test gets its own no-op cache, so no test sees another's."""
    monkeypatch.setenv("GOINSTRUMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("GOINSTRUMENT_CLIENT_DIR", str(client_dir))
    # A hook a test commits through runs in its own process: no warm server left behind
    # (tests/test_server.py starts its own, each in a runtime directory of its own).
    monkeypatch.setenv("GOINSTRUMENT_SERVER", "0")


def run_cli(
    *args: object, cwd: Path | str | None = None, check: int | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`goinstrument ARGS` with this environment plus `env`, run in this process; output as text."""
    proc = as_text(invoke(*args, cwd=cwd, env={**os.environ, **(env or {})}))
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def run_process(
    *args: object, cwd: Path | str | None = None, check: int | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m goinstrument ARGS` for real, in a process of its own (this checkout on PYTHONPATH):
    for what only a process shows (sys.path at start-up, signals, the exit of the interpreter)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "goinstrument", *map(str, args)], cwd=cwd, capture_output=True, text=True, env=full_env)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def go_version_line(src: bytes) -> tuple[int, int] | None:
    """A fixture's module Go version, from its line `// go.mod: go 1.23` (None: no module)."""
    found = re.search(rb"^// go\.mod: go (\d+)\.(\d+)$", src, re.MULTILINE)
    return (int(found[1]), int(found[2])) if found else None


def json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a text, one after another (what the stdout exporter writes; a doc's samples)."""
    import json

    decoder, found, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) >= 0:
        value, at = decoder.raw_decode(text, start)
        found.append(value)
    return found


def nothing_changed(stderr: str) -> bool:
    """The run's closing line (its last) says it changed no file: "0 of N files changed, 0 spans added"
    (or removed), never "10 of 12"."""
    lines = stderr.strip().splitlines()
    return bool(lines) and re.match(r"goinstrument: 0 of \d+ files? changed, 0 spans (added|removed)\b", lines[-1]) is not None


def as_text(proc: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[str]:
    """The output decoded as a pipe's reader with `text=True` would (UTF-8, undecodable bytes replaced)."""
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


def invoke(
    *args: object, cwd: Path | str | None = None, env: Mapping[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """`goinstrument ARGS` in this process: `env` is the whole environment (os.environ's if None),
    `stdin` the bytes it reads; exit code, stdout and stderr as a process would give them."""
    from goinstrument import cli

    argv = [str(a) for a in args]
    out, err = io.BytesIO(), io.BytesIO()
    with _fresh_process(Path(cwd or os.getcwd()), dict(os.environ if env is None else env)):
        sys.argv = ["goinstrument", *argv]
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        streams = sys.stdout, sys.stderr = (io.TextIOWrapper(out, encoding="utf-8"), io.TextIOWrapper(err, encoding="utf-8"))
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse's --help, or a sys.exit somewhere
            code = _exit_code(exc.code, streams[1])
        for stream in streams:
            stream.flush()
            stream.detach()  # the bytes stay readable: a wrapper collected later would close them
    return subprocess.CompletedProcess(["goinstrument", *argv], code, out.getvalue(), err.getvalue())


def _exit_code(code: object, stderr: io.TextIOBase) -> int:
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=stderr)  # as the interpreter does with sys.exit("message")
    return 1


@contextlib.contextmanager
def _fresh_process(cwd: Path, env: dict[str, str]) -> Iterator[None]:
    saved_cwd, saved_env, saved_path, saved_argv = os.getcwd(), dict(os.environ), list(sys.path), list(sys.argv)
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_modules = set(sys.modules)
    pythonpath = env.get("PYTHONPATH", "").split(os.pathsep) if env.get("PYTHONPATH") else []
    if not all(map(os.path.isabs, pythonpath)):  # "" or "." on it: the current directory at start-up, a process's own
        raise ValueError(f"PYTHONPATH={env['PYTHONPATH']!r} names the current directory: run_process, not in this process")
    _forget_caches()
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.path[1:1] = [entry for entry in pythonpath if entry != str(REPO)]  # after the script's directory, as at start-up
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        sys.argv = saved_argv
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)
        os.umask(saved_umask)
        for name in set(sys.modules) - saved_modules:  # a backend's module, say: the next run imports its own
            if name.partition(".")[0] != "goinstrument" and _under(getattr(sys.modules[name], "__file__", None), pythonpath):
                del sys.modules[name]
        _forget_caches()


def _under(file: str | None, directories: list[str]) -> bool:
    return file is not None and any(Path(file).is_relative_to(d) for d in directories)


def _forget_caches() -> None:
    """What the package remembers at module level for the length of a process (functools caches,
    the last directory read): a process of its own would start without it."""
    for name, module in list(sys.modules.items()):
        if name != "goinstrument" and not name.startswith("goinstrument."):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
        if hasattr(module, "_last_read"):
            setattr(module, "_last_read", ("", (), ()))  # noqa: B010 (mypy: not every module has it)
        if hasattr(module, "_facts_home"):
            setattr(module, "_facts_home", None)  # noqa: B010
