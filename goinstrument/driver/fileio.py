"""Reading sources, the one atomic writer (sources, the hook script, the cache), and stdout."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path


class FileError(Exception):
    """A file that cannot be read or written; the message is for the user."""


def write_stdout(data: bytes) -> None:
    """All of `data` on stdout, or BrokenPipeError when the reader has gone (`| head -1`; see
    cli.main). A buffered write the reader cuts short returns how much it wrote instead of
    failing, and the text layer drops that count: so write the bytes, again until done."""
    sys.stdout.flush()  # whatever print() left in the text layer goes first
    out = sys.stdout.buffer
    rest = memoryview(data)
    while rest:
        rest = rest[out.write(rest) :]
    out.flush()


def read_source(path: str | Path) -> bytes:
    """A regular file's bytes. Opened without blocking and checked on the open file: a pipe put in
    its place (even between a look and the open) must not wait for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise FileError("is a directory, not a Go file; left untouched")
            if not stat.S_ISREG(mode):
                raise FileError("is not a regular file (a pipe or device?); left untouched")
            return f.read()
    except IsADirectoryError:
        raise FileError("is a directory, not a Go file; left untouched") from None
    except FileNotFoundError:
        if os.path.islink(path):
            raise FileError("is a dangling symbolic link; left untouched") from None
        raise FileError("no such file") from None
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None


# A test hook: seconds to pause after the new content is ready, before the last look at the file
# and the rename, so a test can edit the file in between (tests/test_writer.py).
TEST_WRITE_DELAY = "GOINSTRUMENT_TEST_WRITE_DELAY"

CHANGED = "changed on disk while being processed; left untouched"
OUTSIDE = "link leads outside the repository"  # a skip reason: `path: skipped: link leads ...`
READ_ONLY = "not writable (read-only); left untouched"
LOCK_WAIT = 10.0  # seconds to wait for another process's flock on the file


def inside(target: str, root: str) -> bool:
    """Whether the resolved path `target` is `root` (resolved) or below it."""
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def replace_atomically(path: Path, data: bytes, *, expect: bytes | None = None, mode: int | None = None, within: str | None = None) -> None:
    """Give `path` the content `data` in one rename: readers see the old file or the new one.

    The bytes go to a temporary file beside the target, which then replaces it.
    A symlink is written through to its target; with `within` (a resolved directory:
    the top of the repository), only when that target, every link in its path
    resolved, is below it. The file gets `mode` when it is given; otherwise an
    existing file keeps its mode (a new one gets 0o600). An existing file keeps its
    owner where we may. SIGINT and SIGTERM wait from the temporary file's creation
    to the rename, so an interrupt never leaves the temporary file behind.

    With `expect` (a source file), the file must be writable by us as `open(2)` for
    writing judges it (as `gofmt -w`: root may write a 0444 file), and must still hold
    exactly those bytes, or nothing is written: it is read again and its size,
    mtime, ctime and inode compared with what was read right before the rename, under
    an advisory lock (flock) that other goinstrument runs take too. Raises FileError
    with a message for the user.
    """
    target = os.path.realpath(path)
    if within is not None and not inside(target, within):
        raise FileError(f"{OUTSIDE}; left untouched")
    if expect is None:
        try:
            info: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise FileError(f"cannot read: {exc.strerror or exc}") from None
        _replace(target, data, mode, info, None)
        return
    try:
        # O_NONBLOCK: a pipe put in the file's place must not hang the run (it fails the S_ISREG below).
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileError(CHANGED) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link now, where the path had none
            raise FileError(CHANGED) from None
        raise FileError(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileError(CHANGED)
        _lock(fd)
        info = os.fstat(fd)
        if not writable(target):
            raise FileError(READ_ONLY)
        if not _holds(target, fd, info, expect):
            raise FileError(CHANGED)
        _replace(target, data, mode, info, lambda: _holds(target, fd, info, expect))
    finally:
        os.close(fd)  # and with it the lock, after the rename


def writable(path: str | Path) -> bool:
    """Whether we may open the file for writing, as `gofmt -w` must (which root may, whatever the mode)."""
    return os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def _lock(fd: int) -> None:
    """An exclusive flock on the file, waiting a while for another run that holds it. Editors
    take none: this keeps two goinstrument runs from interleaving, not an editor out."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the checks below still hold
        return
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise FileError("locked by another process (flock); left untouched") from None
            time.sleep(0.02)
        except OSError:
            return  # a file system without flock: the checks below still hold


def _holds(target: str, fd: int, info: os.stat_result, expect: bytes) -> bool:
    """Whether the path still names the file `fd` is open on, unchanged since `info`, holding `expect`."""
    try:
        if os.pread(fd, len(expect) + 1, 0) != expect:
            return False
        now = os.stat(target, follow_symlinks=False)
    except OSError:
        return False
    fields = ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns", "st_mode")
    return all(getattr(now, f) == getattr(info, f) for f in fields)


def _replace(target: str, data: bytes, mode: int | None, info: os.stat_result | None, still: Callable[[], bool] | None) -> None:
    """Write the temporary file and rename it over `target`, if `still()` holds right before."""
    directory, name = os.path.split(target)
    with _interrupts_held():
        try:
            fd, tmp = _temporary(directory, name)
        except OSError as exc:
            raise FileError(f"cannot write: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            wanted = mode if mode is not None else None if info is None else info.st_mode & 0o7777
            if wanted is not None:
                os.chmod(tmp, wanted)
            if info is not None and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):
                    os.chown(tmp, info.st_uid, info.st_gid)
            delay = os.environ.get(TEST_WRITE_DELAY)
            if delay:
                time.sleep(float(delay))
            # What remains open: a write between this last look and rename(2) below, microseconds.
            if still is not None and not still():
                raise FileError(CHANGED)
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise FileError(f"cannot write: {exc.strerror or exc}") from None
            raise


def _temporary(directory: str, name: str) -> tuple[int, str]:
    """A new file beside the target, open, as tempfile.mkstemp makes one: mode 0600, created by
    this call alone (O_EXCL), a name no file has. Not tempfile's own: importing it (shutil, random,
    bz2, lzma) costs a hook's run 4 ms."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.goinstrument")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no temporary file name left")


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done, then act as they would have. Their handlers
    are swapped for one that notes them (blocking them in this thread would not do: the process's
    other threads, a pool's, would take them and the interpreter would act here all the same)."""
    noted: list[signal.Signals] = []
    try:
        before = {signum: signal.signal(signum, lambda signum, frame: noted.append(signal.Signals(signum))) for signum in _HELD}
    except ValueError:  # not the main thread: signals are not handled here anyway
        yield
        return
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
        for held in noted:
            handler = before[held]
            if callable(handler):
                handler(held, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(held)


_HELD = (signal.SIGINT, signal.SIGTERM)
