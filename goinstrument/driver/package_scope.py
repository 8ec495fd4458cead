"""What the other files of a package tell the core: the names they declare, their init functions.

An import is file-scoped, but Go forbids a name that is both imported in one
file and declared at package level in another. Before choosing an import name
such as `codes`, we look at the top-level declarations of the sibling files.
A line scanner is enough: it only has to find names that may clash, and a
name found by mistake costs no more than an import alias.

The runtime numbers init functions across the package (init.0, init.1, ...),
so naming the literals in one file's `func init` needs the count of those the
files compiled before it declare: init_functions_before.
"""

from __future__ import annotations

import functools
import os
import re
import time
import zlib
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from tree_sitter import Node

from goinstrument import __version__
from goinstrument.driver import skips
from goinstrument.engine import behaviour
from goinstrument.engine.go import buildtags, initorder, rangefunc, runtimenames, syntax
from goinstrument.engine.go.typenames import PREDECLARED
from goinstrument.engine.imports import read_imports
from goinstrument.engine.result import IndexDirectory, Position
from goinstrument.tuples import NamedTuple

# Where a package's files are read: a directory on disk (the working tree's files), or a
# directory of the index (the staged blobs: what the pre-commit hook commits).
Where = str | IndexDirectory

# Each of these three starts at a line's start, written as the newline before it (declared_names
# puts one before the file): re searches for a literal first, fast, where `^` made it try every byte.
_TOP_LEVEL = re.compile(rb"\n(?:func|var|const|type)\s+((?:\w+\s*,\s*)*\w+)")
# A group's first member may share the `(` line (a one-line group runs on to a later
# `)`: more names than declared, which costs at most an import alias).
_GROUP = re.compile(rb"\n(?:var|const|type)\s*\((.*?\n)\)", re.DOTALL)
# A member is a line gofmt indents by one tab (or, in a file gofmt never saw, by spaces): a line
# indented deeper continues an expression (`\t\tstrings.Join(...)`), whose first word declares
# nothing. Taking it for a declaration made the file's own `strings` import look taken: renamed
# on one run, back on the next (grpc's benchmain, a real-module test).
_GROUP_MEMBER = re.compile(rb"^(?:\t| +)((?:\w+\s*,\s*)*\w+)", re.MULTILINE)
_GROUP_FIRST = re.compile(rb"\n(?:var|const|type)\s*\(\s*((?:\w+\s*,\s*)*\w+)")  # `const (k = 1)`
_WORD = re.compile(rb"\w+")

# typenames.PREDECLARED occur in almost every file, so a file is scanned for
# them only when it holds one of the usual forms of such a declaration.
# Import names a backend may take that Go source spells everywhere (`errors.Is`, a `trace` in a
# comment): a substring test would pass nearly every file to the scanner, so they are looked for
# in their declaration forms, as PREDECLARED is.
COMMON_WORDS = frozenset({"errors", "trace"})


def _declaration_forms(name: bytes) -> tuple[bytes, ...]:
    """`type error ...`, `var error ...`, a group member on its own line (gofmt's tab), one after
    another in a list (`a, errors = 1, 2`: also any argument list, which only costs a scan), ..."""
    return (b"type " + name, b"var " + name, b"const " + name, b"func " + name, b"\n\t" + name, b", " + name)


