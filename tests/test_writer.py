"""The writer and the run's lifecycle, with real processes, real git and real signals: an edit
made while a file is written is never lost, nothing is written outside the repository (links
resolved), a read-only file is left alone as `gofmt -w` leaves it, and an interrupt ends the run
quietly, leaving no temporary file and no worker behind."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, run_cli
from gitrepo import GO_FUNC, GitRepo, git_env

from goinstrument.driver.fileio import FileError, replace_atomically
from goinstrument.driver.hook import install_hook

SRC = 'package p{n}\n\nimport "context"\n\nfunc F(ctx context.Context) error {{\n\treturn nil\n}}\n'
SPAN = "Start(ctx"


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return env


def _default_sigint() -> None:
    """A child started in the background of a shell inherits SIGINT ignored; a terminal's Ctrl-C finds it at its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "goinstrument", *args],
        cwd=cwd,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )


def _temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.goinstrument"))


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _module(root: Path, count: int, functions: int = 1) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    body = "".join(f"func F{j}(ctx context.Context) error {{\n\treturn nil\n}}\n\n" for j in range(functions))
    for n in range(count):
        (root / f"p{n}").mkdir(exist_ok=True)
        (root / f"p{n}" / "f.go").write_text(f'package p{n}\n\nimport "context"\n\n{body}')
    return root


# --- item 2: an edit made while the file is written ---------------------------------------------------


def _append(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"\n// typed meanwhile\n")


def _overwrite_same_size(path: Path) -> None:
    """An in-place save of the same length, within the same clock tick: only the bytes tell."""
    data = path.read_bytes()
    with open(path, "r+b") as f:
        f.write(data.replace(b"return nil", b"return err", 1))


def _save_by_rename(path: Path) -> None:
    """An editor's atomic save: a new file renamed over the old one (a new inode)."""
    new = path.with_name(path.name + ".swp")
    new.write_bytes(path.read_bytes() + b"\n// saved by rename\n")
    os.replace(new, path)


# Seconds each write attempt waits with its temporary file made: a test's edit lands in that window
# on a busy machine too (one that came after the rename would leave the test proving nothing).
EDIT_WINDOW = "3"


@pytest.mark.parametrize(
    ("edit", "mark"), [(_append, b"// typed meanwhile"), (_overwrite_same_size, b"return err"), (_save_by_rename, b"// saved by rename")]
)
def test_an_edit_made_while_the_file_is_being_written_is_kept_and_the_file_processed_again(tmp_path, edit, mark):
    root = _module(tmp_path / "m", 1)
    path = root / "p0" / "f.go"
    # The test hook pauses after the new content is in the temporary file, before the last look and the rename.
    proc = _start(root, "--no-cache", ".", GOINSTRUMENT_TEST_WRITE_DELAY=EDIT_WINDOW)
    _wait_for(lambda: _temporaries(root))
    edit(path)
    assert mark in path.read_bytes()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    final = path.read_bytes()
    assert mark in final and SPAN.encode() in final  # the edit is kept, and the file instrumented after a second look
    assert _temporaries(root) == []


def test_an_edit_made_again_during_the_second_attempt_is_kept_and_reported(tmp_path):
    root = _module(tmp_path / "m", 1)
    path = root / "p0" / "f.go"
    proc = _start(root, "--no-cache", ".", GOINSTRUMENT_TEST_WRITE_DELAY=EDIT_WINDOW)
    _wait_for(lambda: _temporaries(root))
    first = _temporaries(root)
    _append(path)
    _wait_for(lambda: _temporaries(root) not in ([], first))  # the second attempt's temporary file
    _append(path)
    edited = path.read_bytes()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "p0/f.go:1:1: changed on disk while being processed; left untouched" in err.decode()
    assert path.read_bytes() == edited  # both edits, and nothing of ours
    assert _temporaries(root) == []


def test_without_an_edit_the_delayed_write_goes_through(tmp_path):
    """The other side of the test above: the hook's pause alone changes nothing."""
    root = _module(tmp_path / "m", 1)
    proc = _start(root, "--no-cache", ".", GOINSTRUMENT_TEST_WRITE_DELAY="0.2")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert SPAN in (root / "p0" / "f.go").read_text()


