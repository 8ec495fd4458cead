"""The hook's warm server (goinstrument/server.py, the client; goinstrument/zygote.py, the server).

Real processes throughout: the client as the hook runs it (`python -P -c SERVED ARGS`, as
`python -P -m goinstrument.server ARGS`), the server it starts, real git repositories. Each test has a runtime directory of its
own (XDG_RUNTIME_DIR), so no two tests share a server, and its servers are killed at teardown.
Whether a run was served is read from the server's lock file, where the server writes its pid
and the number of runs it handed to a child: a run in the client's own process leaves it as it
was.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from gitrepo import CHECKOUT, GO_FUNC, GitRepo, git_env

from goinstrument import __version__
from goinstrument.driver.hook import SERVED, install_hook
from goinstrument.server import ANSWER_WITHIN, GO, HOOK_CODE, REFUSED, TREES

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the server is Linux only (SO_PEERCRED, pidfd)")

SPAN = 'otel.Tracer("example.com/shop").Start(ctx, "F")'
T = TypeVar("T")
CLIENT = [sys.executable, "-P", "-c", SERVED]  # the hook's command
NO_SPAN = 'package shop\n\nimport "context"\n\nfunc G(ctx context.Context) error { return nil }\n'


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR; every server started in it is killed afterwards."""
    where = tmp_path / "run"
    where.mkdir(mode=0o700)
    yield where
    for pid in _zygotes(where):
        _kill(pid)


def _zygotes(runtime: Path) -> dict[int, int]:
    """The live processes of the runtime directory's servers, from /proc (a server's command line
    names its socket, and its children's are its own): each one's parent pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"goinstrument.zygote" in argv and any(arg.startswith(os.fsencode(runtime)) for arg in argv):
            found[int(entry.name)] = parent
    return found


def _server_pids(runtime: Path) -> list[int]:
    """The live servers of the runtime directory (not their children: a spare, the runs)."""
    found = _zygotes(runtime)
    return [pid for pid, parent in found.items() if parent not in found]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def served_env(runtime: Path, **extra: str) -> dict[str, str]:
    env = git_env(**{"XDG_RUNTIME_DIR": str(runtime), "GOINSTRUMENT_SERVER": "1", **extra})
    env.pop("CI", None)
    return env


def client(cwd: Path, *args: str, env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The hook's command, bytes out."""
    return subprocess.run([*CLIENT, *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False)


def _lock_words(runtime: Path) -> Iterator[list[str]]:
    """What each lock file of the runtime directory says (a server's pid, its runs, its spare)."""
    for lock in (runtime / "goinstrument").glob("*.lock"):
        try:
            yield lock.read_text().split()
        except FileNotFoundError:  # a stale one, swept by a server starting since the glob
            continue


def counts(runtime: Path) -> dict[int, int]:
    """Each live server's pid: the runs it has handed to a child."""
    live = set(_server_pids(runtime))
    found = {}
    for words in _lock_words(runtime):
        if len(words) == 3 and int(words[0]) in live:
            found[int(words[0])] = int(words[1])
    return found


def wait_for(what: Callable[[], T], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def warm(runtime: Path, cwd: Path, env: dict[str, str]) -> int:
    """A server up for `env` (started by a first run, which runs in-process): its pid."""
    first = client(cwd, "--version", env=env)
    assert first.returncode == 0, first.stderr
    return up(runtime)


def up(runtime: Path, other_than: int = 0) -> int:
    """The server started last (not `other_than`), once it answers: its pid. Its lock file names it
    before it binds its socket (a client then would run in its own process), and its spare after:
    a socket found proves nothing where a server killed left one."""
    (pid,) = wait_for(lambda: [found for found in counts(runtime) if found != other_than])
    wait_for(lambda: _spare(runtime, pid))
    return pid


def served(runtime: Path, pid: int) -> int:
    return counts(runtime).get(pid, -1)


def served_even_gone(runtime: Path, pid: int) -> Callable[[], int]:
    """served(runtime, pid) from now on, also once the server has exited (its files changed: it
    checks every CHECK_EVERY seconds) and the next one has swept its lock file: read through a
    link to that file made now, outside the socket directory."""
    (lock,) = [path for path in (runtime / "goinstrument").glob("*.lock") if path.read_text().split()[:1] == [str(pid)]]
    kept = runtime.parent / f"lock-of-{pid}"
    os.link(lock, kept)
    return lambda: int(kept.read_text().split()[1])


def module(root: Path, files: dict[str, str]) -> GitRepo:
    if root.exists():
        shutil.rmtree(root)
    return GitRepo.go_module(root, files)


# --- the first run, the second ----------------------------------------------------------------


def test_the_first_run_is_in_process_and_starts_a_server_the_second_is_served(tmp_path, runtime):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    first = client(repo.root, "--staged", env=env)
    assert first.returncode == 0, first.stderr
    assert SPAN in repo.staged("shop.go")
    pid = up(runtime)  # the first run started one, and did not wait for it
    assert counts(runtime) == {pid: 0}
    repo.write("orders.go", GO_FUNC.replace("func F", "func H"))
    repo.add("orders.go")
    second = client(repo.root, "--staged", env=env)
    assert second.returncode == 0, second.stderr
    assert 'Start(ctx, "H")' in repo.staged("orders.go") and repo.read("orders.go") == repo.staged("orders.go")
    assert counts(runtime) == {pid: 1}
    # Not loaded in the server: libgit2 reads HOME and XDG_CONFIG_HOME once, when it is loaded.
    assert b"pygit2" not in Path(f"/proc/{pid}/maps").read_bytes()
    # The socket's directory: ours, 0700.
    info = (runtime / "goinstrument").lstat()
    assert info.st_mode & 0o777 == 0o700 and info.st_uid == os.getuid()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--staged",), 0),
        (("--staged", "-v"), 0),
        (("--check",), 1),
        (("--check", "--format", "json"), 1),
        (("--bogus",), 2),
        (("--help",), 0),
        (("-", "--stdin-filename", "shop.go"), 0),  # an editor's filter: the source on stdin, the result on stdout
    ],
)
def test_a_served_run_is_the_run_in_a_process_of_its_own(tmp_path, runtime, args, code):
    """Exit code, stdout and stderr bytes, index and working tree: the same, served or not."""

    def outcome(env: dict[str, str]) -> tuple[int, bytes, bytes, str, dict[str, bytes]]:
        repo = module(tmp_path / "repo", {"shop.go": GO_FUNC, "sub/orders.go": NO_SPAN.replace("package shop", "package sub")})
        repo.write("shop.go", GO_FUNC + "\n// edited\n")
        repo.add("shop.go")
        done = client(repo.root, *args, env=env, stdin=GO_FUNC.encode())
        files = {rel: repo.path(rel).read_bytes() for rel in ("shop.go", "sub/orders.go")}
        return done.returncode, done.stdout, done.stderr, repo.git("ls-files", "-s"), files

    alone = outcome(served_env(runtime, GOINSTRUMENT_SERVER="0"))
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    served_one = outcome(env)
    assert served(runtime, pid) == 1
    assert served_one == alone
    assert alone[0] == code
    if args[0] == "-":
        assert SPAN.encode() in alone[1]  # stdin was read through the fd the client passed