@cache
def _may_declare(start: bytes, names: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """Any of the names' declaration forms: their common start found first (re's fast literal
    search), then the rest of a name and what precedes it looked at; one pass over a file for
    names that share the `start` (errors, errors1, errors2...), where testing each form took five."""
    rest = b"|".join(re.escape(name[len(start) :]) for name in sorted(names, key=len, reverse=True))
    behind = "|".join(f"(?<={re.escape(form.decode())})" for name in names for form in _declaration_forms(name))
    return re.compile(re.escape(start) + b"(?:" + rest + b")" + f"(?:{behind})".encode())


@lru_cache(maxsize=16)
def _may_mention(wanted: frozenset[str]) -> tuple[list[bytes], list[re.Pattern[bytes]]]:
    """What package_declarations looks for in a file before it scans its declarations for `wanted`."""
    # Substring tests are fast; a name holding another (otelcodes, codes) needs no test of its own.
    # A name nearly every file spells (error, errors, trace) is looked for in its declaration forms.
    common = {name for name in wanted if name in PREDECLARED or name.rstrip("0123456789") in COMMON_WORDS}
    rare = wanted - common
    words = [w.encode() for w in rare if not any(o != w and o in w for o in rare)]
    stems: dict[str, list[bytes]] = {}  # errors, errors1, errors2...: one pattern
    for name in sorted(common):
        stems.setdefault(name.rstrip("0123456789"), []).append(name.encode())
    return words, [_may_declare(stem.encode(), tuple(group)) for stem, group in stems.items()]


def warm() -> None:
    """The patterns a run compiles where first used that depend on no repository: those finding the
    built-in backends' import names among a sibling's declarations, the identity prefilter's gates
    of the usual names (behaviour.warm). The server calls it once, so that each run it forks finds
    them compiled; it reads nothing."""
    from goinstrument.backends.loader import BACKENDS
    from goinstrument.engine.fileinfo import import_name_candidates

    for backend in BACKENDS.values():
        _may_mention(import_name_candidates(backend))
    behaviour.warm()


def declared_names(src: bytes) -> set[str]:
    src = b"\n" + src  # the first line starts after a newline too
    names: set[bytes] = set()
    for pattern in (_TOP_LEVEL, _GROUP_FIRST):
        for match in pattern.finditer(src):
            names.update(_WORD.findall(match.group(1)))
    for group in _GROUP.finditer(src):
        for member in _GROUP_MEMBER.finditer(group.group(1)):
            names.update(_WORD.findall(member.group(1)))
    return {n.decode("utf-8", "replace") for n in names}


@lru_cache(maxsize=256)
def package_declarations(directory: Where, wanted: frozenset[str]) -> frozenset[str]:
    """Which of `wanted` some .go file in `directory` declares at top level (tests
    included: they share the package). Only files that mention one of them are scanned."""
    siblings = _facts(directory)
    key = _kept(_facts_key(directory)).wanted_id(",".join(sorted(wanted)))
    names: set[str] = set()
    for file in siblings:
        declared = file.record.setdefault("d", {})
        if key not in declared:
            words, forms = _may_mention(wanted)
            data = file.data()
            declared[key] = sorted(declared_names(data) & wanted) if any(w in data for w in words) or any(f.search(data) for f in forms) else []
            file.added()
        names.update(declared[key])
    return frozenset(names)


_Stamp = tuple[tuple[str, int, int], ...]  # (name, mtime in ns, size) of each file
_last_read: tuple[str, _Stamp, tuple[tuple[str, bytes], ...]] = ("", (), ())


def _go_sources(directory: Where) -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of each .go file in `directory` that can be read, those whose name starts
    with . or _ included. Regular files only: a pipe named x.go would block the read.

    The last directory read is kept while its files' names, times and sizes stay the same: a
    file's sibling declarations, aliases and init functions come from one read of its directory.
    A directory of the index is read from its blobs (named by their ids: no stamp needed).
    """
    global _last_read
    if isinstance(directory, IndexDirectory):
        return _index_sources(directory)
    entries = _listing(directory)
    stamp = tuple((entry.name, st.st_mtime_ns, st.st_size) for entry, st in entries)
    if _last_read[:2] == (directory, stamp):
        return _last_read[2]
    sources = []
    for entry, _ in entries:
        try:
            with open(entry.path, "rb") as f:
                sources.append((entry.name, f.read()))
        except OSError:
            continue
    _last_read = (directory, stamp, tuple(sources))
    return _last_read[2]


# facts of each file, kept across runs -------------------------------------------------------

# Where the facts each .go file gives the package's (names it declares, whether it may compare
# contexts, its init count, aliases...) are kept across runs (keep_facts: the run's cache directory),
# so a run reads and scans again only the files changed since: None, each run works them out afresh.
_facts_home: str | None = None
_FACTS_FORMAT = 2  # what a record holds: a change to it, or to how a fact is worked out, adds one
# A file changed less than this after its time stamp may be changed again under the same one (a file
# system's clock ticks in up to 2 s): its facts are not kept (git's "racily clean" entries).
_RACY_NS = 2_000_000_000


files_read = 0  # the files read for their facts in this process (a kept record spares the read): tests count them


def keep_facts(directory: str | None) -> None:
    """Keep the files' facts in `directory` across runs (None: not kept)."""
    global _facts_home
    _facts_home = directory


class _Sibling:
    """One .go file of a package, as the facts see it: its name, its record of facts (filled as
    they are asked for: `added` says so to its _Kept), its bytes read only when a fact is missing."""

    __slots__ = ("_changed", "_data", "name", "record")

    def __init__(self, name: str, record: dict[str, Any], data: bytes | Callable[[], bytes], changed: set[str]):
        self.name, self.record, self._data, self._changed = name, record, data, changed

    def added(self) -> None:
        """A fact was added to the record: it has something new to save."""
        self._changed.add(self.name)

    def data(self) -> bytes:
        global files_read
        if callable(self._data):
            files_read += 1
            self._data = self._data()
        return self._data


class _Kept:
    """The records of one directory's files, each beside its stamp ((size, mtime, ctime, inode) of a
    working-tree file, a staged blob's id), as the last run left them (_facts_home) and this run
    fills them. A record is kept only with a stamp that is not racy."""

    def __init__(self, key: str):
        self.key = f"{__version__}\0{_FACTS_FORMAT}\0{key}"
        self.file = os.path.join(_facts_home, f"facts.{zlib.crc32(self.key.encode(errors='surrogateescape')):08x}.json") if _facts_home else None
        self.files: dict[str, list[Any]] = {}  # name -> [stamp, record]
        self.wanted: list[str] = []  # package_declarations' sets of names, by their index in a record's `d`
        if self.file is not None:
            import json  # only where facts are kept

            try:
                with open(self.file, encoding="utf-8") as f:
                    loaded = json.load(f)
                if (
                    isinstance(loaded, dict)
                    and loaded.get("key") == self.key
                    and isinstance(loaded.get("files"), dict)
                    and isinstance(loaded.get("wanted"), list)
                ):
                    self.wanted = loaded["wanted"]
                    self.files = {n: e for n, e in loaded["files"].items() if type(e) is list and len(e) == 2 and type(e[1]) is dict}
            except (OSError, ValueError):
                pass
        self.unkept: set[str] = set()  # racy: not written
        # The files whose record has something new since the last save: a record made anew (a file
        # new, or changed since its stamp), a fact added (facts are added to a record, never changed).
        # Only these make save write: a file gone, or racy, needs no write of its own (a hook's run,
        # whose staged files were changed a moment ago, writes none where the others are kept).
        self.changed: set[str] = set()
        # The file the run processes, a staged blob, or its working-tree copy (same_files): the run
        # rewrites it where it changes it (the index then holds another blob, the working tree
        # other bytes), so its record, new each commit, is no reason of its own to write: it is
        # kept where another is. The commit of one file of a package writes no facts but for a
        # sibling changed since the last run; a file the run leaves as it is costs the next run
        # a read.
        self.spared = ""
        self.holds: dict[IndexDirectory, bool] = {}  # _holds_the_index's answers this run, by directory of the index
        self.read: dict[str, tuple[list[Any], bytes]] = {}  # the bytes read since the last save, by name, with their stamp

    def record(self, name: str, stamp: list[Any]) -> dict[str, Any] | None:
        kept = self.files.get(name)  # [stamp, record] (those loaded that are not are left out)
        return kept[1] if kept is not None and kept[0] == stamp else None

    def wanted_id(self, wanted: str) -> str:
        if wanted not in self.wanted:
            self.wanted.append(wanted)
        return str(self.wanted.index(wanted))

    def listed(self, files: list[tuple[str, list[Any], dict[str, Any], bool]]) -> None:
        """The directory's files as now listed: (name, stamp, record, whether it may be kept)."""
        self.files = {name: [stamp, record] for name, stamp, record, _ in files}
        self.unkept = {name for name, _, _, keep in files if not keep}

    def read_now(self, name: str, path: str, stamp: list[Any]) -> bytes:
        """The bytes of a file whose record is kept but lacks a fact, b"" if it cannot be read now."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        self.read[name] = (stamp, data)
        return data

    def save(self) -> None:
        self.read.clear()
        if self.file is None or not any(name in self.files and name not in self.unkept and name != self.spared for name in self.changed):
            return
        import json

        files = {n: f for n, f in self.files.items() if n not in self.unkept}
        text = json.dumps({"key": self.key, "wanted": self.wanted, "files": files}, separators=(",", ":"))
        from goinstrument.driver.fileio import FileError, replace_atomically

        try:
            os.makedirs(os.path.dirname(self.file), exist_ok=True)
            replace_atomically(Path(self.file), text.encode(), mode=0o644)
            self.changed.clear()
        except (OSError, FileError):
            pass  # facts not kept only cost time


@lru_cache(maxsize=64)
def _kept(key: str) -> _Kept:
    return _Kept(key)


_touched: set[str] = set()  # the keys of the directories whose facts were asked for since the last save_facts
_held: dict[Where, list[_Sibling]] | None = None  # between hold_facts and save_facts: each directory listed once
_own: tuple[Where, str, bytes] | None = None  # the held file's directory, name and bytes


def hold_facts(own: tuple[Where, str, bytes] | None = None) -> None:
    """Until save_facts, each directory's files are listed once: the facts a file needs come from
    one look at its package (a driver calls it before the facts of one file). `own`: that file's
    directory, name and bytes (a staged blob's: its facts need no read of the index)."""
    global _held, _own
    _held, _own = {}, own


def save_facts() -> None:
    """Write what the facts asked for since the last call added to those kept (a driver calls it
    after each file: a worker process's are kept too)."""
    global _held, _own
    _held, _own = None, None
    for key in sorted(_touched):
        _kept(key).save()
    _touched.clear()


def _facts_key(directory: Where) -> str:
    return f"index\0{directory.path}" if isinstance(directory, IndexDirectory) else f"tree\0{directory}"


def _facts(directory: Where, spared: str = "") -> list[_Sibling]:
    """The .go files of `directory` (those _go_sources reads, in its order), each with its record:
    the one kept for its stamp, else an empty one (the file read now, so that one that cannot be
    read is left out, as _go_sources leaves it). `spared`: _Kept.spared, a working-tree file's."""
    global files_read
    if _held is not None and directory in _held:
        return _held[directory]
    if isinstance(directory, IndexDirectory):
        return _held_facts(directory, _index_facts(directory))
    key = _facts_key(directory)
    kept = _kept(key)
    kept.spared = spared
    _touched.add(key)
    files, siblings = [], []
    for entry, st in _listing(directory):
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        record = kept.record(entry.name, stamp)
        data: bytes | Callable[[], bytes]
        if record is None:
            try:
                with open(entry.path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            files_read += 1
            kept.read[entry.name] = (stamp, data)
            record = {}
            kept.changed.add(entry.name)
            # Changed since the stamp, or maybe changed again under it (racy): worked out, not kept.
            keep = len(data) == st.st_size and time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS
        else:
            known = kept.read.get(entry.name)
            data = known[1] if known is not None and known[0] == stamp else functools.partial(kept.read_now, entry.name, entry.path, stamp)
            keep = entry.name not in kept.unkept
        files.append((entry.name, stamp, record, keep))
        siblings.append(_Sibling(entry.name, record, data, kept.changed))
    kept.listed(files)
    return _held_facts(directory, siblings)


def _held_facts(directory: Where, siblings: list[_Sibling]) -> list[_Sibling]:
    if _held is not None:
        _held[directory] = siblings
    return siblings


def _index_facts(directory: IndexDirectory) -> list[_Sibling]:
    """_facts of a directory of the index: each blob's record kept by its id; the blobs whose record
    is missing are read now (_index_sources, together: a hook's other staged files of the package),
    all of them at the first fact missing from a kept record (a fact new to them all)."""
    global files_read
    key = _facts_key(directory)
    kept = _kept(key)
    _touched.add(key)
    records = {name: kept.record(name, [oid]) for name, oid in directory.files}
    kept.spared = ""
    if _own is not None and _own[0] == directory:  # the staged blob being processed: its bytes are at hand
        kept.read[_own[1]] = ([oid for name, oid in directory.files if name == _own[1]], _own[2])
        kept.spared = _own[1]
    missing = tuple((name, oid) for name, oid in directory.files if records[name] is None and kept.read.get(name, ((),))[0] != [oid])
    # Where no facts are kept, all of them: the same read (_index_read's) tells _holds_the_index.
    sources = _index_bytes(kept, directory if _facts_home is None else directory._replace(files=missing)) if missing else {}
    files_read += len(sources)
    unread = {name for name, _ in missing}  # those not in sources: their blobs could not be read
    files, siblings = [], []
    for name, oid in directory.files:
        if name not in sources and name in unread:
            continue  # its blob could not be read
        record = records[name]
        known = kept.read.get(name)
        data = known[1] if known is not None and known[0] == [oid] else functools.partial(_index_blob, kept, directory, name)
        if record is None:
            record = {}
            kept.changed.add(name)
        files.append((name, [oid], record, True))
        siblings.append(_Sibling(name, record, data, kept.changed))
    kept.listed(files)
    return siblings


def _index_bytes(kept: _Kept, directory: IndexDirectory) -> dict[str, bytes]:
    """The directory's blobs (_index_sources), remembered in `kept` until its next save."""
    sources = dict(_index_sources(directory))
    kept.read.update((name, ([oid], sources[name])) for name, oid in directory.files if name in sources)
    return sources


def _index_blob(kept: _Kept, directory: IndexDirectory, name: str) -> bytes:
    return _index_bytes(kept, directory).get(name, b"")


def _listing(directory: str) -> list[tuple[os.DirEntry[str], os.stat_result]]:
    """Each .go regular file of `directory` with its stat (a pipe named x.go would block a read)."""
    try:
        listed = [e for e in os.scandir(directory) if e.name.endswith(".go") and e.is_file()]
    except OSError:
        return []
    entries = []
    for entry in listed:
        try:
            entries.append((entry, entry.stat()))
        except OSError:  # gone since the listing: one file less, not the whole package
            continue
    return entries


def _index_sources(directory: IndexDirectory) -> tuple[tuple[str, bytes], ...]:
    """The staged blobs of the directory: the working-tree file where it holds the blob (its id
    is the blob's: most files are not changed, and reading one is cheaper than a blob), else
    the blob from the repository."""
    return _index_read(directory)[0]


@lru_cache(maxsize=16)
def _index_read(directory: IndexDirectory) -> tuple[tuple[tuple[str, bytes], ...], bool]:
    """_index_sources, and whether each of them was the working-tree file's bytes."""
    from goinstrument.driver.git import GitError, holds_blob, read_blobs

    found: dict[str, bytes] = {}
    for name, oid in directory.files:
        data = _regular_file(os.path.join(directory.path, name))
        if data is not None and holds_blob(data, oid):
            found[name] = data
    missing = [oid for name, oid in directory.files if name not in found]
    try:  # the others from the repository, in one request
        blobs = read_blobs(directory.git_dir, missing) if missing else {}
    except GitError:  # the repository cannot be read: the files the working tree holds alone
        blobs = {}
    sources = tuple((name, found[name] if name in found else blobs[oid]) for name, oid in directory.files if name in found or oid in blobs)
    return sources, not missing


def _regular_file(path: str) -> bytes | None:
    """The bytes of a regular file (fileio.read_source: a pipe never blocks the read), or None."""
    from goinstrument.driver.fileio import FileError, read_source

    try:
        return read_source(path)
    except FileError:
        return None


def same_files(a: Where, b: Where, spared: str = "") -> bool:
    """Whether the two places hold the same .go files, byte for byte. `spared`: the file the run
    processes (_Kept.spared), where one of them is the index's directory and the other on disk."""
    if a == b or _holds_the_index(a, b, spared) or _holds_the_index(b, a, spared):
        return True
    return dict(_go_sources(a)) == dict(_go_sources(b))  # in any order


def _holds_the_index(index: Where, directory: Where, spared: str = "") -> bool:
    """Whether `directory` on disk is `index`'s own and holds its files byte for byte: the same .go
    files, each holding its blob (the hook's common case: a staged file's siblings are as committed).
    A file's blob id is a fact of its working-tree record, kept by its stamp as its other facts are
    (as git keeps a file's stat data in the index): a file unchanged since an earlier run is not read
    again, nor hashed. Not git's own `diff-files`: it says a file checked out through a conversion
    (core.autocrlf, an eol or ident attribute, a filter) holds its blob, which its bytes do not.
    Where no facts are kept (--no-cache), the read of the index's blobs tells, as it is made anyway.
    The answer is the run's, as the package's other facts are: another staged file of the package
    asks again, and is told without a look at the directory."""
    if not isinstance(index, IndexDirectory) or directory != index.path:
        return False
    if _facts_home is None:  # no facts kept: the index's blobs, read from their working-tree files (_index_read), tell
        if not _index_read(index)[1]:
            return False
        try:
            listed = {e.name for e in os.scandir(directory) if e.name.endswith(".go") and e.is_file()}
        except OSError:
            return False
        return listed == {name for name, _ in index.files}
    kept = _kept(_facts_key(directory))
    if index not in kept.holds:
        kept.holds[index] = _holds_blobs(index, index.path, spared)
    return kept.holds[index]


def _holds_blobs(index: IndexDirectory, directory: str, spared: str) -> bool:
    """_holds_the_index where facts are kept: each file's blob id, from its record."""
    blobs = dict(index.files)
    siblings = _facts(directory, spared)
    try:
        if len(siblings) != len(blobs) or any(file.name not in blobs for file in siblings):
            return False
        for file in siblings:
            oid = blobs[file.name]
            fact = f"i{len(oid)}"  # the id of the file's bytes in its object format (SHA-1: 40 digits, SHA-256: 64)
            if fact not in file.record:
                from goinstrument.driver.git import blob_id

                # A record kept without this fact: the file read now (_Sibling.data would take one
                # that cannot be read for an empty one).
                data = _regular_file(os.path.join(index.path, file.name)) if callable(file._data) else file.data()
                if data is None:
                    return False
                file.record[fact] = blob_id(data, "sha256" if len(oid) == 64 else "sha1")
                file.added()
            if file.record[fact] != oid:
                return False
        return True
    finally:
        if _held is None:  # asked outside a file's facts (same_files): kept now
            _kept(_facts_key(directory)).save()
            _touched.discard(_facts_key(directory))


# contexts compared by identity ---------------------------------------------------------


@lru_cache(maxsize=256)
def context_comparison(directory: Where) -> tuple[str, Position] | None:
    """(file name, position) of the first comparison of contexts by identity in the directory's
    .go files, test files included (behaviour.first_comparison), or None: a package fact, found
    once per directory (a text prefilter first: most files are never parsed)."""
    files = [(f, behaviour.ComparisonFacts(f.name, f.data, f.record.setdefault("b", {}))) for f in _facts(directory)]
    found = behaviour.package_comparison(facts for _, facts in files)
    for file, facts in files:
        if facts.added:
            file.added()
    return found


# init functions ---------------------------------------------------------------------

# Compiled by `re` where first used (a hook's few files may need none of them: start-up).
_INIT = rb"(?m)^func\s+init\s*\("
_PACKAGE_NAME = rb"(?m)^package\s+(\w+)"
_IMPORTS_C = rb'(?m)^(?:import\s*\(?)?\s*"C"\s*(?://.*)?\r?$'


class _GoFile(NamedTuple):
    name: str
    package: str
    cgo: bool  # imports "C": the go command hands its cgo output to the compiler after the other files
    inits: int  # `func init` declared at top level


def init_functions_before(path: str, where: Where | None = None) -> int:
    """How many `func init` the package's files that cmd/compile reads before `path` declare.

    The compiler numbers a package's init functions init.0, init.1, ... in the
    order it reads them: files in the order the go command passes them (sorted
    by name; for a test build the package's files, then its _test.go files;
    files importing "C" after all of those, as cgo output), declarations in
    source order. The files counted are the directory's .go files whose name
    does not start with `.` or `_`, whose package clause is `path`'s, and whose
    build constraints some platform satisfies (buildtags.can_build); _test.go
    files only when `path` is one. Files built only for other platforms are
    counted too (a source rewrite does not know the target): the names are
    those of a build that compiles every file the constraints allow together.
    The count only matters to a file that declares `func init` itself: a
    driver may skip the call (and the directory scan) for the others. The files are those of
    `where` (default: `path`'s directory on disk).
    """
    order = _build_order(path, where)
    if not order:
        return 0
    base = os.path.basename(path)
    index = next(i for i, f in enumerate(order) if f.name == base)
    return sum(f.inits for f in order[:index])


def _build_order(path: str, where: Where | None = None) -> list[_GoFile]:
    """The files compiled with `path` (its package's, its test build's for a _test.go file), in the
    order cmd/compile reads them (init_functions_before); empty if `path` is not one of them."""
    directory, base = os.path.split(os.path.abspath(path))
    files = _go_files(directory if where is None else where)
    this = next((f for f in files if f.name == base), None)
    if this is None:
        return []
    is_test = base.endswith("_test.go")
    if is_test and this.package.endswith("_test"):
        same = [f for f in files if f.name.endswith("_test.go") and f.package == this.package]
    else:
        same = [f for f in files if f.package == this.package and (is_test or not f.name.endswith("_test.go"))]
    return sorted(same, key=lambda f: (f.cgo, f.name.endswith("_test.go"), f.name))


def package_literal_numbers(path: str, where: Where | None = None) -> tuple[int, ...]:
    """The runtime numbers (init.funcN) of the package-level function literals of `path`, in
    source order, as its build numbers them across the package (initorder.py). Only a file with
    a package-level literal needs it: a driver may skip the call for the others. The files are
    those of `where` (default: `path`'s directory on disk)."""
    order = _build_order(path, where)
    names = tuple(f.name for f in order)
    base = os.path.basename(path)
    if base not in names:
        return ()
    return _literal_numbers(os.path.dirname(os.path.abspath(path)) if where is None else where, names)[names.index(base)]


_VAR = rb"(?m)^var\b"  # compiled by `re` where first used, as _INIT
_FUNC_NAME = rb"(?m)^func\s+(\w+)\s*[\[(]"


@lru_cache(maxsize=64)
def _literal_numbers(directory: Where, names: tuple[str, ...]) -> list[tuple[int, ...]]:
    """initorder.numbers over the files `names`: only those with a top-level `var` are parsed up
    front; a file declaring a function is parsed when a body of that name is needed."""
    sources = dict(_go_sources(directory))
    trees: dict[str, Node] = {}

    def tree(name: str) -> Node:
        if name not in trees:
            trees[name] = syntax.parse(sources.get(name, b""), keep=False).root_node
        return trees[name]

    declaring: dict[str, list[str]] = {}  # function name -> the files that may declare it
    for name in names:
        for match in re.finditer(_FUNC_NAME, sources.get(name, b"")):
            declaring.setdefault(match.group(1).decode(), []).append(name)

    def bodies(function: str) -> list[Node]:
        found = []
        for name in declaring.get(function, []):
            for decl in tree(name).named_children:
                body, declared = decl.child_by_field_name("body"), decl.child_by_field_name("name")
                if decl.type == "function_declaration" and body is not None and declared is not None and declared.text == function.encode():
                    found.append(body)
        return found

    declared = initorder.Declared(frozenset(declaring), bodies)
    files = [tree(name) if re.search(_VAR, sources.get(name, b"")) else None for name in names]
    return initorder.numbers(files, declared)


@lru_cache(maxsize=256)
def _go_files(directory: Where) -> tuple[_GoFile, ...]:
    found = []
    for file in _facts(directory):
        if "g" not in file.record:
            file.record["g"] = _go_file(file.name, file.data())
            file.added()
        if file.record["g"] is not None:
            package, cgo, inits = file.record["g"]
            found.append(_GoFile(file.name, package, cgo, inits))
    return tuple(found)


def _go_file(name: str, data: bytes) -> tuple[str, bool, int] | None:
    """(package, cgo, inits) of a _GoFile, or None for a file the go command leaves out of every build."""
    if skips.ignored_by_go(name):
        return None
    try:
        if not buildtags.can_build(name, data):
            return None
    except buildtags.ConstraintError:
        return None
    package = re.search(_PACKAGE_NAME, data)
    inits = _count_inits(data) if re.search(_INIT, data) else 0
    return package.group(1).decode() if package else "", bool(re.search(_IMPORTS_C, data)), inits


def _count_inits(src: bytes) -> int:
    root = syntax.parse(src, keep=False).root_node
    return sum(1 for node in root.named_children if runtimenames.is_init(node))


# aliases ------------------------------------------------------------------------------

# `type A = T`, `type A = *T` (alone or in a group), the target a plain type name.
_ALIAS = re.compile(r"^(?:type\s+|\s+)(\w+)\s*=\s*(\*?)\s*(\w+)\s*(?://.*)?$", re.MULTILINE)
_TYPE_GROUP = re.compile(r"^type\s*\((.*?)^\)", re.MULTILINE | re.DOTALL)
_TYPE_LINE = re.compile(r"^type\s+\w+\s*=.*$", re.MULTILINE)


# Bytes that may declare a type alias, at any level: `type A = ...` (maybe generic), or a `type (` group.
# Written literal first (`type` not preceded by a letter, rather than `\btype`): re then looks for
# the literal, ten times faster over a file.
MAY_DECLARE_ALIAS = re.compile(rb"type(?<!\wtype)\s*(?:\(|\w+\s*(?:\[[^\]\n]*\]\s*)?=)")


@lru_cache(maxsize=256)
def package_aliases(directory: Where) -> tuple[tuple[str, str], ...]:
    """`(alias, type)` for each top-level `type A = T` or `type A = *T` in the directory's .go files
    (the type `T` or `*T`, as runtimenames.aliases gives it).

    The runtime names a method declared on an alias by the aliased type, and the
    alias may be declared in another file of the package. A line scanner, like
    declared_names: generic and qualified targets are left out (no method can
    be declared on them). Only a file with a method declaration (`func (`)
    needs it: a driver may skip the call for the others.
    """
    found: dict[str, str] = {}
    for file in _facts(directory):
        if "a" not in file.record:
            file.record["a"] = _aliases(file.data())
            file.added()
        for alias, aliased in file.record["a"]:
            found.setdefault(alias, aliased)
    return tuple(sorted(found.items()))


def _aliases(data: bytes) -> list[tuple[str, str]]:
    """package_aliases of one file, the first of each name first."""
    if not MAY_DECLARE_ALIAS.search(data):
        return []
    text = data.decode("utf-8", "replace")
    lines = [m.group(0) for m in _TYPE_LINE.finditer(text)]
    lines += [group.group(1) for group in _TYPE_GROUP.finditer(text)]
    return [(match.group(1), match.group(2) + match.group(3)) for chunk in lines for match in _ALIAS.finditer(chunk)]


# iterators -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def package_iterators(directory: Where) -> rangefunc.Iterators:
    """The functions, methods and types the directory's .go files declare that make a range over
    their call a range over a function (rangefunc.py). Each file is parsed: only a file with a
    range whose expression may hold a literal needs it (a driver skips the call for the others)."""
    files = []
    for name, data in _go_sources(directory):
        if skips.ignored_by_go(name):
            continue
        root = syntax.parse(data, keep=False).root_node
        files.append((root, rangefunc.iter_names({s.local_name: s.path for s in read_imports(root) if s.name not in ("_", ".")})))
    return rangefunc.declared(files)
