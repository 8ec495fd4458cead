"""Many files at once: in worker processes, one file's failure never stopping the others.

`run_all(work, items, jobs, died, progress, finish)` gives `finish(work(item))` for every
item, in the items' order: `finish` runs in this process on each result as it arrives (the
run writes a changed file there, while the workers go on with the others), and then
`progress(n)` is called as each n results are finished, in whatever order they are done
(for a progress bar). Small batches run in this process (starting workers would cost
more than they save); larger ones in a pool of `jobs` worker processes, the
items sent in chunks. A worker that dies (killed for memory, a crash in a
native library) breaks the pool: the items whose results were lost are then
run again one at a time in a fresh one-worker pool, where the item running
when it breaks is the one that broke it. That item becomes `died(item,
why)`; every other item still gets its result. The workers ignore SIGINT (the
parent answers Ctrl-C), are killed when the parent is interrupted, and die
with the parent when it is killed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import Future

T = TypeVar("T")
R = TypeVar("R")

SERIAL_BELOW = 48  # items; fewer are done in this process, sparing the worker start-up


def run_all(
    work: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    died: Callable[[T, str], R],
    progress: Callable[[int], None] | None = None,
    finish: Callable[[R], R] | None = None,
) -> list[R]:
    """`finish(work(item))` for every item, in order; `work` must be picklable (a module-level
    function or a partial of one); `finish` (default: none) runs in this process."""
    workers = jobs or os.cpu_count() or 1
    report = progress or _nothing
    done = finish or _same
    if workers == 1 or len(items) < SERIAL_BELOW:
        return [_reported(done(work(item)), report) for item in items]
    results: dict[int, R] = {}
    size = max(1, min(64, len(items) // (workers * 8)))
    chunks = [list(range(start, min(start + size, len(items)))) for start in range(0, len(items), size)]
    lost = _in_pool(work, items, chunks, workers, results, report, done)
    while lost:  # one at a time, in order: the first lost item is the one its worker died on
        lost = _in_pool(work, items, [[i] for i in lost], 1, results, report, done)
        if lost:
            culprit, lost = lost[0], lost[1:]
            why = "the worker process processing it died (killed, or out of memory?)"
            results[culprit] = _reported(done(died(items[culprit], why)), report)
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
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    lost: list[int] = []
    with ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_start, initargs=(os.getpid(),)) as pool:
        try:
            futures: dict[Future[list[R]], list[int]] = {pool.submit(_chunk, work, [items[i] for i in chunk]): chunk for chunk in chunks}
            for future in as_completed(futures):
                chunk = futures[future]
                try:
                    done = future.result()
                except BrokenProcessPool:
                    lost.extend(chunk)
                    continue
                results.update(zip(chunk, map(finish, done), strict=True))
                progress(len(chunk))
        except BaseException:  # an interrupt (Ctrl-C, SIGTERM): the workers end now, not after the chunks queued for them
            for process in list((getattr(pool, "_processes", None) or {}).values()):  # private, but no public way to end them
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return sorted(lost)


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
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
