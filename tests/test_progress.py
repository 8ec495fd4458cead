"""The progress bar: on a run over more than 300 files with stderr a terminal (a real
pseudo-terminal here), and never when stderr is piped, with -q, or with --format json or
github; and the batch reporting progress as results arrive, whatever their order."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from goinstrument.driver import batch
from goinstrument.driver.progress import SHOWN_ABOVE

SRC = 'package p\n\nimport "context"\n\nfunc F{n}(ctx context.Context) {{\n\tprintln({n})\n}}\n'


def _module(root: Path, files: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    for n in range(files):
        (root / f"p{n // 100}").mkdir(exist_ok=True)
        (root / f"p{n // 100}" / f"f{n}.go").write_text(SRC.format(n=n))
    return root


def _env() -> dict[str, str]:
    return {**os.environ, "TERM": "xterm", "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def run_on_a_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """The real command line with stderr a pseudo-terminal and stdout a pipe: (exit, stdout, what the terminal got)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "goinstrument", *args],
        cwd=cwd,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    terminal = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not data:
            break
        terminal += data
    os.close(leader)
    assert proc.stdout is not None
    stdout = proc.stdout.read().decode()
    return proc.wait(timeout=60), stdout, terminal.decode()


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """A tree with more files than the bar is shown for; every run below writes nothing to it."""
    return _module(tmp_path_factory.mktemp("large"), SHOWN_ABOVE + 20)


def test_a_large_run_on_a_terminal_shows_a_bar_and_erases_it(large):
    code, stdout, terminal = run_on_a_terminal("--check", "--jobs", "2", ".", cwd=large)
    assert code == 1 and stdout.count("no span") == SHOWN_ABOVE + 20
    total = SHOWN_ABOVE + 20
    assert f"   0/{total} files   0%" in terminal
    assert f"{total}/{total} files 100%" in terminal
    assert "\r\x1b[K[" in terminal  # the line rewrites itself
    after_bar = terminal.rsplit("\r\x1b[K", 1)[1]  # erased before the summary
    assert after_bar.startswith(f"goinstrument: {total} functions without a span")


def test_no_bar_when_stderr_is_piped(large):
    env = _env()
    proc = run_cli("--check", ".", cwd=large, env=env)
    assert proc.returncode == 1
    assert "\r" not in proc.stderr and "files 100%" not in proc.stderr
    assert proc.stderr.startswith("goinstrument: ")


@pytest.mark.parametrize("args", [["-q"], ["--format", "json"], ["--format", "github"]])
def test_no_bar_when_quiet_or_machine_readable(large, args):
    code, _, terminal = run_on_a_terminal("--check", *args, ".", cwd=large)
    assert code == 1
    assert "files 100%" not in terminal and "\x1b[K" not in terminal


def test_no_bar_for_a_run_of_few_files(tmp_path):
    root = _module(tmp_path / "m", SHOWN_ABOVE)
    code, _, terminal = run_on_a_terminal("--check", ".", cwd=root)
    assert code == 1
    assert "files 100%" not in terminal
    assert terminal.startswith(f"goinstrument: {SHOWN_ABOVE} functions without a span")


def test_the_bar_counts_the_files_processed_not_those_the_cache_knows(tmp_path):
    root = _module(tmp_path / "m", SHOWN_ABOVE + 20)
    code, _, terminal = run_on_a_terminal(".", cwd=root)  # writes: every file changes, and is then clean
    assert code == 0 and "files 100%" in terminal
    code, _, terminal = run_on_a_terminal(".", cwd=root)
    assert code == 0 and "files 100%" not in terminal


# --- the batch ---------------------------------------------------------------------------------------


def _square(n: int) -> int:
    return n * n


def _waits_for(flag: str, n: int) -> bool:
    """Item 0 waits (up to 20 s) for the flag file that the parent's progress callback makes."""
    if n != 0:
        return True
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if os.path.exists(flag):
            return True
        time.sleep(0.01)
    return False


def _died(n: int, why: str) -> int:
    return -1


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_all_reports_every_item_once_and_keeps_the_items_order(jobs):
    calls: list[int] = []
    items = list(range(200))
    assert batch.run_all(_square, items, jobs, _died, calls.append) == [n * n for n in items]
    assert sum(calls) == len(items) and len(calls) > 1


def test_run_all_reports_progress_as_results_arrive_not_in_the_items_order(tmp_path):
    """Item 0's chunk finishes only once the parent has reported another chunk's progress:
    waiting for the results in the items' order would leave it waiting in vain."""
    from functools import partial

    flag = tmp_path / "reported"
    items = list(range(200))
    results = batch.run_all(partial(_waits_for, str(flag)), items, 2, _died, lambda n: flag.touch())
    assert results[0] is True
    assert all(results)


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_all_finishes_each_result_once_in_this_process_and_returns_them_in_the_items_order(jobs):
    """`finish` (the run's write of a changed file) runs in the parent, once per item: in the items'
    order when they run here, as they arrive from a pool (test_run_all_finishes_results_as_they_arrive)."""
    finished: list[tuple[int, int]] = []

    def finish(result: int) -> int:
        finished.append((os.getpid(), result))
        return result + 1

    items = list(range(200))
    assert batch.run_all(_square, items, jobs, _died, finish=finish) == [n * n + 1 for n in items]
    if jobs == 1:
        assert [r for _, r in finished] == [n * n for n in items]
    else:
        assert sorted(r for _, r in finished) == sorted(n * n for n in items)
    assert {pid for pid, _ in finished} == {os.getpid()}


def test_run_all_finishes_results_as_they_arrive(tmp_path):
    """Item 0's chunk finishes only once the parent has finished another chunk's results:
    finishing them all at the end would leave it waiting in vain."""
    from functools import partial

    flag = tmp_path / "finished"

    def finish(result: bool) -> bool:
        flag.touch()
        return result

    results: list[bool] = batch.run_all(partial(_waits_for, str(flag)), list(range(200)), 2, lambda n, why: False, finish=finish)
    assert all(results)
