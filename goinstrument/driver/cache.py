"""Remember files already in their final state, so a run over an unchanged tree reads nothing.

Like black's cache: per rewrite options, a file is skipped when its stamp is
what it was when the tool last left it clean. A working-tree file's stamp is
its modification time, size and tracer name (which follows go.mod); a staged
blob's is its id and tracer name. Both also hold the package's stamp (how many
.go files its directory holds, the newest one's mtime): what the other files
declare decides import names (run._package_stamp).
"""

from __future__ import annotations

import contextlib
import os
import time
import zlib
from pathlib import Path

from goinstrument import __version__
from goinstrument.driver.fileio import FileError, replace_atomically
from goinstrument.engine.result import Finding, Kind, Position, Problem

_MOVED = "moved"  # what -v said of a file is not recorded: its lines moved since (the run rewrote it)
# The cache's files (a clean.*/ of 256 shards per version and rewrite options, a facts/facts.*.json per package
# directory and version) are pruned once a day at most, by a run that writes its own: those not
# written for PRUNE_AFTER seconds go (another version's, a deleted directory's, a checkout gone).
PRUNE_AFTER = 30 * 86400
_PRUNED = "pruned"  # an empty file whose mtime is the last prune
_PRUNE_EVERY = 86400


def cache_dir() -> Path:
    explicit = os.environ.get("GOINSTRUMENT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "goinstrument")


class Cache:
    """The files known clean under one set of rewrite options: a directory `clean.CRC/` of
    SHARDS files, a file's entry in the shard its key's checksum names. A run loads only the
    shards of the files it looks up (a hook's 5 files: 5 small files, not the whole tree's
    entries, which grow with the repository) and writes only the shards it changed."""

    SHARDS = 256

    def __init__(self, key: str):
        # Named by a 32-bit checksum of the options; each shard holds the key in full, so a name
        # shared by two keys (hashlib would load OpenSSL, milliseconds of every run) costs time,
        # never a wrong skip.
        self.key = f"{__version__}\0{key}"
        self.directory = cache_dir() / f"clean.{zlib.crc32(self.key.encode()):08x}"
        self._directory = os.fspath(self.directory)
        self._shards: dict[int, dict[str, list[object]]] = {}
        self._dirty: set[int] = set()
        self._now = time.time()

    def _shard(self, key: str) -> tuple[int, dict[str, list[object]]]:
        """The shard holding `key`'s entry (its number, its entries), read at its first use."""
        number = zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.SHARDS
        entries = self._shards.get(number)
        if entries is None:
            entries = self._shards[number] = self._read(number)
        return number, entries

    def _read(self, number: int) -> dict[str, list[object]]:
        """A shard's entries ({} where it is missing, unreadable or another key's). A tree run
        reads all 256: by fd, its age from fstat (~25 us a shard; with open() and a stat of the
        path, a no-op run over Go's tree read them in ~10 ms more than the one file; now ~5)."""
        import json  # here: a run without the cache (--check, --diff) never loads it

        try:
            fd = os.open(self._path(number), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return {}
        try:
            info = os.fstat(fd)
            data = os.read(fd, info.st_size + 1)
            while len(data) <= info.st_size:  # a short read (a network file system): the rest
                more = os.read(fd, info.st_size + 1 - len(data))
                if not more:
                    break
                data += more
        except OSError:
            return {}
        finally:
            os.close(fd)
        try:
            loaded = json.loads(data)
        except ValueError:
            return {}
        if not (isinstance(loaded, dict) and loaded.get("key") == self.key and isinstance(loaded.get("entries"), dict)):
            return {}
        if info.st_mtime < self._now - _PRUNE_EVERY:  # in use: written again before a prune would take it
            self._dirty.add(number)
        entries: dict[str, list[object]] = loaded["entries"]
        return entries

    def _path(self, number: int) -> str:
        return f"{self._directory}/{number:02x}.json"

    def lookup(self, key: str, stamp: list[object]) -> tuple[bool, str | None]:
        """(whether the file is known clean with this stamp, the reason it was skipped if it was)."""
        entry = self._shard(key)[1].get(key)
        if not isinstance(entry, list) or entry[:-2] != stamp:
            return False, None
        reason = entry[-2]
        return True, reason if isinstance(reason, str) else None

    def told(self, key: str, path: str) -> tuple[tuple[Finding, ...], tuple[Problem, ...]] | None:
        """What -v said of a file known clean (its exclusions, its package's notes), under its `path`
        of now; None when that is not known for the file as it now is (the run that recorded it
        rewrote it, so every position moved): a -v run processes it again."""
        said = self._shard(key)[1][key][-1]
        if said == _MOVED:
            return None
        if not isinstance(said, list) or len(said) != 2:
            return (), ()
        directory = os.path.dirname(path)
        excluded = tuple(Finding(path, Position(line, col), name, message, Kind.EXCLUDED) for line, col, name, message in said[0])
        notes = tuple(Problem(os.path.join(directory, name), Position(line, col), message) for name, line, col, message in said[1])
        return excluded, notes

    def record(
        self,
        key: str,
        stamp: list[object],
        skipped: str | None = None,
        excluded: tuple[Finding, ...] = (),
        notes: tuple[Problem, ...] = (),
        rewritten: bool = False,
    ) -> None:
        """The file is clean with this stamp (and, when a rule left it alone, why, and what -v
        says of its functions and package: -v says them again on a hit). `rewritten`: the
        stamp is of the bytes the run wrote, which what -v said (of the bytes read) does not fit."""
        said: object = [
            [[f.pos.line, f.pos.col, f.name, f.message] for f in excluded],
            [[os.path.basename(n.path), n.pos.line, n.pos.col, n.message] for n in notes],
        ]
        if rewritten:
            said = _MOVED if excluded or notes else None
        entry = [*stamp, skipped, said if excluded or notes else None]
        number, entries = self._shard(key)
        if entries.get(key) != entry:
            entries[key] = entry
            self._dirty.add(number)

    def forget(self, key: str) -> None:
        number, entries = self._shard(key)
        if entries.pop(key, None) is not None:
            self._dirty.add(number)

    def save(self) -> None:
        """Write the shards this run changed (or found close to a prune); in a served run, once
        its client has the exit code (defer_saves)."""
        if not self._dirty:
            return
        if _deferred is not None:
            _deferred.append(self)
            return
        self._write()

    def _write(self) -> None:
        import json

        try:
            try:
                self.directory.mkdir(parents=True)
            except FileExistsError:
                pass
            else:  # this version's one file before the shards, never read again (once: an older install may still write it)
                with contextlib.suppress(OSError):
                    os.unlink(f"{self._directory}.json")
            for number in sorted(self._dirty):
                document = {"key": self.key, "entries": self._shards[number]}
                replace_atomically(Path(self._path(number)), json.dumps(document, separators=(",", ":")).encode(), mode=0o644)
        except (OSError, FileError):
            return  # a cache that cannot be written only costs time
        self._dirty.clear()
        prune(self.directory.parent)


# A served run's caches are written after its client has its exit code (the server's child, then
# done with the client's streams, calls saved_later): git goes on with the commit meanwhile (~3 ms
# of a hook's run). A run in its own process writes them as it goes, before it ends.
_deferred: list[Cache] | None = None


def defer_saves() -> None:
    """From now on, Cache.save only notes the cache, for saved_later to write."""
    global _deferred
    _deferred = []


def saved_later() -> None:
    """Write the caches whose save was deferred, each once; later saves are written at once again."""
    global _deferred
    caches, _deferred = _deferred or [], None
    if caches:
        from goinstrument.driver.git import _test_pause  # (loaded: this is a served run's child)

        _test_pause("deferred")
    for cache in dict.fromkeys(caches):
        cache._write()


def prune(directory: Path, now: float | None = None) -> list[str]:
    """Remove the cache files in `directory` not written for PRUNE_AFTER seconds: the rewrite
    options' shards (clean.*/NN.json; a directory left empty goes too; clean.*.json of versions
    before the shards), the package facts' (facts/facts.*.json) and a temporary file a killed run
    left; at most once in _PRUNE_EVERY seconds (the `pruned` file's mtime). The names removed.
    A file a run still reads is at worst read again from the files it stood for: a cache only."""
    now = time.time() if now is None else now
    stamp = directory / _PRUNED
    try:
        if os.stat(stamp).st_mtime > now - _PRUNE_EVERY:
            return []
    except OSError:
        pass
    try:
        stamp.touch()
        os.utime(stamp, (now, now))
    except OSError:
        return []
    removed: list[str] = []
    _prune_files(directory, directory, "clean.", now, removed)
    _prune_files(directory, directory / "facts", "facts.", now, removed)
    try:
        shards = [entry.path for entry in os.scandir(directory) if entry.name.startswith("clean.") and entry.is_dir(follow_symlinks=False)]
    except OSError:
        shards = []
    for path in shards:
        _prune_files(directory, Path(path), "", now, removed)
        try:
            os.rmdir(path)  # only when empty: every shard unused for PRUNE_AFTER
        except OSError:
            continue
    return removed


def _prune_files(top: Path, where: Path, prefix: str, now: float, removed: list[str]) -> None:
    """prune's work in one directory: our files there (PREFIX*.json, and .PREFIX*.goinstrument,
    the temporary file of a write a kill cut short) not written for PRUNE_AFTER seconds."""
    try:
        entries = list(os.scandir(where))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        ours = (name.startswith(prefix) and name.endswith(".json")) or (name.startswith("." + prefix) and name.endswith(".goinstrument"))
        try:
            if ours and entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < now - PRUNE_AFTER:
                os.unlink(entry.path)
                removed.append(os.path.relpath(entry.path, top))
        except OSError:
            continue