def test_the_clients_environment_and_directory_are_the_runs(tmp_path, runtime):
    """GIT_INDEX_FILE, as `git commit -a` sets it, and a current directory below the top."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC, "sub/orders.go": NO_SPAN.replace("package shop", "package sub")})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    other = repo.root / ".git" / "other-index"
    shutil.copy(repo.root / ".git" / "index", other)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.git("add", "shop.go", env={**env, "GIT_INDEX_FILE": str(other)})
    done = client(repo.root, "--staged", env={**env, "GIT_INDEX_FILE": str(other)})
    assert done.returncode == 0, done.stderr
    assert served(runtime, pid) == 1
    assert SPAN in repo.git("show", ":shop.go", env={**env, "GIT_INDEX_FILE": str(other)})
    assert SPAN not in repo.staged("shop.go")  # the index git commit -a did not name is left alone
    # Below the top: paths are the directory's, as in a run of its own.
    below = client(repo.root / "sub", "--check", env=env)
    assert below.returncode == 1 and below.stdout.startswith(b"orders.go:5:1: G: no span"), below
    assert served(runtime, pid) == 2
    # A value set for the run only reaches it (and not the next).
    traced = client(repo.root, "--bogus", env={**env, "GOINSTRUMENT_TRACEBACK": "1"})
    assert traced.returncode == 2 and b"unrecognized arguments" in traced.stderr


def test_a_reader_that_stops_early(tmp_path, runtime):
    """`... | head -1`: the first line, then quietly the status of a filter whose reader left (141)."""
    many = 'package shop\n\nimport "context"\n' + "".join(f"\nfunc F{n}(ctx context.Context) error {{ return nil }}\n" for n in range(4000))
    repo = module(tmp_path / "repo", {"shop.go": many})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    done = subprocess.run(
        ["bash", "-c", f'{shlex.join(CLIENT)} --check | head -1; echo "status ${{PIPESTATUS[0]}}" >&2'],
        cwd=repo.root,
        capture_output=True,
        env=env,
        check=False,
    )
    assert served(runtime, pid) == 1
    assert done.stdout == b"shop.go:5:1: F0: no span\n"
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr, done.stderr
    assert done.stderr.endswith(b"status 141\n"), done.stderr


def test_a_spare_takes_on_its_clients_environment_not_the_servers(tmp_path, runtime):
    """A spare is forked long before its run, from a server started with another client's
    environment: each run has its own client's environment, directory and streams, whole, and
    nothing of the server's or of the run before it."""
    env = served_env(runtime, GOINSTRUMENT_CACHE_DIR=str(tmp_path / "server-cache"))
    pid = warm(runtime, tmp_path, env)
    wait_for(lambda: _spare(runtime, pid))
    for n in (1, 2):
        repo = module(tmp_path / f"repo{n}", {"shop.go": GO_FUNC})
        repo.write("shop.go", GO_FUNC + "\n// edited\n")
        repo.add("shop.go")
        own = {name: value for name, value in env.items() if name != "GOINSTRUMENT_CACHE_DIR"}
        done = client(repo.root, "--staged", "-v", env={**own, "XDG_CACHE_HOME": str(tmp_path / f"cache{n}")})
        assert done.returncode == 0 and done.stderr.endswith(b"1 span added\n"), done.stderr
        assert served(runtime, pid) == n
        assert SPAN in repo.staged("shop.go")
        shards = tmp_path / f"cache{n}" / "goinstrument"
        wait_for(lambda: list(shards.glob("clean.*/*.json")))  # noqa: B023  # its cache, where its client said (written after the reply)
    assert not (tmp_path / "server-cache").exists()


