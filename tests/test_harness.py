"""The tests' in-process command line (conftest.invoke) behaves as a process of its own would:
each run starts from what a new process has, and leaves this one as it found it."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from conftest import invoke, run_cli
from test_backends import MY_BACKEND, _users_backend
from test_cli import PLAIN, module


def test_a_run_leaves_this_process_as_it_found_it(tmp_path):
    root = module(tmp_path, {"a.go": PLAIN})
    before = (os.getcwd(), dict(os.environ), list(sys.path), sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM))
    umask = os.umask(0o077)
    os.umask(umask)
    proc = invoke("--check", ".", cwd=root, env={**os.environ, "GOINSTRUMENT_SOMETHING": "1", "PYTHONPATH": str(tmp_path / "lib")})
    assert proc.returncode == 1 and proc.stdout == b"a.go:5:1: F: no span\n"
    after = (os.getcwd(), dict(os.environ), list(sys.path), sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM))
    assert after == before
    assert os.umask(umask) == umask


def test_a_second_run_sees_the_files_as_they_are_now(tmp_path):
    """package_scope remembers a directory's declarations for the length of a process: a run in
    this process must not meet the first run's memory (the sibling's `otel` would go unseen)."""
    root = module(tmp_path, {"a.go": PLAIN})
    run_cli(".", cwd=root, check=0)
    (root / "b.go").write_text("package p\n\nvar otel = 1\n")
    run_cli("a.go", cwd=root, check=0)
    assert '\totelapi "go.opentelemetry.io/otel"\n' in (root / "a.go").read_text()


def test_a_backend_module_is_imported_afresh_by_each_run(tmp_path):
    """A backend's module is imported from PYTHONPATH by each run, as each process would: another
    directory's module of the same name is not the one that runs."""
    src = module(tmp_path, {"a.go": PLAIN}) / "a.go"
    for word in ("enter", "entering"):
        (tmp_path / word).mkdir()
        env = _users_backend(tmp_path / word, "harnessbackend", MY_BACKEND.replace('"enter"', f'"{word}"'))
        src.write_bytes(PLAIN)
        proc = run_cli("--backend", "harnessbackend:LogBackend", "a.go", cwd=src.parent, check=0, env=env)
        assert "harnessbackend" not in sys.modules, proc.stderr
        assert f'log.Println("{word}", "F")' in src.read_text()


def test_an_exit_by_system_exit_is_the_exit_code(tmp_path):
    proc = invoke("--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(b"usage: goinstrument ")


def test_the_current_directory_on_pythonpath_needs_a_process_of_its_own(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="run_process"):
        invoke("--check", ".", cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep})
    assert Path.cwd() != tmp_path