def test_a_write_waits_for_another_runs_lock_on_the_file(tmp_path):
    """Two goinstrument runs take an exclusive flock on the file they replace: the second waits."""
    root = _module(tmp_path / "m", 1)
    path = root / "p0" / "f.go"
    with open(path, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = _start(root, "--no-cache", ".")
        time.sleep(1.5)
        assert SPAN not in path.read_text()  # processed, waiting for the lock
        fcntl.flock(held, fcntl.LOCK_UN)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert SPAN in path.read_text()


# --- item 9: never written outside the repository -----------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A Go file outside the repository (another directory in the same temporary tree)."""
    place = tmp_path / "elsewhere"
    place.mkdir()
    (place / "main.go").write_text(GO_FUNC)
    (place / "lib").mkdir()
    (place / "lib" / "x.go").write_text(GO_FUNC)
    return place


def test_the_writer_itself_refuses_a_target_outside_its_root(tmp_path, outside):
    """The writer's own check, for a link that comes to lead out after the run looked at it."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "v.go").symlink_to(outside / "main.go")
    with pytest.raises(FileError, match="link leads outside the repository; left untouched"):
        replace_atomically(root / "v.go", b"x", expect=GO_FUNC.encode(), within=os.path.realpath(root))
    assert (outside / "main.go").read_text() == GO_FUNC
    replace_atomically(root / "v.go", b"x", expect=GO_FUNC.encode(), within=os.path.realpath(tmp_path))
    assert (outside / "main.go").read_text() == "x"


def test_a_committed_link_to_a_file_outside_the_repository_is_skipped(tmp_path, outside):
    repo = GitRepo.go_module(tmp_path / "repo")
    (repo.root / "v.go").symlink_to(outside / "main.go")
    repo.commit_all("a link out")
    for args in ([".", "-v"], ["v.go", "-v"], ["--changed-since", "HEAD~1", "-v"]):
        proc = repo.goinstrument("--no-cache", *args)
        assert proc.returncode == 0, proc.stderr
        assert "v.go: skipped: link leads outside the repository" in proc.stderr, args
        assert (outside / "main.go").read_text() == GO_FUNC
    assert SPAN in repo.read("shop.go")


def test_a_directory_link_leading_outside_the_repository_is_skipped(tmp_path, outside):
    repo = GitRepo.go_module(tmp_path / "repo")
    (repo.root / "lib").symlink_to(outside / "lib")
    repo.commit_all("a directory link out")
    for args in (["lib", "-v"], ["lib/x.go", "-v"], ["./lib/...", "-v"]):
        proc = repo.goinstrument("--no-cache", *args)
        assert proc.returncode == 0, proc.stderr
        assert "x.go: skipped: link leads outside the repository" in proc.stderr, args
        assert (outside / "lib" / "x.go").read_text() == GO_FUNC


def test_a_link_inside_the_repository_is_written_through(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"real/a.go": GO_FUNC})
    (repo.root / "alias.go").symlink_to("real/a.go")
    (repo.root / "pkg").symlink_to("real")
    repo.commit_all("links in")
    proc = repo.goinstrument("--no-cache", "alias.go")
    assert proc.returncode == 0, proc.stderr
    assert (repo.root / "alias.go").is_symlink() and SPAN in repo.read("real/a.go")
    repo.git("checkout", "--", "real/a.go")
    proc = repo.goinstrument("--no-cache", "pkg/a.go")
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.read("real/a.go")


def test_outside_a_repository_a_link_out_of_the_named_directory_is_skipped(tmp_path, outside):
    root = tmp_path / "plain"
    root.mkdir()
    (root / "v.go").symlink_to(outside / "main.go")
    (root / "w.go").write_text(GO_FUNC)
    proc = run_cli("--no-cache", "-v", "plain", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "plain/v.go: skipped: link leads outside the repository" in proc.stderr
    assert (outside / "main.go").read_text() == GO_FUNC and SPAN in (root / "w.go").read_text()


def test_the_hook_never_writes_through_a_directory_link(tmp_path, outside):
    """A staged sub/x.go whose working-tree directory became a link to a directory outside: the
    staged content is instrumented and committed, the file outside is not touched."""
    repo = GitRepo.go_module(tmp_path / "repo")
    install_hook(repo.root)
    repo.write("lib/x.go", GO_FUNC)
    repo.add("lib/x.go")
    shutil.rmtree(repo.root / "lib")
    (repo.root / "lib").symlink_to(outside / "lib")
    proc = repo.commit("with a link", env=git_env())
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.show("HEAD:lib/x.go")
    assert (outside / "lib" / "x.go").read_text() == GO_FUNC
    assert "lib/x.go:1:1: warning: the working-tree copy: skipped: link leads outside the repository" in proc.stderr


def test_the_hook_never_writes_through_a_directory_link_inside_the_repository_either(tmp_path):
    """sub/b.go staged, `sub` then a link to real/: real/b.go is another index entry, not the staged file's copy."""
    repo = GitRepo.go_module(tmp_path / "repo", {"real/a.go": GO_FUNC})
    install_hook(repo.root)
    repo.write("sub/b.go", GO_FUNC)
    repo.add("sub/b.go")
    shutil.rmtree(repo.root / "sub")
    (repo.root / "sub").symlink_to("real")
    repo.write("real/b.go", GO_FUNC)
    proc = repo.commit("with a link", env=git_env())
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.show("HEAD:sub/b.go")
    assert repo.read("real/b.go") == GO_FUNC
    assert "sub/b.go:1:1: warning: the working-tree copy: skipped: a directory above it is a symbolic link" in proc.stderr


# --- item 10: a read-only file ------------------------------------------------------------------------

WITHOUT_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _gofmt() -> str:
    found = shutil.which("gofmt") or shutil.which(
        "gofmt", path=os.path.join(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True).stdout.strip(), "bin")
    )
    if found is None:
        pytest.skip("no gofmt")
    return found


