"""Many files at once: in worker processes, one file's failure never stopping the others.

`run_all(work, items, jobs, died, progress, finish, weigh)` gives `finish(work(item))` for
every item, in the items' order: `finish` runs in this process on each result as it arrives
(the run writes a changed file there, while the workers go on with the others), and then
`progress(n)` is called as each n results are finished, in whatever order they are done
(for a progress bar).

Three ways, by the batch's size. From SERIAL_BELOW items, a pool of `jobs` worker processes,
the items sent in chunks. Under it, a pool would cost more to import and start than it saves:
on Linux, with `weigh(item)` (its package, its bytes, its package's bytes) given, `jobs` not
1 (when not given, a core idle by the machine's load) and no other thread running, a batch
whose items weigh SHARE_FROM bytes a process (`_plan`) is shared between this process and
`os.fork()`ed children, which inherit the run's modules and the grammar. This process works
its share, dealt in advance (the first item's package first), while each child takes the next
unit (a package's files, or one file) from a queue as it is free, heaviest first, and sends
each result back, pickled, through a pipe; `finish` is called here in the items' order as
they arrive. Otherwise (one item, a few bytes, `jobs` 1, no idle core, another system) the
batch runs in this process, item after item.

A worker that dies (killed for memory, a crash in a native library) loses only what it had
not finished. A pool breaks: the items whose results were lost (every worker's unfinished
chunks) are then run again one at a time in a fresh one-worker pool, where the item running
when it breaks is the one that broke it. So too when a worker dies halfway through sending a
result, where the pool's own thread would wait forever for the rest: after DEATH_CHECK
seconds with no result, a dead worker found ends the others (`_end_workers`), and the pool
breaks. A forked child sends each result as it is done: the first of its unit it did not send
is the one it died on, and the rest of its unit goes to a new child. The item a worker died
on becomes `died(item, why)`; every other item still gets its result (this process's share,
the first item and what `_plan` dealt it, dies with it, as in a batch run here: which items
those are is certain from the weights, never a race; whether a small batch forks at all, when
`jobs` is not given, follows the machine's load: a batch run here loses all of it to a crash).
The workers ignore SIGINT (the parent answers Ctrl-C), are killed when the parent is
interrupted, and die with the parent when it is killed.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from goinstrument.tuples import NamedTuple

if TYPE_CHECKING:
    import multiprocessing.context
    import multiprocessing.process
    from concurrent.futures import Future
    from types import ModuleType

T = TypeVar("T")
R = TypeVar("R")

SERIAL_BELOW = 48  # items; fewer are done in this process, or in forked children, sparing the pool's start-up
# Bytes of Go worth a process of a small batch: ~30 ms of work in a run that writes (with its
# stability check), ~17 in --check, against ~10-15 ms of CPU a child costs (the fork, ~2,000
# copy-on-write faults at ~3 us, the pickles, its exit, what it works out again: a module's
# facts; in a run not served warm, the grammar's queries too).
SHARE_FROM = 24 * 1024
# A file's package weighs a sixteenth of its bytes: what its files declare, whether they compare
# contexts, is worked out once a process (net/http's 0.9 MB: ~100 ms; most packages far less).
PACKAGE_SCAN = 16
DIED = "the worker process processing it died (killed, or out of memory?)"
DEATH_CHECK = 0.5  # seconds a pool's run waits for a result before it looks whether a worker died
IN_FLIGHT = 3  # chunks a worker handed out at a time: its next ones queued while this process finishes results


def run_all(
    work: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    died: Callable[[T, str], R],
    progress: Callable[[int], None] | None = None,
    finish: Callable[[R], R] | None = None,
    weigh: Callable[[T], tuple[str, int, int]] | None = None,
    finishing: int = 0,
) -> list[R]:
    """`finish(work(item))` for every item, in order; `work` must be picklable (a module-level
    function or a partial of one), and its results; `finish` (default: none) runs in this
    process; `weigh` (default: none, a small batch is never forked) gives an item's package,
    its bytes and its package's; `finishing`, in the same bytes, what `finish` costs this
    process over the batch (a forked batch deals it that much less work)."""
    workers = jobs or os.cpu_count() or 1
    report = progress or _nothing
    done = finish or _same
    if workers == 1 or len(items) < SERIAL_BELOW:
        cores = workers if jobs or workers == 1 else _spare(workers)  # `--jobs N` is the user's to choose
        plan = _plan(items, cores, weigh, finishing) if weigh is not None and cores > 1 and len(items) > 1 and _may_fork() else None
        if plan is not None:
            return _forked(work, items, plan, died, report, done)
        return [_reported(done(work(item)), report) for item in items]
    results: dict[int, R] = {}
    size = max(1, min(64, len(items) // (workers * 8)))
    chunks = [list(range(start, min(start + size, len(items)))) for start in range(0, len(items), size)]
    lost = _in_pool(work, items, chunks, workers, results, report, done)
    while lost:  # one at a time, in order: the first lost item is the one its worker died on
        lost = _in_pool(work, items, [[i] for i in lost], 1, results, report, done)
        if lost:
            culprit, lost = lost[0], lost[1:]
            results[culprit] = _reported(done(died(items[culprit], DIED)), report)
    return [results[i] for i in range(len(items))]


def _nothing(n: int) -> None:
    pass


def _same(result: R) -> R:
    return result


def _reported(result: R, progress: Callable[[int], None]) -> R:
    progress(1)
    return result


def _context() -> multiprocessing.context.BaseContext:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _chunk(work: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [work(item) for item in chunk]


def _in_pool(
    work: Callable[[T], R],
    items: Sequence[T],
    chunks: list[list[int]],
    workers: int,
    results: dict[int, R],
    progress: Callable[[int], None],
    finish: Callable[[R], R],
) -> list[int]:
    """Run the chunks; fill `results` and report progress as each chunk is done; the indices
    whose results a broken pool lost, in order."""
    # Imported here: a small batch (a hook's few staged files) never starts a pool, nor pays for loading one.
    import collections
    import itertools
    import queue
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    lost: list[int] = []
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_start, initargs=(os.getpid(),)) as pool:
        try:
            arrived: queue.SimpleQueue[Future[list[R]]] = queue.SimpleQueue()  # each as it is done
            running: dict[Future[list[R]], list[int]] = {}
            waiting = iter(range(len(chunks)))

            def hand_out(count: int) -> None:
                """The next `count` chunks submitted. Never all at once: each submit wakes the pool's
                thread through a pipe, which a thread stuck on a half-sent result no longer empties
                (16k submits, a big batch's items run again one at a time, filled it: a hang)."""
                for n in itertools.islice(waiting, count):
                    try:
                        future = pool.submit(_chunk, work, [items[i] for i in chunks[n]])
                    except BrokenProcessPool:  # a worker died before all were handed out: the rest lost too
                        lost.extend(i for rest in chunks[n:] for i in rest)
                        collections.deque(waiting, maxlen=0)
                        return
                    running[future] = chunks[n]
                    future.add_done_callback(arrived.put)

            hand_out(IN_FLIGHT * workers)
            while running:
                try:
                    future = arrived.get(timeout=DEATH_CHECK)
                except queue.Empty:  # a worker died and the pool did not break: its thread waits for a half-sent result
                    if not getattr(pool, "_broken", False) and _a_worker_died(pool):
                        _end_workers(pool)
                    continue
                chunk = running.pop(future)
                hand_out(1)
                try:
                    done = future.result()
                except BrokenProcessPool:
                    lost.extend(chunk)
                    continue
                results.update(zip(chunk, map(finish, done), strict=True))
                progress(len(chunk))
        except BaseException:  # an interrupt (Ctrl-C, SIGTERM): the workers end now, not after the chunks queued for them
            _end_workers(pool)
            manager = getattr(pool, "_executor_manager_thread", None)  # (private too; shutdown forgets it)
            pool.shutdown(wait=False, cancel_futures=True)
            if manager is not None:  # ended (its workers gone) before the interpreter's exit wakes it: on 3.11 that
                manager.join(10)  # raced with its own close of the pipe ("Exception ignored ... Bad file descriptor")
            raise
    return sorted(lost)


def _a_worker_died(pool: object) -> bool:
    """A worker of the pool has ended (its sentinel is ready; the pool's own workers end only when
    it shuts down, after every result has come)."""
    from multiprocessing.connection import wait

    return bool(wait([process.sentinel for process in _workers(pool)], 0))


def _end_workers(pool: object) -> None:
    """Every worker killed, and this process's copy of the write end of the pipe their results come
    through closed: once they are gone, the pool's thread reads the pipe's end, and the pool breaks
    as for any worker's death. Without it, a worker killed halfway through sending a result (an
    interrupt, the kernel's OOM killer) left that thread waiting forever for the rest (CPython's pool
    holds that write end open here), and the run, or the interpreter's exit, which joins it, hung."""
    import contextlib

    for process in _workers(pool):
        with contextlib.suppress(ValueError):  # (closed)
            process.kill()
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)  # private, but no public way to reach it
    if writer is not None:
        writer.close()  # only this thread closes it (the pool's shutdown, called here): never twice at once


