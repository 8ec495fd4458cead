"""A small batch shared among forked children (batch.run_all under SERIAL_BELOW items, on Linux):
when it forks (two processes' worth of bytes, `jobs` not 1, an idle core), how it is shared (this
process's share dealt in advance, the children's queue), that it really runs in several
processes, that its results are the serial run's (order, finish in the items' order, progress),
and that a child's death and an exception of `work` are answered as in the pool. Ctrl-C and
the parent's death: test_writer (item 12); the same through the command line: test_driver (a
worker that dies in a small batch), test_writer (an interrupt mid-run), test_startup (no pool
module imported)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from goinstrument.driver import batch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="small batches fork on Linux only")

BIG = batch.SHARE_FROM  # one child's worth of bytes


def _pid(item: object) -> int:
    return os.getpid()


def _own_package(item: object) -> tuple[str, int, int]:
    return str(item), BIG, 0


def _died(item: object, why: str) -> str:
    return f"died: {item}: {why}"


def _meet(place: str, parent: int, item: object) -> int:
    """In a child: wait (up to 20 s) until two children have started on an item, so that each
    takes one (a child done at once could take them all)."""
    if os.getpid() != parent:
        Path(place, str(os.getpid())).touch()
        deadline = time.monotonic() + 20
        while len(os.listdir(place)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    return os.getpid()


def test_a_two_item_batch_runs_in_two_processes() -> None:
    """The first item here, the second in a child forked before it."""
    results = batch.run_all(_pid, ["a", "b"], 2, _died, weigh=lambda item: (item, 2 * BIG, 0))
    assert results[0] == os.getpid()
    assert results[1] != os.getpid()


def test_on_two_workers_this_process_works_its_share_while_one_child_works_the_rest() -> None:
    """Not idle while a child works (review: two children on two cores bought nothing but their cost)."""
    assert batch._plan(list("abcd"), 2, _own_package) == batch._Plan([0, 3], 1, [[1], [2]])
    results = batch.run_all(_pid, list("abcd"), 2, _died, weigh=_own_package)
    assert results[0] == results[3] == os.getpid()
    assert results[1] == results[2] != os.getpid()


def test_what_finishing_costs_this_process_is_dealt_to_the_child_instead() -> None:
    """A staged run readies the index (~10 ms) amid its share: the child it forked idled at the end."""
    finishing = _own_package("a")[1]
    assert batch._plan(list("abcd"), 2, _own_package, finishing) == batch._Plan([0], 1, [[1], [2], [3]])
    results = batch.run_all(_pid, list("abcd"), 2, _died, weigh=_own_package, finishing=finishing)
    assert results[0] == os.getpid()
    assert len(set(results[1:])) == 1 and os.getpid() not in results[1:]


def test_a_batch_worth_three_processes_runs_this_process_s_share_here_and_the_rest_in_two_children(tmp_path: Path) -> None:
    assert batch._plan(list("abcdef"), 3, _own_package) == batch._Plan([0, 5], 2, [[1], [2], [3], [4]])
    results = batch.run_all(partial(_meet, str(tmp_path), os.getpid()), list("abcdef"), 3, _died, weigh=_own_package)
    assert results[0] == results[5] == os.getpid()
    assert len(set(results[1:5])) == 2 and os.getpid() not in results[1:5]


@pytest.mark.parametrize(
    ("items", "jobs", "weigh"),
    [
        (["a"], 2, _own_package),  # one item
        (["a", "b", "c"], 1, _own_package),  # --jobs 1
        (["a", "b", "c"], 2, lambda item: (item, 100, 100)),  # a few bytes: a fork would cost more than it saves
        (["a", "b", "c"], 2, None),  # no weights: not known to be worth it
        (["a", "b"], 2, lambda item: (item, 2 * BIG if item == "a" else BIG // 2, 0)),  # what a child would take is not worth one
    ],
)
def test_a_batch_not_worth_a_fork_runs_here(items: list[str], jobs: int, weigh: object) -> None:
    assert batch.run_all(_pid, items, jobs, _died, weigh=weigh) == [os.getpid()] * len(items)  # type: ignore[arg-type]


def test_the_units_are_a_package_s_files_together_dealt_heaviest_first_to_the_process_given_least() -> None:
    """p and r (two shares each) go to the children, q to this process (one share after the
    first: the least), s to the first child (a tie between processes goes to a child)."""
    packages = {"first": "p0", "b": "p", "c": "p", "d": "q", "e": "r", "f": "s"}
    plan = batch._plan(list(packages), 3, lambda item: (packages[item], BIG * (2 if item == "e" else 1), 0))
    assert plan == batch._Plan([0, 3], 2, [[1, 2], [4], [5]])
    # p: 3 of 5 shares, more than a process's fair fifth: its files are dealt one by one
    big = {"first": "p0", "b": "p", "c": "p", "d": "p", "e": "q"}
    plan = batch._plan(list(big), 8, lambda item: (big[item], BIG, 0))
    assert plan == batch._Plan([0], 4, [[1], [2], [3], [4]])


def test_a_file_of_no_bytes_of_its_own_stays_with_the_file_before_it_in_its_package() -> None:
    """A staged copy holding its blob's bytes weighs 0 (run._weigh_work: its outcome is compared
    with the blob's, once its package's declarations are known): dealt alone, it would cost a
    process its whole package. The hook's five files, as the bench stages them (10 items)."""
    hook = [("cgo", 54334, 219830), ("modfetch", 35244, 146361), ("work", 34692, 316435), ("slog", 8651, 86153), ("net", 8891, 528083)]
    weights = [weight for package, size, scan in hook for weight in [(package, size, scan), (package, 0, scan)]]
    plan = batch._plan(weights, 2, lambda item: item)
    assert plan == batch._Plan([0, 1, 8, 9], 1, [[4, 5], [2, 3], [6, 7]])
    one = [("p", 8 * BIG, 0), ("p", 0, 0), ("p", 8 * BIG, 0), ("p", 0, 0), ("p", 0, 0)]  # more than a fair share: split
    assert batch._plan(one, 2, lambda item: item) == batch._Plan([0, 1], 1, [[2, 3, 4]])


