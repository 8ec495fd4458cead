"""The hook's native client (goinstrument/hookclient/main.go), built by --install-hook with the real
`go`, against real servers (tests/test_server.py's helpers): it hands a run to the server the
Python client would have, and only then; anywhere else it runs the Python client in its place.

Whether it handed the run over itself or ran Python is read from the line it appends to the file
GOINSTRUMENT_CLIENT_TRACE names.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitrepo import CHECKOUT, GO_FUNC, GitRepo
from test_server import NO_SPAN, SPAN, _paused_run, _runs, client, counts, module, runtime, served, served_env, up, wait_for, warm

from goinstrument import __version__, server
from goinstrument.driver import hook

__all__ = ["runtime"]  # (the fixture, used by name)

pytestmark = pytest.mark.skipif(sys.platform != "linux" or shutil.which("go") is None, reason="the server is Linux only; the client is built with go")


@pytest.fixture
def native(client_dir: Path) -> Path:
    built, why = hook.build_client()
    assert built is not None, why
    assert built.parent == client_dir
    return built


def run_native(native: Path, cwd: Path, *args: str, env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The hook's command with its native client: `CLIENT PYTHON ARGS`."""
    return subprocess.run([native, sys.executable, *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False)


def traced(env: dict[str, str]) -> list[str]:
    path = Path(env["GOINSTRUMENT_CLIENT_TRACE"])
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def traced_while_served(env: dict[str, str]) -> list[str]:
    """traced(env) of a run still going on: a served client says so after the hand-over, and its
    run's child may be at its pause first."""
    path = Path(env["GOINSTRUMENT_CLIENT_TRACE"])
    wait_for(lambda: path.exists() and path.read_text().endswith("\n"))
    return traced(env)


def native_env(runtime: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return served_env(runtime, GOINSTRUMENT_CLIENT_TRACE=str(tmp_path / "trace"), **extra)


def paused_env(runtime: Path, tmp_path: Path, repo: GitRepo) -> dict[str, str]:
    """native_env with the index pause _paused_run sets: the manifest's environment is the run's."""
    return native_env(runtime, tmp_path, GOINSTRUMENT_TEST_INDEX_PAUSE=f"read:{repo.root.parent / 'paused'}")


def ready(native: Path, runtime: Path, cwd: Path, env: dict[str, str]) -> int:
    """A server up, and the manifest the native client reads: its first run ran Python's client
    (none there), which left one. The server's pid."""
    pid = warm(runtime, cwd, env)
    done = run_native(native, cwd, "--version", env=env)
    assert done.returncode == 0, done.stderr
    assert traced(env) == ["python: no manifest"]
    assert list((runtime / "goinstrument").glob("m-*"))
    return pid


def test_install_hook_builds_the_native_client_once_and_the_hooks_run_it(tmp_path, client_dir):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    lines = hook.install_hook(repo.root).splitlines()
    (built,) = client_dir.glob("hook-client-*")
    assert lines[-1] == f"the hooks hand their runs to goinstrument's server through {built}"
    script = (repo.root / ".git" / "hooks" / "pre-commit").read_text()
    assert f"client={built}" in script and '"$client" "$python" --staged </dev/null' in script
    assert '"$client" "$python" --staged --check </dev/null' in (repo.root / ".git" / "hooks" / "pre-merge-commit").read_text()
    stamp = built.stat()
    assert hook.install_hook(repo.root).splitlines()[-1] == lines[-1]  # found built: not built again
    assert built.stat().st_mtime_ns == stamp.st_mtime_ns and built.stat().st_ino == stamp.st_ino
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = repo.commit("through the native client")  # (no server here: it runs Python's client in-process)
    assert done.returncode == 0, done.stderr
    assert SPAN in repo.show("HEAD:shop.go")


def test_without_go_the_hooks_run_pythons_client(tmp_path, monkeypatch):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    only_git = tmp_path / "bin"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git") or "git")
    monkeypatch.setenv("PATH", str(only_git))
    monkeypatch.setenv("GOINSTRUMENT_CLIENT_DIR", str(tmp_path / "client"))
    lines = hook.install_hook(repo.root).splitlines()
    assert lines[-1] == "the hooks run Python's client: no go command on PATH to build the native one"
    assert "client=" not in (repo.root / ".git" / "hooks" / "pre-commit").read_text()
    assert not list((tmp_path / "client").glob("hook-client-*"))


def test_a_client_deleted_after_install_leaves_the_hook_to_python(tmp_path, client_dir, monkeypatch):
    monkeypatch.setenv("GOINSTRUMENT_CLIENT_DIR", str(tmp_path / "client"))
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    hook.install_hook(repo.root)
    shutil.rmtree(tmp_path / "client")
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = repo.commit("no client")
    assert done.returncode == 0, done.stderr
    assert SPAN in repo.show("HEAD:shop.go")


def test_the_native_client_is_served_once_pythons_client_left_a_manifest(tmp_path, runtime, native):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = native_env(runtime, tmp_path)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    first = run_native(native, repo.root, "--staged", env=env)
    assert first.returncode == 0, first.stderr
    assert traced(env) == ["python: no socket directory of ours"]  # (none yet: Python's client made it, started a server, ran it)
    assert SPAN in repo.staged("shop.go")
    pid = up(runtime)
    repo.write("orders.go", GO_FUNC.replace("func F", "func H"))
    repo.add("orders.go")
    second = run_native(native, repo.root, "--staged", env=env)
    assert second.returncode == 0, second.stderr
    (line,) = traced(env)
    assert line.startswith("served by ") and int(line.split()[-1]) > 0
    assert counts(runtime) == {pid: 1}
    assert 'Start(ctx, "H")' in repo.staged("orders.go") and repo.read("orders.go") == repo.staged("orders.go")
    # Another current directory: another manifest (Python's client, once).
    elsewhere = run_native(native, tmp_path, "--version", env=env)
    assert elsewhere.returncode == 0 and traced(env) == ["python: no manifest"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--staged", "-v"), 0),
        (("--check",), 1),
        (("--bogus",), 2),
        (("-", "--stdin-filename", "shop.go"), 0),
    ],
)
def test_a_run_handed_over_by_the_native_client_is_the_run_of_pythons(tmp_path, runtime, native, args, code):
    """Exit code, stdout and stderr bytes, index and working tree: the same through either client."""

    def outcome(run) -> tuple[int, bytes, bytes, str, dict[str, bytes]]:
        repo = module(tmp_path / "repo", {"shop.go": GO_FUNC, "sub/orders.go": NO_SPAN.replace("package shop", "package sub")})
        repo.write("shop.go", GO_FUNC + "\n// edited\n")
        repo.add("shop.go")
        done = run(repo.root)
        files = {rel: repo.path(rel).read_bytes() for rel in ("shop.go", "sub/orders.go")}
        return done.returncode, done.stdout, done.stderr, repo.git("ls-files", "-s"), files

    env = native_env(runtime, tmp_path)
    by_python = outcome(lambda cwd: client(cwd, *args, env=env, stdin=GO_FUNC.encode()))
    pid = ready(native, runtime, tmp_path / "repo", env)  # (the repository made again where it was: its manifest)
    before = served(runtime, pid)
    by_native = outcome(lambda cwd: run_native(native, cwd, *args, env=env, stdin=GO_FUNC.encode()))
    assert traced(env)[0].startswith("served by ") and served(runtime, pid) == before + 1
    assert by_native == by_python
    assert by_native[0] == code


@pytest.mark.parametrize("change", ["a file of goinstrument", "PYTHONFOO", "LC_ALL", "HOME", "NIX_PYTHONPATH"])
def test_an_input_of_the_key_changed_sends_the_native_client_to_python(tmp_path, runtime, native, change):
    copy = tmp_path / "site"
    shutil.copytree(CHECKOUT / "goinstrument", copy / "goinstrument", ignore=shutil.ignore_patterns("__pycache__"))
    env = native_env(runtime, tmp_path, PYTHONPATH=str(copy))
    ready(native, runtime, tmp_path, env)
    assert run_native(native, tmp_path, "--version", env=env).returncode == 0
    assert traced(env)[0].startswith("served by ")
    if change == "a file of goinstrument":
        settings = copy / "goinstrument" / "settings.py"
        time.sleep(0.01)
        settings.write_text(settings.read_text() + "\n")
        expected = f"python: changed: {settings}"
    else:
        env = {**env, change: str(tmp_path) if change == "HOME" else "C.UTF-8" if change == "LC_ALL" else "1"}
        expected = "python: no manifest"
    done = run_native(native, tmp_path, "--version", env=env)
    assert done.returncode == 0, done.stderr
    assert traced(env) == [expected]
    # Python's client, run in its place, left the manifest for what is there now.
    again = run_native(native, tmp_path, "--version", env=env)
    assert again.returncode == 0 and traced(env)[0].startswith(("served by ", "python: no server"))


def test_a_variable_no_key_depends_on_does_not_matter(tmp_path, runtime, native):
    """git sets GIT_AUTHOR_DATE for its hooks, a new value every second."""
    env = native_env(runtime, tmp_path)
    ready(native, runtime, tmp_path, env)
    done = run_native(native, tmp_path, "--version", env={**env, "GIT_AUTHOR_DATE": "@1 +0000", "PWD": "/elsewhere"})
    assert done.returncode == 0 and traced(env)[0].startswith("served by ")


def _manifest_fields(runtime: Path) -> tuple[Path, list[bytes]]:
    (manifest,) = (runtime / "goinstrument").glob("m-*")
    return manifest, server.unpack(manifest.read_bytes())


def _key_at(fields: list[bytes]) -> int:
    return 5 + int(fields[4]) + 2  # magic, client, python, directory, the variables; cgroups, socket; the key


def test_a_manifest_whose_key_the_server_refuses_has_the_run_done_once_by_python(tmp_path, runtime, native):
    """The server's child compares the key it is sent with its own: a manifest that says another
    (made up here) is refused after GO, and the run is Python's client's, in the native client's
    place, which leaves a manifest of what is there: the next run is served."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = native_env(runtime, tmp_path)
    pid = ready(native, runtime, repo.root, env)
    manifest, fields = _manifest_fields(runtime)
    fields[_key_at(fields)] += b"\nmade up"
    manifest.write_bytes(server.pack(fields))
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = run_native(native, repo.root, "--staged", "-v", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(b"1 span added") == 1, done.stderr
    (handed, refused) = traced(env)
    assert handed.startswith("served by ") and refused == "python: refused after GO"
    assert served(runtime, pid) == 3  # handed to a child, which did not run it; then Python's client's run
    assert SPAN in repo.staged("shop.go")
    assert b"made up" not in _manifest_fields(runtime)[1][_key_at(fields)]
    assert run_native(native, repo.root, "--version", env=env).returncode == 0 and traced(env)[0].startswith("served by ")


@pytest.mark.parametrize("damage", ["cut short", "a check without its path", "another client's", "a FIFO"])
def test_a_damaged_manifest_sends_the_native_client_to_python(tmp_path, runtime, native, damage):
    env = native_env(runtime, tmp_path)
    ready(native, runtime, tmp_path, env)
    manifest, fields = _manifest_fields(runtime)
    if damage == "cut short":
        manifest.write_bytes(manifest.read_bytes()[:-7])
    elif damage == "a check without its path":
        fields[-2] = b""
        manifest.write_bytes(server.pack(fields))
    elif damage == "another client's":
        fields[1] = b"0" * 16
        manifest.write_bytes(server.pack(fields))
    else:
        manifest.unlink()
        os.mkfifo(manifest)
    done = run_native(native, tmp_path, "--version", env=env)
    assert (done.returncode, done.stdout) == (0, f"goinstrument {__version__}\n".encode()), done.stderr
    assert b"panic" not in done.stderr and b"goroutine" not in done.stderr
    (line,) = traced(env)
    assert line.startswith("python: ") and line != "python: internal error"  # read as damaged, not recovered from


def test_a_child_killed_by_a_signal_is_said_as_a_shell_would(tmp_path, runtime, native):
    """The child ended on SIGSEGV without a code (the server's STATUS): 128 + 11, as the hook's shell
    says of a process killed by it; no crash report of the client's own."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = paused_env(runtime, tmp_path, repo)
    pid = ready(native, runtime, repo.root, env)
    proc, flag = _paused_run(repo, env, [os.fspath(native), sys.executable])
    (child,) = _runs(runtime, pid)
    assert traced_while_served(env)[0].startswith("served by ")
    os.kill(child, signal.SIGSEGV)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGSEGV, err
    assert b"goroutine" not in err
    flag.unlink()


def test_a_socket_directory_not_ours_alone_sends_the_native_client_to_python(tmp_path, runtime, native):
    env = native_env(runtime, tmp_path)
    ready(native, runtime, tmp_path, env)
    (runtime / "goinstrument").chmod(0o755)
    done = run_native(native, tmp_path, "--version", env=env)
    assert done.returncode == 0 and traced(env) == ["python: no socket directory of ours"]


@pytest.mark.parametrize("off", [{"GOINSTRUMENT_SERVER": "0"}, {"CI": "true"}])
def test_off_means_python_in_process(tmp_path, runtime, native, off):
    env = {**native_env(runtime, tmp_path), **off}
    done = run_native(native, tmp_path, "--version", env=env)
    assert done.returncode == 0 and traced(env) == ["python: no server wanted"]
    assert not counts(runtime)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_native_client_stops_the_run(tmp_path, runtime, native, signum, code):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = paused_env(runtime, tmp_path, repo)
    pid = ready(native, runtime, repo.root, env)
    proc, flag = _paused_run(repo, env, [os.fspath(native), sys.executable])
    assert served(runtime, pid) == 2 and len(_runs(runtime, pid)) == 1
    assert traced_while_served(env)[0].startswith("served by ")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    wait_for(lambda: not _runs(runtime, pid))
    assert repo.staged("shop.go") == GO_FUNC + "\n// edited\n"
    assert not (repo.root / ".git" / "index.lock").exists()
    flag.unlink()


def test_manifests_beyond_the_newest_are_removed(tmp_path):
    where = tmp_path / "dir"
    where.mkdir(mode=0o700)
    fd = os.open(where, os.O_PATH | os.O_DIRECTORY)
    try:
        for n in range(server.KEEP_MANIFESTS + 2):
            (where / f"m-{n:04}").write_bytes(b"x")
            os.utime(where / f"m-{n:04}", ns=(n * 10**9, n * 10**9))
        server._write_manifest(fd, "m-new", b"data")
    finally:
        os.close(fd)
    left = sorted(p.name for p in where.iterdir())
    assert len(left) == server.KEEP_MANIFESTS and "m-new" in left and "m-0000" not in left and "m-0002" not in left


def test_the_clients_source_is_gofmt_clean_and_vetted(tmp_path):
    gofmt = shutil.which("gofmt") or os.path.join(os.path.dirname(shutil.which("go") or ""), "gofmt")
    assert subprocess.run([gofmt, "-l", hook.CLIENT_SOURCE], capture_output=True, text=True, check=True).stdout == ""
    shutil.copy(hook.CLIENT_SOURCE, tmp_path / "main.go")
    (tmp_path / "go.mod").write_text(hook._CLIENT_MODULE)
    env = {**os.environ, "GOFLAGS": "", "GOWORK": "off", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    vet = subprocess.run(["go", "vet", "."], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert vet.returncode == 0, vet.stderr


def test_the_build_is_the_clients_own_whatever_the_users_go_settings(tmp_path, monkeypatch):
    """A go env file (GOENV) and variables for another platform, a workspace or a vendor directory:
    none reaches the build, whose client runs here."""
    settings = tmp_path / "go.env"
    settings.write_text("GOARCH=arm64\nGOFLAGS=-mod=vendor\n")
    monkeypatch.setenv("GOENV", str(settings))
    monkeypatch.setenv("GOOS", "windows")
    monkeypatch.setenv("GOAMD64", "v4")
    monkeypatch.setenv("GOWORK", str(tmp_path / "go.work"))
    monkeypatch.setenv("GOINSTRUMENT_CLIENT_DIR", str(tmp_path / "client"))
    built, why = hook.build_client()
    assert built is not None, why
    assert hook._runs(built)


def test_a_client_directory_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    where = tmp_path / "client"
    where.mkdir()
    where.chmod(0o777)
    monkeypatch.setenv("GOINSTRUMENT_CLIENT_DIR", str(where))
    assert hook.build_client() == (None, f"{where} is not a directory that only you may write to")
    assert list(where.iterdir()) == []


def test_a_client_that_cannot_run_here_leaves_the_hook_to_python(tmp_path, monkeypatch):
    """A binary of another machine where the hook's client was: the hook runs Python's client."""
    monkeypatch.setenv("GOINSTRUMENT_CLIENT_DIR", str(tmp_path / "client"))
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    hook.install_hook(repo.root)
    (built,) = (tmp_path / "client").glob("hook-client-*")
    built.write_bytes(b"\x7fELF not this machine's")
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = repo.commit("a client that does not run")
    assert done.returncode == 0, done.stderr
    assert SPAN in repo.show("HEAD:shop.go")
    assert hook.install_hook(repo.root).splitlines()[-1].endswith(os.fspath(built))  # built again: it runs
    assert hook._runs(built)


def test_the_clients_constants_are_the_servers():
    """What both sides of the hand-over spell the same: the hook's code, the manifest's first word and
    the variable that asks for one, the checksum's prime, the conversation's words."""
    go = hook.CLIENT_SOURCE.read_text()
    assert f'hookCode         = "{server.HOOK_CODE}"' in go
    assert f'magic            = "{server.MANIFEST.decode()}"' in go and f'manifestVariable = "{server.MANIFEST_VARIABLE}"' in go
    assert f"prime            = (1 << 61) - {(1 << 61) - server.PRIME}" in go
    words = (server.HELLO, server.GO, server.REFUSED, server.CODE, server.STATUS)
    assert "const hello, goWord, refused, code, status = " + ", ".join(f"'{w.decode()}'" for w in words) in go