def test_a_served_run_writes_its_cache_after_its_client_has_the_exit_code(tmp_path, runtime):
    """git goes on with the commit while the run's child writes the cache (~3 ms of a hook's run),
    the client's streams let go first (a reader of its pipes, as pre-commit, sees their end)."""
    flag = tmp_path / "paused"
    env = served_env(runtime, GOINSTRUMENT_TEST_INDEX_PAUSE=f"deferred:{flag}", XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("GOINSTRUMENT_CACHE_DIR", None)
    pid = warm(runtime, tmp_path, env)
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = subprocess.run([*CLIENT, "--staged"], cwd=repo.root, env=env, capture_output=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stderr.endswith(b"1 span added\n"), done.stderr  # pipes read to their end
    assert served(runtime, pid) == 1 and SPAN in repo.staged("shop.go")
    wait_for(flag.exists)  # the child, after the reply: the cache not written yet
    shards = tmp_path / "cache" / "goinstrument"
    assert not list(shards.glob("clean.*/*.json"))
    flag.unlink()
    wait_for(lambda: list(shards.glob("clean.*/*.json")))


def test_the_lock_file_is_never_found_empty_or_torn_as_the_server_counts(tmp_path):
    """--stop and the tests read the server's pid and counts from its lock file while the server
    writes them (zygote._say, each count): a write that truncated first could be read empty (a
    server --stop missed); 3,000 such writes were, here, every run."""
    import threading

    from goinstrument import zygote

    fd = os.open(tmp_path / "s.lock", os.O_RDWR | os.O_CREAT, 0o600)
    zygote._say(fd, 0, 0)
    seen: set[int] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(len(os.pread(fd, 64, 0).split()))  # as server.stop reads it

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(3000):
            zygote._say(fd, 10**n % 10**9 if n % 2 else n, n % 7 * 1234567)  # words of changing widths
    finally:
        done.set()
        reader.join()
        os.close(fd)
    assert seen == {3}


def test_a_spares_connection_to_its_client_is_not_inherited_by_commands(tmp_path, runtime):
    """The connection a spare is handed is close-on-exec, as the server's accepted one is: a
    command the run starts (git, gofmt) never holds the client's socket."""
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    spare = wait_for(lambda: _spare(runtime, pid))
    run = subprocess.Popen([*CLIENT, "-"], cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: served(runtime, pid) == 1)
        # Counted once handed over, not once the spare has it: its stdin the client's pipe is later.
        wait_for(lambda: os.readlink(f"/proc/{spare}/fd/0").startswith("pipe:"))
        for fd, flags in wait_for(lambda: _socket_flags(spare)):
            assert flags & os.O_CLOEXEC, fd
    finally:
        out, err = run.communicate(GO_FUNC.encode(), timeout=60)
    assert run.returncode == 0, err
    assert b'.Start(ctx, "F")' in out


def test_a_served_clients_own_atexit_functions_and_flush_are_done(tmp_path, runtime):
    """The client of a served run skips the interpreter's teardown, not what can be seen of it: its
    atexit functions run (a sitecustomize's, as coverage's) and its stdout is flushed."""
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    code = "import atexit, sys; atexit.register(print, 'bye'); from goinstrument.server import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-P", "-c", code, "--version"], cwd=tmp_path, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"goinstrument {__version__}\nbye\n".encode()
    assert served(runtime, pid) == 1


# --- signals ----------------------------------------------------------------------------------


def _paused_run(repo: GitRepo, env: dict[str, str], command: list[str] = CLIENT) -> tuple[subprocess.Popen[bytes], Path]:
    """A served `--staged` run, paused after it read the index (gitops' test pause) until the flag goes."""
    flag = repo.root.parent / "paused"
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    proc = subprocess.Popen(
        [*command, "--staged"],
        cwd=repo.root,
        env={**env, "GOINSTRUMENT_TEST_INDEX_PAUSE": f"read:{flag}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for(lambda: flag.exists() or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    return proc, flag


def _socket_flags(pid: int) -> list[tuple[str, int]]:
    """A process's sockets: (fd, its open flags)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith("socket:"):
                found.append((fd.name, int(Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().split("flags:")[1].split()[0], 8)))
        except FileNotFoundError:  # closed since the listing
            continue
    return found


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(word) for word in path.read_text().split()]


def _reaped(pid: int, child: int) -> Callable[[], bool]:
    return lambda: child not in _children(pid)


def _spare(runtime: Path, pid: int) -> int:
    """The server's spare child (0: none), as its lock file says."""
    for words in _lock_words(runtime):
        if words and words[0] == str(pid):
            return int(words[2])
    return 0


def _runs(runtime: Path, pid: int) -> list[int]:
    """The server's children running (or ended and not yet reaped) a run: all but its spare."""
    spare = _spare(runtime, pid)
    return [child for child in _children(pid) if child != spare]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_client_stops_the_run(tmp_path, runtime, signum, code):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    proc, flag = _paused_run(repo, env)
    assert served(runtime, pid) == 1
    (child,) = _runs(runtime, pid)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    wait_for(lambda: not _runs(runtime, pid))
    assert not Path(f"/proc/{child}").exists() or b"Z" in Path(f"/proc/{child}/stat").read_bytes().split()[2:3]
    assert repo.staged("shop.go") == GO_FUNC + "\n// edited\n"  # stopped before it staged anything
    assert not (repo.root / ".git" / "index.lock").exists()
    flag.unlink()


def test_a_client_killed_has_its_run_killed(tmp_path, runtime):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    proc, flag = _paused_run(repo, env)
    assert _runs(runtime, pid)
    proc.kill()
    proc.wait()
    wait_for(lambda: not _runs(runtime, pid), timeout=20)  # the pause would have held it for a minute
    assert not (repo.root / ".git" / "index.lock").exists()
    flag.unlink()


def test_a_server_killed_mid_run_is_an_error_and_the_run_is_not_done_again(tmp_path, runtime):
    """After GO the client never runs the command itself: the server and its child killed (-9)
    mid-run leave it no status to report, and it says so (exit 2) instead of running again."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    proc, flag = _paused_run(repo, env)
    (child,) = _runs(runtime, pid)
    _kill(pid)
    _kill(child)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert b"the server ended before the run did; the run may be half done" in err
    assert b"Traceback" not in err
    assert repo.staged("shop.go") == GO_FUNC + "\n// edited\n"  # not run again in the client's process
    assert not (repo.root / ".git" / "index.lock").exists()
    flag.unlink()


def test_the_client_exits_on_the_childs_code_without_waiting_for_the_server(tmp_path, runtime):
    """CODE is the child's last act: the client exits with it at once, not after the child's exit
    and the server's reaping (held up here: the server is stopped)."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    proc, flag = _paused_run(repo, env)
    (child,) = _runs(runtime, pid)
    os.kill(pid, signal.SIGSTOP)
    try:
        flag.unlink()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert SPAN in repo.staged("shop.go")
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: child not in _children(pid))  # reaped, once the server goes on
    assert client(repo.root, "--version", env=env).returncode == 0 and served(runtime, pid) == 2


# --- which server, and when none --------------------------------------------------------------


@pytest.mark.parametrize("edit", ["appended", "same size and mtime"])
def test_a_changed_package_gets_a_new_server_and_the_old_one_exits(tmp_path, runtime, edit):
    """`same size and mtime`: as `cp -p` or `rsync -t` of another version may leave a file (its
    ctime says it changed)."""
    copy = tmp_path / "site"
    shutil.copytree(CHECKOUT / "goinstrument", copy / "goinstrument", ignore=shutil.ignore_patterns("__pycache__"))
    env = served_env(runtime, PYTHONPATH=str(copy))
    old = warm(runtime, tmp_path, env)
    assert client(tmp_path, "--version", env=env).returncode == 0
    assert served(runtime, old) == 1
    old_served = served_even_gone(runtime, old)
    settings = copy / "goinstrument" / "settings.py"
    if edit == "appended":
        settings.write_text(settings.read_text() + "\n# edited\n")
    else:
        before, text = settings.stat(), settings.read_bytes()
        assert text.startswith(b'"""T')
        settings.write_bytes(b'"""t' + text[4:])  # in place: the same inode
        os.utime(settings, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (settings.stat().st_size, settings.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    edited = client(tmp_path, "--version", env=env)  # in-process (no server for the new files yet), starts one
    assert edited.returncode == 0 and old_served() == 1
    wait_for(lambda: len(counts(runtime)) == 2 or old not in counts(runtime))
    wait_for(lambda: old not in _server_pids(runtime))  # the old one saw its files change
    new = up(runtime, other_than=old)
    assert client(tmp_path, "--version", env=env).returncode == 0
    assert counts(runtime) == {new: 1}


def test_a_server_killed_leaves_a_socket_the_next_server_replaces(tmp_path, runtime):
    env = served_env(runtime)
    old = warm(runtime, tmp_path, env)
    _kill(old)  # SIGKILL: no time to remove its socket
    wait_for(lambda: old not in _server_pids(runtime))
    assert any(p.is_socket() for p in (runtime / "goinstrument").iterdir())
    assert client(tmp_path, "--version", env=env).returncode == 0  # in-process: nothing answers
    new = up(runtime, other_than=old)
    assert client(tmp_path, "--version", env=env).returncode == 0
    assert counts(runtime) == {new: 1}


def test_a_server_that_does_not_answer_is_no_server(tmp_path, runtime):
    """A server stopped (SIGSTOP) or stuck: after ANSWER_WITHIN (10 s) the run is the client's own."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    os.kill(pid, signal.SIGSTOP)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = client(repo.root, "--staged", env=env)
    assert done.returncode == 0, done.stderr
    assert SPAN in repo.staged("shop.go")
    os.kill(pid, signal.SIGCONT)
    wait_for(lambda: not _runs(runtime, pid))  # the child it forked meanwhile, if any, was ended
    assert repo.read("shop.go") == repo.staged("shop.go")


@pytest.mark.parametrize("bad", ["group-writable", "symlink"])
def test_a_socket_directory_not_ours_alone_means_no_server(tmp_path, runtime, bad):
    if bad == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        (runtime / "goinstrument").symlink_to(tmp_path / "elsewhere")
    else:
        (runtime / "goinstrument").mkdir()
        os.chmod(runtime / "goinstrument", 0o770)
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    env = served_env(runtime)
    for _ in range(2):
        done = client(repo.root, "--staged", env=env)
        assert done.returncode == 0, done.stderr
    assert SPAN in repo.staged("shop.go")
    time.sleep(1)
    assert not _server_pids(runtime)
    assert not list((tmp_path / "elsewhere").iterdir()) if bad == "symlink" else not list((runtime / "goinstrument").iterdir())


def test_a_runtime_directory_too_long_for_a_socket_path_still_gets_a_server(tmp_path):
    """sun_path holds 108 bytes: the socket is named through the directory's fd (/proc/self/fd/N/NAME)."""
    runtime = tmp_path / ("r" * 120)
    runtime.mkdir(mode=0o700)
    try:
        env = served_env(runtime)
        pid = warm(runtime, tmp_path, env)
        assert client(tmp_path, "--version", env=env).stdout.startswith(b"goinstrument ")
        assert served(runtime, pid) == 1
    finally:
        for pid in _server_pids(runtime):
            _kill(pid)


@pytest.mark.parametrize("off", [{"GOINSTRUMENT_SERVER": "0"}, {"CI": "true"}])
def test_off_means_no_server(tmp_path, runtime, off):
    env = {**served_env(runtime), **off}
    for _ in range(2):
        assert client(tmp_path, "--version", env=env).returncode == 0
    time.sleep(1)
    assert not _server_pids(runtime)


def test_a_server_exits_when_idle_and_on_stop(tmp_path, runtime):
    env = served_env(runtime, GOINSTRUMENT_SERVER_IDLE="1")
    pid = warm(runtime, tmp_path, env)
    wait_for(lambda: pid not in _server_pids(runtime), timeout=20)
    assert not any(p.is_socket() for p in (runtime / "goinstrument").iterdir())
    assert not _zygotes(runtime)  # nor its spare
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    stopped = client(tmp_path, "--stop", env=env)
    assert stopped.returncode == 0 and f"stopped the goinstrument server {pid}".encode() in stopped.stdout
    wait_for(lambda: pid not in _server_pids(runtime), timeout=20)
    # Stopped without a child forked for it: the lock file still says no run was handed over,
    # and no spare left (it was killed and reaped).
    (lock,) = (runtime / "goinstrument").glob("*.lock")
    assert lock.read_text().split() == [str(pid), "0", "0"]
    assert not _zygotes(runtime)


def test_a_new_server_removes_the_lock_files_of_servers_gone(tmp_path, runtime):
    where = runtime / "goinstrument"
    where.mkdir(mode=0o700)
    (where / "s-0badcafe-10.lock").write_text("1 3\n")  # a server's that exited long ago
    (where / f"s-0badcafe-10{TREES}").write_bytes(b"its trees")
    (where / f"s-0badcafe-10{TREES}.{2**22 + 1}").write_bytes(b"a temporary of a child that died")  # (above pid_max)
    writing = where / f"s-0badcafe-11{TREES}.{os.getpid()}"  # a live process's, being written
    writing.write_bytes(b"")
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    (lock,) = where.glob("*.lock")
    assert lock.read_text().split()[0] == str(pid)
    assert sorted(p.name for p in where.iterdir() if TREES in p.name) == [writing.name]
    writing.unlink()
    assert client(tmp_path, "--stop", env=env).returncode == 0
    wait_for(lambda: pid not in _server_pids(runtime), timeout=20)
    assert client(tmp_path, "--stop", env=env).stdout == b""  # the lock of the server stopped: nobody's now
    assert not list(where.iterdir())


# --- the hook ---------------------------------------------------------------------------------


def test_the_hook_is_served_from_the_second_commit_on(tmp_path, runtime):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    install_hook(repo.root)
    env = served_env(runtime)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    first = repo.commit("first", env=env)
    assert first.returncode == 0, first.stderr
    assert SPAN in repo.show("HEAD:shop.go")
    pid = up(runtime)
    assert counts(runtime) == {pid: 0}
    repo.write("orders.go", GO_FUNC.replace("func F", "func H"))
    repo.add("orders.go")
    second = repo.commit("second", env=env)
    assert second.returncode == 0, second.stderr
    assert 'Start(ctx, "H")' in repo.show("HEAD:orders.go")
    assert counts(runtime) == {pid: 1}
    assert repo.status() == ""


def test_a_hook_written_before_the_server_is_updated_by_installing_again(tmp_path, runtime):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    install_hook(repo.root)
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(hook.read_text().replace(f"-c {shlex.quote(SERVED)}", "-m goinstrument"))  # as written before
    assert "-P -m goinstrument --staged" in hook.read_text()
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    assert repo.commit("old hook", env=served_env(runtime)).returncode == 0
    assert SPAN in repo.show("HEAD:shop.go")
    assert install_hook(repo.root).splitlines()[0] == f"updated the pre-commit hook: {hook}"
    assert f"-P -c {shlex.quote(SERVED)} --staged" in hook.read_text()


def test_the_hook_runs_the_client_as_dash_m_would():
    """The hook's `-c` code is the client's own (runpy and the module's search cost ~10 ms); both start alike."""
    assert SERVED == HOOK_CODE


# --- the handshake: one run, served or in-process, never both -----------------------------------

# A client that stops after the child's HELLO: it sends its request with WORD last instead of GO
# (b"": it closes the socket, as a client that gave up waiting does), then prints the first answer.
HALF_CLIENT = """
import _socket, sys
from goinstrument import server
where, fd = server.directory()
full_key = server.key()
sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
pid = server._hello(sock, server.address(fd, server.socket_name(full_key)))
word = sys.argv[1].encode()
if len(sys.argv) > 2:  # a client held up (^Z) between the pid and GO
    import time
    time.sleep(float(sys.argv[2]))
if not word:
    sock.close()
    print(pid, "closed")
    raise SystemExit
server._send(sock, ["--staged"], full_key, word)
sock.settimeout(60)
answer = server._read_exactly(sock, 1 + server.INT_SIZE)
print(pid, answer[:1].decode(), server.from_int(answer[1:]))
"""


@pytest.mark.parametrize("word", ["X", ""])
def test_a_child_not_told_go_does_not_run(tmp_path, runtime, word):
    """A child that said HELLO waits for the request and GO: the client sends them only once it has
    the child's pid, and never runs the command itself after (unless REFUSED); a client that gave
    up first (a timeout) closes the socket, and the child exits without touching the index or the
    files."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = subprocess.run([sys.executable, "-P", "-c", HALF_CLIENT, word], cwd=repo.root, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    child, *rest = done.stdout.split()
    assert int(child) > 0 and served(runtime, pid) == 1
    if word:  # a request without GO: REFUSED, not run (a client still waiting would run it itself)
        assert rest[0] == REFUSED
    wait_for(lambda: not _runs(runtime, pid))
    assert repo.staged("shop.go") == repo.read("shop.go") == GO_FUNC + "\n// edited\n"
    assert not (repo.root / ".git" / "index.lock").exists()
    # The real client, next: served, and the run done once.
    again = client(repo.root, "--staged", env=env)
    assert again.returncode == 0, again.stderr
    assert served(runtime, pid) == 2 and SPAN in repo.staged("shop.go")


def test_a_spare_child_runs_one_run_and_is_never_handed_another(tmp_path, runtime):
    """The server forks a child ahead of the next run (its spare): that run is the spare's, and
    the next one another's, forked once the first is over; a spare whose client left after
    HELLO exits without running and is not handed the next run either."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    ran = []
    for word in (GO.decode(), "", GO.decode()):
        spare = wait_for(lambda: [s for s in [_spare(runtime, pid)] if s and s not in ran])[0]
        done = subprocess.run([sys.executable, "-P", "-c", HALF_CLIENT, word], cwd=repo.root, env=env, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        child, *answer = done.stdout.split()
        assert int(child) == spare
        assert answer == ([b"C", b"0"] if word else [b"closed"])
        ran.append(spare)
        wait_for(_reaped(pid, spare))  # ended and reaped: one run, or none, each
    assert len(set(ran)) == 3 and served(runtime, pid) == 3
    assert SPAN in repo.staged("shop.go")


def test_two_runs_at_once_are_the_spares_and_a_childs_forked_for_it(tmp_path, runtime):
    """Two commits at once: one run is the spare's, the other a child's forked for it (the next
    spare is forked only once the server is idle again); both done, each in its own repository."""
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    spare = wait_for(lambda: _spare(runtime, pid))
    repos = [module(tmp_path / name / "repo", {"shop.go": GO_FUNC}) for name in ("a", "b")]
    paused = [_paused_run(repo, env) for repo in repos]
    runs = _runs(runtime, pid)
    assert len(runs) == 2 and spare in runs and _spare(runtime, pid) == 0
    for proc, flag in paused:
        flag.unlink()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert all(SPAN in repo.staged("shop.go") and repo.read("shop.go") == repo.staged("shop.go") for repo in repos)
    assert served(runtime, pid) == 2
    wait_for(lambda: _spare(runtime, pid) not in (0, spare))


# A client whose request the child cannot take (its key altered after the socket was chosen): the
# child it was handed to says REFUSED after GO, and the client runs the command itself.
REFUSED_CLIENT = """
import sys
from goinstrument import server
request = server._request
server._request = lambda args, full_key: request(args, full_key + b"-another")
sys.exit(server.main())
"""


def test_a_run_refused_after_go_is_the_clients_own_and_done_once(tmp_path, runtime):
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = subprocess.run([sys.executable, "-P", "-c", REFUSED_CLIENT, "--staged", "-v"], cwd=repo.root, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(b"1 span added") == 1, done.stderr  # the client's run; the child had its stderr too
    assert served(runtime, pid) == 1  # handed to a child, which did not run it
    assert SPAN in repo.staged("shop.go")
    wait_for(lambda: not _runs(runtime, pid))
    assert _server_pids(runtime) == [pid]  # (no other server started for it)


def test_a_spare_killed_while_it_waits_is_replaced(tmp_path, runtime):
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    spare = wait_for(lambda: _spare(runtime, pid))
    _kill(spare)
    wait_for(lambda: _spare(runtime, pid) == 0)
    assert spare not in _children(pid)  # reaped, not left a zombie
    done = client(tmp_path, "--version", env=env)  # by a child forked for it
    assert done.returncode == 0 and done.stdout == f"goinstrument {__version__}\n".encode()
    assert served(runtime, pid) == 1
    wait_for(lambda: _spare(runtime, pid) not in (0, spare))  # a spare again, once that run is over


# --- a key that cannot be computed ------------------------------------------------------------


def test_a_dangling_symlink_in_the_package_is_no_failure(tmp_path, runtime):
    """An editor's lock file (`.#cli.py -> user@host.123:1`) in an editable checkout: the key is made
    without following links, and the runs are served as ever."""
    copy = tmp_path / "site"
    shutil.copytree(CHECKOUT / "goinstrument", copy / "goinstrument", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "goinstrument" / ".#cli.py").symlink_to("user@host.123:1")
    env = served_env(runtime, PYTHONPATH=str(copy))
    pid = warm(runtime, tmp_path, env)
    again = client(tmp_path, "--version", env=env)
    assert again.returncode == 0 and b"Traceback" not in again.stderr, again.stderr
    assert served(runtime, pid) == 1


def test_a_server_stopping_leaves_its_successors_socket_alone(tmp_path, runtime):
    """A server stopped with a run going on gives up its socket's name at once; the next server
    binds it meanwhile; the old one, exiting when its run ends, leaves that socket be."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    old = warm(runtime, tmp_path, env)
    proc, flag = _paused_run(repo, env)
    os.kill(old, signal.SIGTERM)
    wait_for(lambda: not any(p.is_socket() for p in (runtime / "goinstrument").iterdir()))
    assert client(tmp_path, "--version", env=env).returncode == 0  # in-process, starts the next server
    new = up(runtime, other_than=old)
    flag.unlink()
    assert proc.wait(timeout=60) == 0, proc.communicate()
    wait_for(lambda: old not in _server_pids(runtime))
    assert any(p.is_socket() for p in (runtime / "goinstrument").iterdir())
    assert client(tmp_path, "--version", env=env).returncode == 0
    assert served(runtime, new) == 1


@pytest.mark.parametrize("change", ["LD_LIBRARY_PATH", "PYTHONHASHSEED", "a module added on sys.path"])
def test_what_the_start_up_depends_on_is_in_the_key(tmp_path, runtime, change):
    """The loader's variables, the interpreter's, a directory of sys.path changed: not the server's run."""
    extra = tmp_path / "extra"
    extra.mkdir()
    env = served_env(runtime, PYTHONPATH=f"{CHECKOUT}{os.pathsep}{extra}")
    pid = warm(runtime, tmp_path, env)
    assert client(tmp_path, "--version", env=env).returncode == 0 and served(runtime, pid) == 1
    pid_served = served_even_gone(runtime, pid)  # (a module added: the server sees its key change too)
    if change.startswith("a module"):
        time.sleep(0.01)
        (extra / "added.py").write_text("")
    else:
        env = {**env, change: str(tmp_path) if change.startswith("LD_") else "1"}
    done = client(tmp_path, "--version", env=env)
    assert done.returncode == 0, done.stderr
    assert pid_served() == 1


@pytest.mark.parametrize("sandbox", [["setpriv", "--no-new-privs"], ["unshare", "--net"]])
def test_a_client_in_another_sandbox_is_refused(tmp_path, runtime, sandbox):
    """A process of ours that sees the socket from another sandbox (here no_new_privs, another
    network namespace) would have its run done outside it: the server refuses it, and the run is
    the client's own (no second server started for it)."""
    if shutil.which(sandbox[0]) is None or subprocess.run([*sandbox, "true"], capture_output=True, check=False).returncode:
        pytest.skip(f"{sandbox[0]} cannot make that sandbox here")
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    done = subprocess.run([*sandbox, *CLIENT, "--staged"], cwd=repo.root, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert SPAN in repo.staged("shop.go")
    time.sleep(0.5)
    assert counts(runtime) == {pid: 0} and _server_pids(runtime) == [pid]
    assert client(repo.root, "--version", env=env).returncode == 0 and served(runtime, pid) == 1  # ours, still served


@pytest.mark.slow
def test_a_client_held_up_before_go_still_gets_its_run(tmp_path, runtime):
    """The child waits for GO without a time limit: a client stopped past ANSWER_WITHIN, then
    resumed, gets its run done (not a child's exit without running, reported as the run's 0)."""
    repo = module(tmp_path / "repo", {"shop.go": GO_FUNC})
    env = served_env(runtime)
    pid = warm(runtime, tmp_path, env)
    repo.write("shop.go", GO_FUNC + "\n// edited\n")
    repo.add("shop.go")
    late = str(ANSWER_WITHIN + 1)
    done = subprocess.run([sys.executable, "-P", "-c", HALF_CLIENT, GO.decode(), late], cwd=repo.root, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1:] == [b"C", b"0"] and served(runtime, pid) == 1  # the run's own exit code
    assert SPAN in repo.staged("shop.go") and repo.read("shop.go") == repo.staged("shop.go")


def test_socket_names_of_keys_that_differ_by_two_bytes_swapped_differ():
    """The name's checksum weighs each byte position differently: two bytes swapped, however far
    apart (61 bytes made the same name modulo the Mersenne prime 2**61 - 1), name two servers."""
    from goinstrument.server import socket_name

    base = bytes(range(200))
    for apart in (1, 8, 61, 122, 150):
        swapped = bytearray(base)
        swapped[3], swapped[3 + apart] = swapped[3 + apart], swapped[3]
        assert socket_name(bytes(swapped)) != socket_name(base), apart


# --- what a run leaves the next (driver/trees.py) --------------------------------------------------

BIG_SHOP = 'package shop\n\nimport "context"\n\n' + "".join(
    f"func F{n}(ctx context.Context, n int) error {{\n\tif n > {n} {{\n\t\treturn nil\n\t}}\n\treturn context.Canceled\n}}\n\n" for n in range(60)
)


def _replaced(runtime: Path, pid: int, spare: int) -> bool:
    """Whether the server has forked a spare in place of `spare` (which took a run, now reaped)."""
    return _spare(runtime, pid) not in (0, spare)


def _appears(path: Path, timeout: float = 60.0) -> bool:
    """Whether the file shows up within `timeout` seconds (looked for every 5 ms: it may be there
    for no more than trees.WAIT)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.005)
    return False


def test_a_served_run_leaves_the_files_it_parsed_and_the_next_child_takes_them(tmp_path, runtime):
    """A run that instrumented a staged file leaves its bytes, as staged and as left, beside the
    server's socket once its client has the exit code; the next child takes them while it waits.
    The file's next commit, edited since, is parsed from their trees (the client's trace says so):
    what it stages is what a run in a process of its own stages."""
    trace = tmp_path / "trace"
    # The next child waits 2 s, not 0.25, before it takes the file: not missed by a busy test.
    env = served_env(runtime, GOINSTRUMENT_CLIENT_TRACE=os.fspath(trace), GOINSTRUMENT_TEST_TREES_WAIT="2")
    pid = warm(runtime, tmp_path, env)
    repo = module(tmp_path / "repo", {"shop.go": BIG_SHOP})
    repo.write("shop.go", BIG_SHOP + "// edited\n")
    repo.add("shop.go")
    (socket_name,) = [p.name for p in (runtime / "goinstrument").iterdir() if p.is_socket()]
    left = runtime / "goinstrument" / (socket_name + TREES)
    done = client(repo.root, "--staged", env=env)
    assert done.returncode == 0 and served(runtime, pid) == 1, done.stderr
    assert _appears(left)
    wait_for(lambda: not left.exists())  # taken by the next child, whose the next run is
    assert not trace.exists()  # (nothing to parse from in the first run)
    edited = repo.staged("shop.go") + "\nfunc Added(ctx context.Context) error {\n\treturn nil\n}\n"
    repo.write("shop.go", edited)
    repo.add("shop.go")
    alone = tmp_path / "alone"
    shutil.copytree(repo.root, alone, symlinks=True)
    by_itself = client(alone, "--staged", env={**env, "GOINSTRUMENT_SERVER": "0"})
    assert by_itself.returncode == 0, by_itself.stderr
    again = client(repo.root, "--staged", env=env)
    assert again.returncode == 0 and served(runtime, pid) == 2, again.stderr
    place = repo.root.resolve() / "shop.go"
    assert trace.read_text().startswith(f"trees: {place} parsed from an earlier tree (")
    assert 'Start(ctx, "Added")' in repo.staged("shop.go")
    assert repo.staged("shop.go") == GitRepo(alone).staged("shop.go")
    assert again.stderr == by_itself.stderr


def test_a_run_with_the_variable_off_leaves_no_trees_and_drops_those_left(tmp_path, runtime):
    """GOINSTRUMENT_TREES=0 is the run's own (one server serves runs with it and without): a run
    with it removes what the run before left, and leaves nothing (the next child waits a minute
    before it takes a file: one left would still be there)."""
    env = served_env(runtime, GOINSTRUMENT_TEST_TREES_WAIT="60")
    pid = warm(runtime, tmp_path, env)
    repo = module(tmp_path / "repo", {"shop.go": BIG_SHOP})
    (socket_name,) = [p.name for p in (runtime / "goinstrument").iterdir() if p.is_socket()]
    left = runtime / "goinstrument" / (socket_name + TREES)
    for n, off in enumerate(({}, {"GOINSTRUMENT_TREES": "0"}), start=1):
        repo.write("shop.go", BIG_SHOP + f"// edited {n}\n")
        repo.add("shop.go")
        spare = wait_for(lambda: _spare(runtime, pid))
        done = client(repo.root, "--staged", env={**env, **off})
        assert done.returncode == 0 and served(runtime, pid) == n, done.stderr
        wait_for(functools.partial(_replaced, runtime, pid, spare))  # the run's child reaped: it left what it would
        assert left.exists() == (not off)
    assert [p.name for p in (runtime / "goinstrument").iterdir() if TREES in p.name] == []