def test_a_staged_file_weighs_its_bytes_and_what_its_functions_taking_a_context_cost(tmp_path: Path) -> None:
    """The engine's work is mostly per function taking a context (its span planned, made, checked):
    the hook's modfetch/fetch.go (35 KB, 10 of them) costs more than work/build.go (35 KB, 5)."""
    from goinstrument.driver import run
    from goinstrument.engine.result import Source

    (tmp_path / "p.go").write_bytes(b"package p\n" + b"x" * 5000)
    data = b"package p\n\nfunc F(ctx context.Context) {}\nfunc G(ctx context.Context) {}\n"
    blob, copy = Source("a.go", tmp_path / "a.go", data), Source("a.go", tmp_path / "a.go", data)
    assert run._weigh_work({}, blob) == (str(tmp_path), len(data) + 2 * run.CONTEXT_BYTES, 5010)
    assert run._weigh_work({}, (blob, copy)) == (str(tmp_path), 0, 5010)  # compared with its blob's outcome


def test_a_file_of_a_large_package_weighs_what_working_out_the_package_costs() -> None:
    """net/http's 418-byte file costs 100 ms in a process that has not read its package (0.9 MB):
    queued last, it would keep one child busy while the other has nothing left to take."""
    weights = {"first": (BIG, 0), "a": (BIG, 0), "b": (BIG, 0), "small": (400, 40 * BIG)}
    plan = batch._plan(list(weights), 3, lambda item: (item, *weights[item]))
    assert plan == batch._Plan([0], 2, [[3], [1], [2]])
    # Two small files of such a package: split, each process would work the package out again
    assert batch._plan(["a", "b"], 2, lambda item: ("p", 400, 40 * BIG)) is None


