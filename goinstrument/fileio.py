"""Reading sources, the one atomic writer (sources, the hook script, the cache), and stdout."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
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


def read_source(path: Path) -> bytes:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise FileError("is a directory, not a Go file; left untouched")
        if not stat.S_ISREG(mode):
            raise FileError("is not a regular file (a pipe or device?); left untouched")
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise FileError("is a directory, not a Go file; left untouched") from None
    except FileNotFoundError:
        if os.path.islink(path):
            raise FileError("is a dangling symbolic link; left untouched") from None
        raise FileError("no such file") from None
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None


def replace_atomically(path: Path, data: bytes, *, expect: bytes | None = None, mode: int | None = None) -> None:
    """Give `path` the content `data` in one rename: readers see the old file or the new one.

    The bytes go to a temporary file beside the target, which then replaces it.
    A symlink is written through to its target. The file gets `mode` when it is
    given; otherwise an existing file keeps its mode (a new one gets 0o600).
    An existing file keeps its owner where we may.
    With `expect`, the file must still hold exactly those bytes, or nothing is
    written (a file changed on disk while it was being processed is left alone).
    Raises FileError with a message for the user.
    """
    target = Path(os.path.realpath(path))
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None
    if expect is not None:
        try:
            with open(target, "rb") as f:
                current = f.read(len(expect) + 1)
        except OSError as exc:
            raise FileError(f"cannot read: {exc.strerror or exc}") from None
        if current != expect:
            raise FileError("changed on disk while being processed; left untouched")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".goinstrument", dir=target.parent)
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
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise FileError(f"cannot write: {exc.strerror or exc}") from None