def _unprivileged() -> list[str]:
    """The prefix that runs a command without root's permission bypass (as a user runs it)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root without setpriv: cannot drop CAP_DAC_OVERRIDE")
    return WITHOUT_OVERRIDE


def _read_only(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o444)
    return path


@pytest.mark.parametrize("privileged", [False, True])
def test_a_read_only_file_is_left_alone_exactly_when_gofmt_w_leaves_it(tmp_path, privileged):
    """`gofmt -w` opens the file for writing: refused for a user on a 0444 file ("permission denied",
    exit 2), allowed for root (which bypasses permissions). goinstrument does as it does."""
    prefix = [] if privileged else _unprivileged()
    if privileged and os.geteuid() != 0:
        pytest.skip("not root")
    root = _module(tmp_path / "m", 0)
    ours = _read_only(root / "a.go", SRC.format(n=""))
    theirs = _read_only(tmp_path / "b.go", "package p\nfunc  F() {}\n")
    gofmt = subprocess.run([*prefix, _gofmt(), "-w", str(theirs)], capture_output=True, text=True)
    proc = subprocess.run([*prefix, sys.executable, "-m", "goinstrument", "--no-cache", "a.go"], cwd=root, env=_env(), capture_output=True, text=True)
    gofmt_wrote = theirs.read_text() != "package p\nfunc  F() {}\n"
    assert gofmt_wrote is privileged, gofmt.stderr
    assert (SPAN in ours.read_text()) is privileged, proc.stderr
    if privileged:
        assert proc.returncode == 0 and (ours.stat().st_mode & 0o777) == 0o444
    else:
        assert "permission denied" in gofmt.stderr and gofmt.returncode == 2
        assert proc.returncode == 2
        assert "a.go:1:1: not writable (read-only); left untouched" in proc.stderr
        assert ours.read_text() == SRC.format(n="")


def test_the_hook_leaves_a_read_only_working_tree_copy_alone_and_commits_the_staged_content(tmp_path):
    prefix = _unprivileged()
    repo = GitRepo.go_module(tmp_path / "repo")
    install_hook(repo.root)
    repo.write("b.go", GO_FUNC)
    repo.add("b.go")
    repo.path("b.go").chmod(0o444)
    proc = repo.run(*prefix, "git", "commit", "-q", "-m", "read-only")
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.show("HEAD:b.go")
    assert repo.read("b.go") == GO_FUNC
    assert "b.go:1:1: warning: the working-tree copy: not writable (read-only); left untouched" in proc.stderr


# --- item 12: interrupts ------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids this test started, killed at its end if still there (a failing test leaves no orphans)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


# A Ctrl-C as goinstrument.cli is imported (a commit interrupted as its hook starts, with no server:
# the run's imports take tens of ms): a real SIGINT, sent by a finder as that import begins.
_INTERRUPTED_AT_IMPORT = """
import os, signal, sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "goinstrument.cli":
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Interrupt())
import goinstrument
sys.exit(goinstrument.main())
"""


def test_an_interrupt_as_the_run_s_modules_load_ends_quietly(tmp_path):
    """130 and no traceback, as an interrupt once the run has started (a cold trial saw 25 lines)."""
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_AT_IMPORT, "."], cwd=tmp_path, env=_env(), capture_output=True, preexec_fn=_default_sigint, check=False
    )
    assert done.returncode == 130
    assert done.stderr == b"", done.stderr.decode()


@needs_proc
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_mid_run_ends_quietly_with_no_temporary_file_and_no_worker(tmp_path, reap, signum, code):
    root = _module(tmp_path / "m", 120, functions=40)  # more than batch.SERIAL_BELOW files: a pool
    # Each write pauses between its temporary file and the rename: the signal lands in that window.
    proc = _start(root, "--no-cache", "--jobs", "2", ".", GOINSTRUMENT_TEST_WRITE_DELAY="0.3")
    _wait_for(lambda: _temporaries(root))
    workers = _children(proc.pid)
    reap.extend([proc.pid, *workers])
    assert workers, "no worker pool"
    # Ctrl-C in a terminal reaches the whole process group: the workers get it too.
    for pid in [proc.pid, *workers] if signum == signal.SIGINT else [proc.pid]:
        os.kill(pid, signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert err == b"", err.decode()
    assert _temporaries(root) == []
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=5)
    written = [p for p in root.rglob("*.go") if SPAN in p.read_text()]
    assert 0 < len(written) < 120  # stopped mid-run; each file written whole or not at all
    for path in written:
        assert path.read_text().count(SPAN) == 40


@needs_proc
def test_an_interrupt_mid_run_of_a_small_batch_leaves_no_temporary_file_and_no_child(tmp_path, reap):
    """Under batch.SERIAL_BELOW files, big enough to be shared among forked children (test_batch):
    the first file is written here while they work on the others."""
    root = _module(tmp_path / "m", 5, functions=400)  # 18 KB each: three processes' worth (batch.SHARE_FROM): two children
    proc = _start(root, "--no-cache", "--jobs", "3", ".", GOINSTRUMENT_TEST_WRITE_DELAY="0.3")
    _wait_for(lambda: _temporaries(root))
    children = _children(proc.pid)
    reap.extend([proc.pid, *children])
    assert len(children) == 2, "no children forked"
    for pid in [proc.pid, *children]:
        os.kill(pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == b"", err.decode()
    assert _temporaries(root) == []
    _wait_for(lambda: not any(_alive(pid) for pid in children), timeout=5)
    written = [p for p in root.rglob("*.go") if SPAN in p.read_text()]
    assert len(written) < 5


@needs_proc
def test_the_workers_die_with_their_parent_killed(tmp_path, reap):
    root = _module(tmp_path / "m", 120, functions=40)
    proc = _start(root, "--no-cache", "--jobs", "2", ".")
    _wait_for(lambda: len(_children(proc.pid)) >= 2)
    workers = _children(proc.pid)
    reap.extend(workers)
    time.sleep(0.5)
    proc.kill()
    proc.communicate(timeout=30)
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=5)


# A small batch's forked children (driver/batch, test_batch), at the level of batch.run_all: the items
# sleep in the children, which only Ctrl-C or the parent's death ends.

SLEEPER = """
import os, sys, time
from goinstrument.driver import batch