def test_a_batch_left_no_idle_core_by_the_machine_s_load_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--jobs` not given (0): a child only where a core is idle; a child forked where none is would
    take its time from this process, and add its own cost."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(batch, "_load", lambda: (1.0, 1))  # one core busy: this process takes the other
    weighed: list[str] = []

    def weigh(item: str) -> tuple[str, int, int]:
        weighed.append(item)
        return _own_package(item)

    assert batch.run_all(_pid, list("abcd"), 0, _died, weigh=weigh) == [os.getpid()] * 4
    assert weighed == []  # not even weighed (run.py stats each package's files for it)
    assert batch.run_all(_pid, list("abcd"), 2, _died, weigh=_own_package)[1] != os.getpid()  # --jobs 2: asked for
    monkeypatch.setattr(batch, "_load", lambda: (0.5, 1))
    assert batch.run_all(_pid, list("abcd"), 0, _died, weigh=_own_package)[1] != os.getpid()


def test_the_busy_cores_are_the_lesser_of_the_load_s_average_and_the_tasks_runnable_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The average counts this run's own recent processes: a hook run commit after commit, with
    nothing else running, would find a core busy, which no other task runnable now belies; and
    a burst of tasks right now on a machine idle over the minute does not keep it serial."""
    load = batch._load()  # this machine's: this process is running, and not counted
    assert load is not None and load[0] >= 0 and load[1] >= 0
    for (average, running), spare in {(0.0, 0): 2, (1.0, 0): 2, (0.9, 5): 2, (1.0, 1): 1, (1.5, 2): 1, (6.5, 5): 1}.items():
        monkeypatch.setattr(batch, "_load", lambda average=average, running=running: (average, running))
        assert batch._spare(2) == spare, (average, running)
    monkeypatch.setattr(batch, "_load", lambda: None)  # not known: as many as asked
    assert batch._spare(2) == 2


def _waits_for(place: str, others: list[str], item: str) -> int:
    """`slow` (a file of few bytes whose package costs much, say) is done only once the others are."""
    if item == "slow":
        deadline = time.monotonic() + 20
        while not all(os.path.exists(os.path.join(place, other)) for other in others) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(os.path.exists(os.path.join(place, other)) for other in others), "held up"
    else:
        Path(place, item).touch()
    return os.getpid()


def test_a_free_child_takes_the_next_file_one_slow_file_does_not_hold_up_the_others(tmp_path: Path) -> None:
    """Bytes do not tell every cost (a package's context scan): each child takes the next unit as
    it is free, not a share dealt in advance (which here would give `slow` half of the others)."""
    others = ["s2", "s3", "s4", "s5"]
    items = ["first", "slow", *others]
    assert batch._plan(items, 3, _own_package) == batch._Plan([0, 5], 2, [[1], [2], [3], [4]])
    results = batch.run_all(partial(_waits_for, str(tmp_path), others), items, 3, _died, weigh=_own_package)
    assert results[1] not in [os.getpid(), *results[2:]]
    assert len(set(results[2:5])) == 1 and results[5] == os.getpid()


def _square(n: int) -> int:
    return n * n


@pytest.mark.parametrize("count", [2, 3, 9, batch.SERIAL_BELOW - 1])
def test_a_forked_batch_gives_what_a_serial_one_gives_finished_here_in_the_items_order(count: int) -> None:
    def run(jobs: int) -> tuple[list[int], list[tuple[int, int]], list[int]]:
        finished: list[tuple[int, int]] = []
        progress: list[int] = []

        def finish(result: int) -> int:
            finished.append((os.getpid(), result))
            return result + 1

        results: list[int] = batch.run_all(
            _square, list(range(count)), jobs, lambda n, why: -1, progress.append, finish, lambda n: (str(n % 4), BIG, 0)
        )
        return results, finished, progress

    serial, forked = run(1), run(2)
    assert forked == serial
    assert serial[0] == [n * n + 1 for n in range(count)]
    assert [pid for pid, _ in forked[1]] == [os.getpid()] * count


def _dies_on(victim: str, parent: int, item: str) -> int:
    """A child that works `victim` is killed (as the kernel kills for memory); the parent never is."""
    if item == victim and os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


@pytest.mark.parametrize("victim", ["b", "c", "d", "f"])
def test_a_child_killed_mid_batch_fails_its_item_alone_and_the_rest_of_its_package_runs_again(victim: str) -> None:
    items = list("abcdefg")
    packages = {"a": "0", "b": "p", "c": "p", "d": "p", "e": "q", "f": "q", "g": "q"}  # a, p and q: a process's fair share each

    def weigh(item: str) -> tuple[str, int, int]:
        return packages[item], 3 * BIG if item == "a" else BIG, 0

    assert batch._plan(items, 3, weigh) == batch._Plan([0], 2, [[1, 2, 3], [4, 5, 6]])
    results = batch.run_all(partial(_dies_on, victim, os.getpid()), items, 3, _died, weigh=weigh)
    assert results[items.index(victim)] == f"died: {victim}: {batch.DIED}"
    assert all(isinstance(pid, int) for item, pid in zip(items, results, strict=True) if item != victim)
    if victim == "c":  # b was sent before c killed its child; d ran in another one
        assert results[1] != results[3]


def _dies_in_a_worker(item: int) -> int:
    if item == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return item * item


def test_a_pool_broken_while_its_chunks_are_handed_out_loses_only_the_dead_worker_s_item(monkeypatch) -> None:
    """A worker that dies before the last chunk is submitted breaks the pool under submit itself
    (a loaded machine: CI's run said 'internal error: BrokenProcessPool'): the chunks not handed out
    run again like those lost, one at a time, and only the item that killed its worker fails."""
    from concurrent.futures import ProcessPoolExecutor

    real_submit = ProcessPoolExecutor.submit
    submitted: list[object] = []

    def submit(pool: ProcessPoolExecutor, *args: object, **kwargs: object) -> object:
        if submitted and not submitted[0]:  # once: the first chunk's worker is dead before the second is submitted
            deadline = time.monotonic() + 30
            while not getattr(pool, "_broken", False) and time.monotonic() < deadline:
                time.sleep(0.01)
            submitted[0] = True
        future: object = real_submit(pool, *args, **kwargs)  # type: ignore[arg-type]
        if not submitted:
            submitted.append(False)
        return future

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    items = list(range(batch.SERIAL_BELOW * 2))
    results = batch.run_all(_dies_in_a_worker, items, 2, _died)
    assert submitted == [True]
    assert results[0] == f"died: 0: {batch.DIED}"
    assert results[1:] == [n * n for n in items[1:]]


# A pool's worker that dies halfway through sending its result (killed mid-write: Ctrl-C's kill of the
# workers, the kernel's OOM killer), made certain: it takes the results pipe's lock, sends the length
# of a result and a part of it, and is killed, or (MODE "hold") stops until the test interrupts the
# run. Run in a child process: before the fix the pool's thread waited forever for the rest, and the
# run (or the interpreter's exit, which joins that thread) never ended.
_HALF_SENT = """
import os, signal, sys, time
from goinstrument.driver import batch

MODE, MARK, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])

def half_sent(item):
    if item == 0:
        frame = sys._getframe()
        while "result_queue" not in frame.f_locals:  # the worker's loop (concurrent.futures.process)
            frame = frame.f_back
        results = frame.f_locals["result_queue"]
        results._wlock.acquire()  # as Connection.send holds it: the other worker cannot send either
        os.write(results._writer.fileno(), (1 << 20).to_bytes(4, "big") + b"part of a result")
        open(MARK, "w").close()
        if MODE == "hold":
            time.sleep(600)
        os.kill(os.getpid(), signal.SIGKILL)
    return item * item

class Terminated(BaseException):
    pass

def terminated(signum, frame):
    raise Terminated

signal.signal(signal.SIGTERM, terminated)  # as the command line's
try:
    results = batch.run_all(half_sent, list(range(COUNT)), 2, lambda item, why: "died")
except Terminated:
    sys.exit(143)
print(results[0], results[1:] == [n * n for n in range(1, COUNT)])
"""


def _half_sent(tmp_path: Path, mode: str, count: int = batch.SERIAL_BELOW * 2) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _HALF_SENT, mode, str(tmp_path / "sent"), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ended(run: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Its exit code and output, within 30 s (a hang, before the fix), or the test fails and
    the run is killed (its workers die with it)."""
    with run:
        try:
            out, err = run.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            out, err = run.communicate()
            pytest.fail(f"no end in 30 s: {err}")
    return run.returncode, out, err


@pytest.mark.parametrize(
    "count",
    [
        batch.SERIAL_BELOW * 2,
        # Its items run again one at a time, the first dying halfway again: the pool's thread, stuck,
        # no longer emptied the pipe each submit wakes it through, and 16k submits filled it.
        pytest.param(20_000, marks=pytest.mark.slow),
    ],
)
def test_a_worker_killed_halfway_through_sending_its_result_fails_its_item_alone(tmp_path: Path, count: int) -> None:
    """The pool's thread, reading the half-sent result, never saw the worker die: the run hung."""
    assert _ended(_half_sent(tmp_path, "die", count)) == (0, "died True\n", "")


def test_an_interrupt_while_a_worker_is_halfway_through_sending_its_result_ends_the_run(tmp_path: Path) -> None:
    """The workers killed, the pool's thread still waited for the rest of the result: the
    interpreter's exit, which joins it, hung (CI: SIGTERM mid-run, no exit in 30 s)."""
    run = _half_sent(tmp_path, "hold")
    deadline = time.monotonic() + 30
    while not (tmp_path / "sent").exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if not (tmp_path / "sent").exists():
        run.kill()  # (its workers die with it)
        _, err = run.communicate()
        pytest.fail(f"no worker sent half a result: {err}")
    run.send_signal(signal.SIGTERM)
    assert _ended(run) == (143, "", "")


def _raises(item: str) -> str:
    if item == "c":
        raise ValueError(f"bad {item}")
    return item


def test_an_exception_of_work_in_a_child_is_raised_here_as_it_would_be_run_here() -> None:
    for jobs in (1, 2):
        with pytest.raises(ValueError, match="bad c"):
            batch.run_all(_raises, list("abcd"), jobs, _died, weigh=_own_package)


def _no_fork() -> int:
    raise OSError(11, "Resource temporarily unavailable")


def test_a_batch_that_cannot_fork_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.fork failing (EAGAIN under a container's process limit) leaves the batch to this process
    as a serial one would run it, not the run failed (review)."""
    monkeypatch.setattr(os, "fork", _no_fork)
    items = [str(n) for n in range(6)]
    finished: list[str] = []

    def finish(result: str) -> str:
        finished.append(result)
        return result

    results = batch.run_all(_square_of, items, 2, _died, finish=finish, weigh=_own_package)
    assert results == finished == [str(int(n) ** 2) for n in items]


def _square_of(item: str) -> str:
    return str(int(item) ** 2)