def _workers(pool: object) -> list[multiprocessing.process.BaseProcess]:
    """The pool's worker processes: private, but no public way to reach them."""
    return list((getattr(pool, "_processes", None) or {}).values())


# --- a small batch in forked children -------------------------------------------------------------


def _spare(cpus: int) -> int:
    """The cores the machine's other work leaves idle, this process's counted: a child forked
    where none is idle takes its time from the other processes (this one's) and only adds what
    it costs. The work is the lesser of the load's one-minute average (which counts this run's
    own recent processes: a hook run commit after commit) and the tasks runnable right now
    besides this one, rounded up."""
    busy = _load()
    if busy is None:
        return cpus
    return max(1, min(cpus, math.ceil(cpus - min(busy))))


def _load() -> tuple[float, int] | None:
    """/proc/loadavg: the one-minute average, and the tasks runnable now but this one."""
    try:
        with open("/proc/loadavg", "rb") as file:
            fields = file.read().split()
        return float(fields[0]), int(fields[3].split(b"/")[0]) - 1
    except (OSError, ValueError, IndexError):
        return None


def _may_fork() -> bool:
    """Linux (elsewhere fork is unsafe, or not there), and no thread but this one (a thread's
    lock taken at the fork would stay taken in the child)."""
    if not sys.platform.startswith("linux"):
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