def work(item):
    if os.getpid() != PARENT:
        time.sleep(60)
    return item

PARENT = os.getpid()
try:
    batch.run_all(work, list("abc"), 3, lambda item, why: why, weigh=lambda item: (item, batch.SHARE_FROM, 0))
except KeyboardInterrupt:
    sys.exit(130)
"""


def _sleeper() -> tuple[subprocess.Popen[bytes], list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SLEEPER)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's Ctrl-C finds it
    )
    _wait_for(lambda: len(_children(proc.pid)) == 2, timeout=30)
    return proc, _children(proc.pid)


@needs_proc
def test_ctrl_c_is_the_parent_s_to_answer_the_children_ignore_it_and_are_killed() -> None:
    proc, children = _sleeper()
    try:
        time.sleep(0.2)  # the children are past their start
        for pid in children:  # a terminal's Ctrl-C reaches the whole process group
            os.kill(pid, signal.SIGINT)
        time.sleep(0.2)
        assert all(map(_alive, children))  # ignored
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err.decode()
        assert not any(map(_alive, children))
    finally:
        for pid in [proc.pid, *children]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@needs_proc
def test_the_forked_children_die_with_their_parent_killed() -> None:
    proc, children = _sleeper()
    try:
        time.sleep(0.2)
        proc.kill()
        proc.communicate(timeout=30)
        _wait_for(lambda: not any(map(_alive, children)), timeout=5)
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_temporary_file_is_made_as_mkstemp_makes_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fileio._temporary (tempfile's import costs a hook's start-up 4 ms): beside the target, mode
    0600 whatever the umask, created by this call alone, under a name no other file has."""
    from goinstrument.driver import fileio

    made = [fileio._temporary(str(tmp_path), "a.go") for _ in range(50)]
    for fd, path in made:
        os.close(fd)
        assert os.path.dirname(path) == str(tmp_path) and os.path.basename(path).startswith(".a.go.") and path.endswith(".goinstrument")
        assert os.stat(path).st_mode & 0o777 == 0o600
    assert len({path for _, path in made}) == 50
    taken = made[0][1]  # drawn again: an existing name is never opened (O_EXCL), the next one drawn instead
    draws = iter([bytes.fromhex(taken.split(".")[-2]), bytes(6)])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    fd, path = fileio._temporary(str(tmp_path), "a.go")
    os.close(fd)
    assert path == str(tmp_path / ".a.go.000000000000.goinstrument")
