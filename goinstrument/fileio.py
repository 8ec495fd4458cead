"""Reading and writing source files safely: atomic writes, mode kept, symlinks followed."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class FileError(Exception):
    """A file that cannot be read or written; the message is for the user."""


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


def write_atomic(path: Path, original: bytes, data: bytes) -> None:
    """Replace the file's content with `data`, unless it no longer holds `original`.

    The new bytes go to a temporary file beside the target, which then replaces it
    in one rename, keeping the file mode; a symlink is written through to its target.
    """
    target = Path(os.path.realpath(path))
    try:
        with open(target, "rb") as f:
            current = f.read(len(original) + 1)
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None
    if current != original:
        raise FileError("changed on disk while being processed; left untouched")
    info = os.stat(target)
    mode = info.st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".goinstrument", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, info.st_uid, info.st_gid)  # keep the owner where we may
            except OSError:
                pass
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise FileError(f"cannot write: {exc.strerror or exc}") from None