class _Plan(NamedTuple):
    """How a small batch is shared: this process's share, dealt in advance (so which items a crash
    here would take with it is certain), and the children's queue."""

    here: list[int]  # this process's items, in order, the first item first: worked while the children work
    children: int
    units: list[list[int]]  # the children's queue, heaviest first: a package's files, or one file


def _plan(items: Sequence[T], workers: int, weigh: Callable[[T], tuple[str, int, int]], finishing: int = 0) -> _Plan | None:
    """As many processes (at most `workers`) as the batch weighs SHARE_FROM bytes: this one and
    children, forked before any item is worked, so that all start at once. The units (a
    package's files together: a process works out the package's declarations once, which weighs
    PACKAGE_SCAN; or one file, where the package's files weigh more than a fair share) are dealt,
    heaviest first, each to the process given the least so far (on a tie, a child): the first
    item's unit is this process's, which also counts `finishing` (what it does besides its
    share: the results' `finish`). This process works its share in the items' order; the
    others' units are the children's queue, each child taking the next as it is free. A child
    for each SHARE_FROM bytes of the queue; None when the queue is not worth one."""
    packages: dict[str, list[int]] = {}
    scans: dict[str, int] = {}  # what working out a package's declarations, once a process, weighs
    sizes: list[int] = []
    for i, item in enumerate(items):
        package, size, scan = weigh(item)
        packages.setdefault(package, []).append(i)
        scans.setdefault(package, scan // PACKAGE_SCAN)
        sizes.append(size)
    total = sum(sizes) + sum(scans.values())
    processes = min(workers, total // SHARE_FROM)
    if processes < 2:
        return None
    units: list[tuple[int, list[int]]] = []  # (bytes, indices); the first holds the first item
    for package, indices in packages.items():
        weight = sum(sizes[i] for i in indices) + scans[package]
        if weight - scans[package] <= total / processes:  # whole: split, each of its processes would work the package out again
            units.append((weight, indices))
            continue
        for n, i in enumerate(indices):  # one by one; a file of no bytes of its own (a staged copy holding
            if sizes[i] or not n:  # its blob's: compared, not worked) stays with the file before it
                units.append((sizes[i] + scans[package], [i]))
            else:
                units[-1][1].append(i)
    loads = [units[0][0] + finishing] + [0] * (processes - 1)  # this process's, then each child's
    here = list(units[0][1])
    queue: list[tuple[int, list[int]]] = []
    for weight, indices in sorted(units[1:], key=lambda unit: (-unit[0], unit[1][0])):
        least = min(range(processes), key=lambda n: (loads[n], n == 0))
        loads[least] += weight
        if least == 0:
            here += indices
        else:
            queue.append((weight, indices))
    children = min(processes - 1, len(queue), sum(weight for weight, _ in queue) // SHARE_FROM)
    if children < 1:
        return None
    return _Plan(sorted(here), children, [indices for _, indices in queue])


def _forked(
    work: Callable[[T], R],
    items: Sequence[T],
    plan: _Plan,
    died: Callable[[T, str], R],
    progress: Callable[[int], None],
    finish: Callable[[R], R],
) -> list[R]:
    """This process's share here while the children work the others; `finish` on each result in
    the items' order, as soon as it and all before it have arrived. A child that died: the first
    item of its unit it did not send is `died`'s, the rest of the unit goes to a new child (and
    only to a child: this process takes no item whose unit killed a process)."""
    arrived: dict[int, R] = {}
    finished: list[R] = []

    def arrive(i: int, result: R) -> None:
        arrived[i] = result
        while len(finished) in arrived:
            finished.append(_reported(finish(arrived.pop(len(finished))), progress))

    here, units, children = plan.here, plan.units, plan.children
    while units:
        try:
            lost, units = _in_children(work, items, units, children, arrive, here)
        except _NoFork:  # the rest here, as a serial batch would
            for i in sorted([*here, *(i for unit in units for i in unit)]):
                arrive(i, work(items[i]))
            break
        here, children = [], min(children, len(units))
        for i in lost:
            arrive(i, died(items[i], DIED))
    return finished


class _NoFork(Exception):
    """Not one child could be forked."""


_TOOK, _RESULT, _RAISED = range(3)  # what a child sends: the unit it takes, an item's result, the exception work raised


def _in_children(
    work: Callable[[T], R],
    items: Sequence[T],
    units: list[list[int]],
    count: int,
    arrive: Callable[[int, R], None],
    here: list[int],
) -> tuple[list[int], list[list[int]]]:
    """`count` forked children, each taking the next unit from a queue (a pipe) as it is free,
    `arrive(i, result)` for each result they send, and for each of `here`, worked here once they
    are started (what they sent meanwhile taken between two).
    The items the children that died were working on, and the units to run again (the rest of
    those items' units, and those no child took)."""
    import contextlib
    import fcntl
    import select

    pickle = _pickler()
    _prctl()  # loaded once here (ctypes), not in each child
    for stream in (sys.stdout, sys.stderr):  # a child must not hold a copy of what is still to be written
        stream.flush()
    parent = os.getpid()
    queue, write = os.pipe()
    os.write(write, bytes(range(len(units))))  # fewer than SERIAL_BELOW bytes: written whole, before any child reads
    os.close(write)
    children: dict[int, tuple[int, list[int | None]]] = {}  # read end -> (pid, [the unit it is working on])
    taken: set[int] = set()
    sent: set[int] = set()
    lost: list[int] = []
    again: list[list[int]] = []
    try:
        for _ in range(count):
            read, write = os.pipe()
            with contextlib.suppress(OSError):  # room for the results while this process works its share
                fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1 << 20)
            held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)  # none lands in the child before it ignores it
            try:
                pid = os.fork()
                if pid == 0:  # the child: never returns
                    _child(work, items, units, queue, write, [*children, read], parent, held)
                children[read] = (pid, [None])  # known before an interrupt held meanwhile can land
            except OSError:  # no process to be had (a limit on processes, memory): fewer children, or none
                os.close(read)
                if not children:
                    raise _NoFork from None
                break
            except BaseException:
                os.close(read)
                raise
            finally:
                os.close(write)
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(queue)
        queue = -1
        waiting = select.poll()
        for read in children:
            waiting.register(read, select.POLLIN)
        buffers = {read: bytearray() for read in children}

        def receive(timeout: int | None) -> None:
            """What the children sent, waiting up to `timeout` ms (None: until something comes)."""
            for read, _ in waiting.poll(timeout):
                chunk = os.read(read, 1 << 20)
                buffer = buffers[read]
                buffer += chunk
                while len(buffer) >= 8 and len(buffer) >= 8 + (size := int.from_bytes(buffer[:8], "big")):
                    kind, i, value = pickle.loads(buffer[8 : 8 + size])
                    del buffer[: 8 + size]
                    if kind == _TOOK:
                        children[read][1][0] = i
                        taken.add(i)
                    elif kind == _RAISED:  # as it would be raised here
                        raise value
                    else:
                        sent.add(i)
                        arrive(i, value)
                if not chunk:  # the child is done, or dead
                    waiting.unregister(read)
                    del buffers[read]
                    pid, (unit,) = children.pop(read)
                    os.close(read)
                    os.waitpid(pid, 0)
                    unsent = [] if unit is None else [i for i in units[unit] if i not in sent]
                    if unsent:  # the first is the one it died on
                        lost.append(unsent[0])
                        again.extend([unsent[1:]] if unsent[1:] else [])

        for i in here:
            arrive(i, work(items[i]))
            if buffers:  # a child's results taken as they come: it never waits long on a full pipe
                receive(0)
        while buffers:
            receive(None)
    finally:  # done, or an interrupt (Ctrl-C, SIGTERM), or work's exception: no child outlives this
        if queue >= 0:
            os.close(queue)
        for read, (pid, _) in children.items():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            os.close(read)
    return lost, again + [units[n] for n in range(len(units)) if n not in taken]


def _child(
    work: Callable[[T], R],
    items: Sequence[T],
    units: list[list[int]],
    queue: int,
    write: int,
    others: list[int],
    parent: int,
    held: set[int | signal.Signals],
) -> None:
    """A forked child's life: the next unit from the queue while there is one, each result sent
    as soon as it is done; it ends here, in os._exit (nothing of the parent's: no atexit, no
    finally, no buffered output)."""
    try:
        pickle = _pickler()
        for read in others:  # the other children's pipes, and its own read end
            os.close(read)
        _worker_start(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)

        def send(frame: tuple[int, int, object]) -> None:
            data = pickle.dumps(frame, -1)  # the highest protocol
            view = memoryview(len(data).to_bytes(8, "big") + data)
            while view:
                view = view[os.write(write, view) :]

        while task := os.read(queue, 1):
            send((_TOOK, task[0], None))
            for i in units[task[0]]:
                try:
                    send((_RESULT, i, work(items[i])))
                except BaseException as exc:  # raised in the parent, as if run there
                    send((_RAISED, i, _picklable(exc)))
    finally:
        os._exit(0)


def _pickler() -> ModuleType:
    """pickle's C module, whose dumps and loads pickle.py imports as its own (pickle.py costs a
    hook's run 2 ms more to import); pickle.py where Python has no such module."""
    try:
        import _pickle

        return _pickle
    except ImportError:
        import pickle

        return pickle


def _picklable(exc: BaseException) -> BaseException:
    pickle = _pickler()
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # not picklable: its text
        import traceback

        return RuntimeError("".join(traceback.format_exception(exc)))


def _worker_start(parent: int) -> None:
    """A worker's first act: Ctrl-C (which the terminal sends to every process of the group) is the
    parent's to answer, so the worker ignores SIGINT and takes SIGTERM's default; and it dies with
    its parent, which a SIGKILL gives no time to end its workers (Linux: PR_SET_PDEATHSIG; elsewhere
    a thread that watches the parent's pid)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _kill_me_with_my_parent():
        import threading

        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _kill_me_with_my_parent() -> bool:
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


_PRCTL: list[Callable[..., int] | None] = []


def _prctl() -> Callable[..., int] | None:
    """libc's prctl (Linux), found once: a parent that forks looks it up for its children."""
    if not _PRCTL:
        _PRCTL.append(None)
        if sys.platform.startswith("linux"):
            import contextlib
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                _PRCTL[0] = ctypes.CDLL(None, use_errno=True).prctl
    return _PRCTL[0]


def _watch(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
HELD = {signal.SIGINT, signal.SIGTERM}
