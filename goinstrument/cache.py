"""Remember files already in their final state, so a run over an unchanged tree reads nothing.

Like black's cache: per settings, a file is skipped when its size and
modification time are what they were when the tool last left it clean, and
its tracer name (which follows go.mod) is the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from goinstrument import __version__


def cache_dir() -> Path:
    explicit = os.environ.get("GOINSTRUMENT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "goinstrument")


class Cache:
    def __init__(self, key: str):
        digest = hashlib.sha256(f"{__version__}\0{key}".encode()).hexdigest()[:20]
        self.file = cache_dir() / f"clean.{digest}.json"
        self.entries: dict[str, list] = {}
        self.dirty = False
        try:
            with open(self.file, "rb") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict):
                self.entries = loaded
        except (OSError, ValueError):
            pass

    def is_clean(self, path: str, stat: os.stat_result, tracer: str) -> bool:
        return self.entries.get(path) == [stat.st_mtime_ns, stat.st_size, tracer]

    def record(self, path: str, mtime_ns: int, size: int, tracer: str) -> None:
        entry = [mtime_ns, size, tracer]
        if self.entries.get(path) != entry:
            self.entries[path] = entry
            self.dirty = True

    def forget(self, path: str) -> None:
        if self.entries.pop(path, None) is not None:
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".clean.")
            with os.fdopen(fd, "w") as f:
                json.dump(self.entries, f, separators=(",", ":"))
            os.replace(tmp, self.file)
        except OSError:
            pass  # a cache that cannot be written only costs time
