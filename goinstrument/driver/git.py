"""Git queries: the .go files changed since a revision, the staged files, the index.

Through the git command, plumbing with -z (names of any bytes): one `git rev-parse` finds the
repository and its working tree by git's own rules, one `git cat-file --batch` reads every tree
and blob a run needs, one `git hash-object` writes the blobs it stages. pygit2 (70 ms to import)
serves only --new-from-rev's line diffs. Nothing here instruments, reads the working tree's
sources (but to tell whether a file holds a blob) or reports.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import posixpath
import re
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from goinstrument.driver.fileio import FileError, _interrupts_held, read_source
from goinstrument.driver.gomod import module_above, module_path
from goinstrument.engine.result import GitError as GitError  # raised here, defined with the other values
from goinstrument.engine.result import IndexDirectory
from goinstrument.tuples import NamedTuple

if TYPE_CHECKING:
    from typing import Any

    import pygit2

_BLOB, _EXECUTABLE, _TREE = 0o100644, 0o100755, 0o040000
_REGULAR_FILES = (_BLOB, _EXECUTABLE)


# --- the repository -------------------------------------------------------------------------


class Repository(NamedTuple):
    """A repository with a working tree, as `git rev-parse` finds it."""

    git_dir: Path  # absolute: GIT_DIR for every git command run on it
    top: Path  # the top of the working tree, resolved: what repository-relative paths are relative to
    shallow: bool
    object_format: str  # "sha1" or "sha256": how its object ids are made

    def git(self, index_file: Path | None = None) -> _Git:
        """The git command on this repository and working tree (and index, when named)."""
        return _Git(self.git_dir, self.top, index_file)


_located: dict[tuple[object, ...], Repository] = {}  # the last repository found, by where and how it was asked


def open_repository(start: Path, started: _Started | None = None) -> Repository:
    """The repository holding `start` (a directory or a file in it), with a working tree.

    Git's own rules (`git rev-parse`): GIT_DIR (and GIT_WORK_TREE) name the repository
    and its working tree when they are set (a bare repository with a separate work tree:
    the dotfiles pattern), relative to the current directory, and then `start` is not
    looked at; with GIT_DIR and neither GIT_WORK_TREE nor core.worktree, the current
    directory is the top of the working tree (unless core.bare says the repository is
    bare). A run asks several times (its files, their top, the report's paths): the
    last answer is kept for the same place, current directory and GIT_* variables. `started`:
    that `git rev-parse` (_REV_PARSE), started from where it asks already (_asked_beside).
    """
    where, cwd = _asking(Path(start))
    key = _located_key(where, cwd)
    if key in _located:
        if started is not None:
            started.end()
        return _located[key]
    if not os.path.isdir(cwd):
        if started is not None:
            started.end()
        raise GitError(f"not a git repository (or any parent up to /): {where}")
    if started is not None:
        returncode, stdout, stderr = started.done()
    else:
        try:
            proc = subprocess.run(["git", *_REV_PARSE], cwd=cwd, capture_output=True, check=False)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None
        returncode, stdout, stderr = _done(proc)
    lines = stdout.split(b"\n")
    said = _said(stderr, returncode)
    if len(lines) < 5:  # no repository there, or one git cannot open
        if os.environ.get("GIT_DIR"):
            raise GitError(f"cannot open the git repository at {where}: {said}")
        if "not a git repository" in said:
            raise GitError(f"not a git repository (or any parent up to /): {where}")
        raise GitError(f"git rev-parse: {said}")
    found = Path(os.fsdecode(lines[1]))
    if lines[0] == b"true":
        raise GitError(f"{os.path.join(found, '')} is a bare repository: there is no working tree to instrument")  # a directory: its /
    if returncode != 0 or len(lines) < 6:
        raise GitError(f"{found} has no working tree here: {said}")
    repo = Repository(found, Path(os.fsdecode(lines[4])).resolve(), lines[2] == b"true", lines[3].decode())
    _located.clear()
    _located[key] = repo
    return repo


def _located_key(where: Path, cwd: str) -> tuple[object, ...]:
    return (os.fspath(where), cwd, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("GIT_"))))


_REV_PARSE = ("rev-parse", "--is-bare-repository", "--absolute-git-dir", "--is-shallow-repository", "--show-object-format", "--show-toplevel")


def _asking(start: Path) -> tuple[Path, str]:
    """(what names the repository, the directory git is run in) to find the repository holding
    `start`: `start` (a file's directory), or the current directory where GIT_DIR is set."""
    where = start if start.is_dir() or not start.exists() else start.parent
    git_dir = os.environ.get("GIT_DIR")
    if git_dir:
        return Path(git_dir).absolute(), os.getcwd()
    return where, os.fspath(where)


def _said(stderr: bytes, code: int) -> str:
    """What a failed git command said, in one line: its last (with the lines it continues, indented
    ones: `unknown repository extension found:` then the name), without `fatal: `."""
    said = stderr.decode("utf-8", "replace").rstrip().splitlines()
    if not said:
        return f"failed (exit {code})"
    first = len(said) - 1
    while first > 0 and said[first][:1].isspace():
        first -= 1
    return " ".join(line.strip() for line in said[first:]).removeprefix("fatal: ").removeprefix("error: ")


def worktree_top(start: Path) -> Path:
    """The top of the working tree holding `start`: what repository-relative paths are relative to."""
    return open_repository(start).top


def worktree_top_or_none(start: Path) -> Path | None:
    """The top of the working tree holding `start`, or None outside any repository (or in a bare one)."""
    try:
        return worktree_top(start)
    except GitError:
        return None


def hooks_directory(start: Path) -> Path:
    """Where git looks for the hooks of the repository holding `start`: core.hooksPath (relative
    to the top of the working tree, where git runs hooks), else the common git dir's hooks/ (a
    linked worktree's are the main repository's)."""
    repo = open_repository(start)
    git = repo.git()
    configured = git.maybe("config", "--path", "--get", "core.hooksPath")
    if configured and configured.strip(b"\n"):
        return repo.top / os.fsdecode(configured.strip(b"\n"))
    common = Path(os.fsdecode(git("rev-parse", "--git-common-dir").rstrip(b"\n")))  # relative to where git ran: the top
    return (common if common.is_absolute() else repo.top / common) / "hooks"


class _Git(NamedTuple):
    """The git command, run on this repository, working tree (and index) whatever the current directory."""

    git_dir: Path
    top: Path
    index_file: Path | None

    def __call__(self, *args: str | bytes, input: bytes | None = None, reading: bool = True) -> bytes:
        proc = self.run(*args, input=input, reading=reading)
        if proc.returncode != 0:
            raise GitError(f"git {os.fsdecode(args[0])}: {_said(proc.stderr, proc.returncode)}")
        return proc.stdout

    def maybe(self, *args: str | bytes) -> bytes | None:
        """The command's output, or None where it fails (a key not set, a revision not there...)."""
        proc = self.run(*args)
        return proc.stdout if proc.returncode == 0 else None

    def start(self, *args: str | bytes, fed: bool = False, reading: bool = True) -> _Started:
        """The command started, to run beside this process's work; its output when called (`fed`:
        it reads its input, given then, on stdin)."""
        stdin = subprocess.PIPE if fed else None
        try:
            proc = subprocess.Popen(["git", *args], cwd=self.top, env=self.env(reading), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None
        return _Started(os.fsdecode(args[0]), proc)

    def run(self, *args: str | bytes, input: bytes | None = None, reading: bool = True) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(["git", *args], cwd=self.top, env=self.env(reading), input=input, capture_output=True, check=False)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None

    def env(self, reading: bool = True) -> dict[str, str]:
        env = _environment()
        env.update(GIT_DIR=os.fspath(self.git_dir), GIT_WORK_TREE=os.fspath(self.top))
        if self.index_file is not None:
            env["GIT_INDEX_FILE"] = os.fspath(self.index_file)
        if reading:
            env["GIT_OPTIONAL_LOCKS"] = "0"  # a read must not refresh (and so lock) the index
        return env


# Variables that change what every pathspec means (`*.go` literal, or a glob that does not cross
# directories): ours are written for git's default, so the caller's setting is not passed on.
_PATHSPEC_VARIABLES = ("GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS")


def _environment() -> dict[str, str]:
    """The environment for the git commands we run: ours, less GIT_PREFIX and the pathspec variables."""
    env = dict(os.environ)
    for name in ("GIT_PREFIX", *_PATHSPEC_VARIABLES):
        env.pop(name, None)
    return env


class _Started(NamedTuple):
    command: str
    proc: subprocess.Popen[bytes]

    def __call__(self, input: bytes | None = None) -> bytes:
        out, err = self.proc.communicate(input)
        if self.proc.returncode != 0:
            raise GitError(f"git {self.command}: {_said(err, self.proc.returncode)}")
        return out

    def done(self) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr), once it ended."""
        out, err = self.proc.communicate()
        return self.proc.returncode, out, err

    def kill(self) -> None:
        """Ended unread (the run failed before it needed the output)."""
        self.proc.kill()
        self.proc.communicate()

    def finish(self) -> None:
        """Given no input (its stdin closed, where it reads one): it ends on its own, beside what
        this process does next; not waited for (`end` waits)."""
        _no_more_input(self.proc)

    def end(self) -> None:
        """Ended unread, unless it was read (or ended) already."""
        if self.proc.returncode is None:
            self.kill()


def _no_more_input(proc: subprocess.Popen[bytes]) -> None:
    """The process's stdin closed, where it has one (forgotten: communicate does not flush it again)."""
    stdin, proc.stdin = proc.stdin, None
    if stdin is not None:
        with contextlib.suppress(OSError):
            stdin.close()


# --- objects ----------------------------------------------------------------------------------


class _Objects:
    """`git cat-file --batch`, one process for every tree and blob a process reads from a
    repository (started at the first; a forked worker starts its own)."""

    def __init__(self, git_dir: str, started: subprocess.Popen[bytes] | None = None, asked: Sequence[bytes] = ()) -> None:
        """`started`: the process, where it was started already (by StagedIndex, beside rev-parse),
        and asked these names already (_ask_ahead), their answers not read yet."""
        self.git_dir = git_dir
        self.pid = os.getpid()
        self.asked = list(asked)  # names asked ahead, in order: their answers come first
        self.ahead: dict[bytes, _Object | None] = {}  # answers to names asked ahead, read, not taken yet
        if started is not None:
            self.proc = started
            return
        env = dict(_environment(), GIT_DIR=git_dir)
        try:
            self.proc = subprocess.Popen(["git", *_CAT_FILE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None

    def read(self, names: Sequence[bytes]) -> list[_Object | None]:
        """(id, type, bytes) of each object named (an id, or `rev:path`, `rev^{tree}`...), None where
        there is none. A few at a time: cat-file answers each as it reads it, and a pipe holds
        64 KiB, so a long list written at once could leave both sides waiting on the other."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        found: dict[int, _Object | None] = {}
        try:
            asked, self.asked = self.asked, []
            self.ahead.update((name, _answer(stdout)) for name in asked)
            taken = {name: self.ahead.pop(name) for name in set(names) if name in self.ahead}
            found.update((at, taken[name]) for at, name in enumerate(names) if name in taken)
            rest = [at for at, name in enumerate(names) if name not in taken]
            for start in range(0, len(rest), 256):
                chunk = rest[start : start + 256]
                stdin.write(b"".join(names[at] + b"\n" for at in chunk))
                stdin.flush()
                found.update((at, _answer(stdout)) for at in chunk)
        except (OSError, ValueError):
            raise GitError(f"git cat-file: {_said(self.close(), self.proc.returncode or 0)}") from None
        return [found[at] for at in range(len(names))]

    def holds(self, names: Sequence[bytes]) -> bool:
        """Whether the names were asked ahead, their answers not taken yet."""
        waiting = {*self.asked, *self.ahead}
        return all(name in waiting for name in names)

    def finish(self) -> None:
        """No more requests: its stdin closed, it ends beside what this process does next (close
        waits for it)."""
        _no_more_input(self.proc)

    def close(self) -> bytes:
        """End the process (its stdin closed, it exits); what it said on stderr."""
        try:
            return self.proc.communicate(timeout=5)[1] or b""
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
            return b""


_CAT_FILE = ("cat-file", "--batch")
_Object = tuple[bytes, bytes, bytes]  # id (hex), type, bytes


def _answer(stdout: IO[bytes]) -> _Object | None:
    header = stdout.readline()
    if not header:
        raise ValueError("cat-file ended")
    fields = header.split()
    if len(fields) != 3:  # `<name> missing`, `<name> ambiguous`
        return None
    size = int(fields[2])
    data = stdout.read(size + 1)
    if len(data) != size + 1:
        raise ValueError("cat-file ended")
    return fields[0], fields[1], data[:-1]


_objects: _Objects | None = None


def _reader(git_dir: str, started: subprocess.Popen[bytes] | None = None, asked: Sequence[bytes] = ()) -> _Objects:
    """This process's cat-file for `git_dir` (one repository at a time); `started`: the process
    to take as it, started already on that repository (and `asked` these names, unread)."""
    global _objects
    if (
        started is not None
        or _objects is None
        or (_objects.git_dir, _objects.pid) != (git_dir, os.getpid())
        or _objects.proc.stdin is None  # finished
        or _objects.proc.poll() is not None
    ):
        if _objects is not None and _objects.pid == os.getpid():
            _objects.close()
        _objects = _Objects(git_dir, started, asked)
    return _objects


def close_objects() -> None:
    """End this process's cat-file, if it started one (at the end of a run; at exit anyway)."""
    global _objects
    if _objects is not None and _objects.pid == os.getpid():
        _objects.close()
    _objects = None


atexit.register(close_objects)


def read_blobs(git_dir: str, oids: Sequence[str]) -> dict[str, bytes]:
    """The bytes of each of the blobs there is, by id, from the repository at `git_dir`."""
    found = _reader(git_dir).read([oid.encode() for oid in oids])
    return {oid: got[2] for oid, got in zip(oids, found, strict=True) if got is not None and got[1] == b"blob"}


_Tree = dict[str, tuple[str, int]]  # name -> (id, mode)


def _read_trees(git_dir: str, names: Sequence[bytes]) -> list[_Tree | None]:
    """The entries of each tree named (`HEAD^{tree}`, an id), None where there is no such tree:
    one cat-file request for all."""
    return [_tree_entries(got) if got is not None and got[1] == b"tree" else None for got in _reader(git_dir).read(names)]


def _tree_entries(got: _Object) -> _Tree:
    size = len(got[0]) // 2  # an entry's id has the tree's own length: its object format's (20 or 32 bytes)
    data, entries, at = got[2], {}, 0
    entry, entries_only = _ENTRIES.get(size) or _ENTRIES.setdefault(size, _entry_patterns(size))
    if entries_only.fullmatch(data):  # entries one after the other: found in one pass, in C
        encoding, errors, modes = _FS_ENCODING, _FS_ERRORS, _MODES  # os.fsdecode's, without its calls
        return {name.decode(encoding, errors): (oid.hex(), modes.get(mode) or int(mode, 8)) for mode, name, oid in entry.findall(data)}
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        entries[os.fsdecode(data[space + 1 : nul])] = (data[nul + 1 : nul + 1 + size].hex(), int(data[at:space], 8))
        at = nul + 1 + size
    return entries


def _entry_patterns(size: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """A tree's entry, and a tree of entries, with ids of `size` bytes."""
    return re.compile(rb"([0-7]+) ([^\0]*)\0(.{%d})" % size, re.DOTALL), re.compile(rb"(?:[0-7]+ [^\0]*\0.{%d})*" % size, re.DOTALL)


_ENTRIES = {20: _entry_patterns(20)}  # by id size (SHA-1's compiled as the module loads: before a fork)
_MODES = {b"100644": _BLOB, b"100755": _EXECUTABLE, b"40000": _TREE, b"120000": 0o120000, b"160000": 0o160000}
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


# Python's own SHA-1 and SHA-256 load in a fraction of a millisecond, OpenSSL's in 3 to 4 ms (libcrypto)
# but hash several times faster: a process hashes its first bytes with Python's (a hook's few files,
# in each of its workers), and OpenSSL's once it has hashed more than this (a package read cold).
_OWN_HASH_BYTES = 256 * 1024
_hashed = 0  # the bytes this process hashed with Python's own


def blob_id(data: bytes, object_format: str = "sha1") -> str:
    """The id git gives a blob of these bytes in a repository of this object format."""
    global _hashed
    header = b"blob %d\0" % len(data)
    digest = None
    if _hashed + len(data) <= _OWN_HASH_BYTES and "_hashlib" not in sys.modules:
        digest = _own_hash(object_format, header)
        _hashed += len(data) if digest is not None else 0
    if digest is None:
        try:  # OpenSSL's, without hashlib's module; hashlib's where Python is built without OpenSSL
            from _hashlib import openssl_sha1 as sha1
            from _hashlib import openssl_sha256 as sha256
        except ImportError:
            from hashlib import sha1, sha256
        digest = (sha256 if object_format == "sha256" else sha1)(header)
    digest.update(data)
    return digest.hexdigest()


def _own_hash(object_format: str, header: bytes) -> Any:
    """Python's own hash of that object format, fed `header`; None where Python is built without it."""
    try:
        if object_format != "sha256":
            from _sha1 import sha1  # type: ignore[import-not-found,unused-ignore]

            return sha1(header)
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # Python 3.12 and later
        except ImportError:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        return sha256(header)
    except ImportError:
        return None


def holds_blob(data: bytes, oid: str) -> bool:
    """Whether `data` is the blob `oid` (of its length's object format: SHA-1 or SHA-256)."""
    return blob_id(data, "sha256" if len(oid) == 64 else "sha1") == oid


# --- --changed-since ------------------------------------------------------------------------


def changed_go_files(start: Path, rev: str, paths: Sequence[Path]) -> list[Path]:
    """The .go files changed between merge-base(rev, HEAD) and the working tree.

    Added, modified, renamed (under the new name) and untracked files count, whether
    committed since the merge-base, staged or not; deleted and ignored files do not, nor
    a file changed and changed back (the working tree holds the merge-base's content).
    Restricted to `paths` (files or directories) when it is not empty. Absolute paths,
    sorted. In a repository with no commits every tracked and untracked .go file is new
    (and `rev` is not looked at). Raises GitError for an unknown rev, unrelated
    histories or a directory outside any repository.

    Two git commands: `git diff --merge-base REV` (the merge-base's tree against the
    working tree, through the index's stat data: only files that look changed are read)
    and `git ls-files --others` (the untracked files).
    """
    repo = open_repository(start)
    return _changed_since(repo, ["--merge-base", rev], lambda: _merge_base(repo, rev), paths)


# A tree against the working tree, each file's record with the tree's blob id; git's porcelain
# diff, as it reads the index's stat data fresh (`diff-index` would list a file merely touched),
# with the options its configuration may change (diff.renames, diff.relative, color.ui) set.
_DIFF = ("diff", "-z", "--raw", "--no-abbrev", "--no-renames", "--no-relative", "--no-color")


def _changed_since(repo: Repository, against: list[str], base: Callable[[], str | None], paths: Sequence[Path]) -> list[Path]:
    """The files changed since the tree `against` names (`--merge-base REV`, or a commit id);
    where git cannot diff against it, `base()` says why (GitError), or gives the merge-base to
    diff against instead (several merge-bases: one of them), or None (no commits yet)."""
    git = repo.git()
    go = ("--", "*.go")
    untracked = git.start("ls-files", "-z", "--others", "--exclude-standard", *go)  # walks the tree while git diff stats it
    try:
        listed = git.maybe(*_DIFF, *against[:-1], "--end-of-options", against[-1], *go)
        if listed is None:
            commit = base()
            listed = None if commit is None else git(*_DIFF, "--end-of-options", commit, *go)
        cached = git("ls-files", "-z", "--cached", *go).split(b"\0")[:-1] if listed is None else []
    except BaseException:
        untracked.kill()
        raise
    others = untracked().split(b"\0")[:-1]
    if listed is None:  # no commits: every .go file of the index and the working tree is new
        return _in_tree(repo, paths, [*cached, *others])
    candidates, deleted = [], {}  # deleted: path -> the merge-base's blob
    fields = listed.split(b"\0")
    for meta, path in zip(fields[0:-1:2], fields[1::2], strict=True):
        _, _, old, _, status = meta.decode().split(" ")
        if status == "D":
            deleted[path] = old
        else:
            candidates.append(path)
    for path in others:
        if path in deleted:  # no longer in the index, still on disk: changed if it no longer holds the merge-base's blob
            data = _read_file(repo.top / os.fsdecode(path))
            if data is not None and holds_blob(data, deleted[path]):
                continue
        candidates.append(path)
    return _in_tree(repo, paths, candidates)


def _read_file(full: Path) -> bytes | None:
    try:
        return full.read_bytes()
    except OSError:
        return None


def _in_tree(repo: Repository, paths: Sequence[Path], listed: Sequence[bytes]) -> list[Path]:
    """The listed paths (relative to the top, as git gives them) that are .go files on disk,
    under one of `paths` when some are given; absolute, sorted."""
    roots = [Path(p).resolve() for p in paths]
    found = set()
    for rel in listed:
        full = repo.top / os.fsdecode(rel)
        if not rel.endswith(b".go") or not full.is_file():
            continue
        if roots and not any(full == root or root in full.parents for root in roots):
            continue
        found.add(full)
    return sorted(found)


def _merge_base(repo: Repository, rev: str) -> str | None:
    """The id of a merge-base of `rev` and HEAD; None with no commits yet (`rev` not looked at).
    One `git merge-base`; where it fails, a look at HEAD and `rev` says why."""
    git = repo.git()
    proc = git.run("merge-base", "--end-of-options", rev, "HEAD")
    if proc.returncode == 0:
        return proc.stdout.decode().strip()
    if proc.returncode == 1 and not proc.stdout:
        hint = "; this is a shallow clone: fetch the whole history (actions/checkout: fetch-depth: 0)" if repo.shallow else ""
        raise GitError(f"{rev!r} and HEAD have no common ancestor (unrelated histories){hint}")
    if git.maybe("rev-parse", "-q", "--verify", "HEAD^{commit}") is None:
        return None
    if git.maybe("rev-parse", "-q", "--verify", "--end-of-options", rev) is None:
        raise GitError(f"unknown revision {rev!r}: not a branch, remote branch, tag or commit here{_remote_hint(git, rev)}")
    if git.maybe("rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}") is None:
        raise GitError(f"{rev!r} does not name a commit")
    raise GitError(f"git merge-base: {_said(proc.stderr, proc.returncode)}")


def _remote_hint(git: _Git, rev: str) -> str:
    """Where a remote has a branch of that name (a fresh clone of a feature branch has `main` only as
    `origin/main`): the names to use instead."""
    if any(c in rev for c in "*?[\\"):  # a pattern of for-each-ref's own
        return ""
    listed = git.maybe("for-each-ref", "--format=%(refname:short)", "--", f"refs/remotes/*/{rev}")
    names = [name for name in (listed or b"").decode("utf-8", "replace").splitlines() if name]
    return f"; did you mean {' or '.join(names)}?" if names else ""


# A file's changed lines: (first, last) ranges, 1-based and inclusive, of the working-tree file;
# (n + 1, n) says lines were deleted between line n and line n + 1.
LineRanges = tuple[tuple[int, int], ...]
WHOLE_FILE: LineRanges = ((1, 1 << 62),)  # a file the merge-base does not have: every line is new


def changed_go_lines(start: Path, rev: str, paths: Sequence[Path]) -> dict[Path, LineRanges]:
    """`--new-from-rev`: each .go file `changed_go_files` names, with the lines changed in it.

    The diff is the merge-base's blob against the working-tree file, with no context
    lines. A file renamed since the merge-base (committed or staged) is diffed against
    its old blob, so its old lines are not new; a file the merge-base lacks (added,
    untracked, or with no commits at all) is new throughout. The diffs are pygit2's.
    """
    repo = open_repository(start)
    base = _merge_base(repo, rev)
    if base is None:
        return dict.fromkeys(_changed_since(repo, ["HEAD"], lambda: None, paths), WHOLE_FILE)
    files = _changed_since(repo, [base], lambda: base, paths)
    import pygit2

    try:
        library = pygit2.Repository(os.fspath(repo.git_dir))
        library.workdir = os.fspath(repo.top)
        tree = library[base].peel(pygit2.Commit).tree
        renamed = tree.diff_to_index(library.index)
        renamed.find_similar()
        old_names = {d.new_file.path: d.old_file.path for d in renamed.deltas if d.status == pygit2.enums.DeltaStatus.RENAMED}
        return {full: _changed_lines(tree, old_names.get(rel, rel), full) for full in files for rel in [full.relative_to(repo.top).as_posix()]}
    except pygit2.GitError as exc:
        raise GitError(f"git: {exc}") from None


def _changed_lines(tree: pygit2.Tree, old_path: str, full: Path) -> LineRanges:
    import pygit2

    try:
        old = tree[old_path]
    except KeyError:
        return WHOLE_FILE
    if old.type_str != "blob":
        return WHOLE_FILE
    try:
        new = full.read_bytes()
    except OSError:
        return WHOLE_FILE  # unreadable: the run says why when it reads it
    patch = pygit2.Patch.create_from(old.peel(pygit2.Blob).data, new, context_lines=0, interhunk_lines=0)
    ranges = []
    for hunk in patch.hunks:
        if hunk.new_lines:
            ranges.append((hunk.new_start, hunk.new_start + hunk.new_lines - 1))
        else:  # lines deleted after line new_start
            ranges.append((hunk.new_start + 1, hunk.new_start))
    return tuple(ranges)


# --- --staged ---------------------------------------------------------------------------------

# The index is read and written by git itself (`git diff-index`, `git ls-files`, `git update-index`):
# then every index format git knows (split index, sparse index, any version or extension) is read
# and written as git writes it, with each entry's flags (`git update-index` writes a copy of the
# index, which replaces it under its lock: _Updating). The objects too: read by one
# `git cat-file --batch`, written by one `git hash-object -w` (alternates, a quarantine's
# GIT_OBJECT_DIRECTORY, SHA-256 repositories: git's business). The hook's critical path is the
# wait for git: each command is started where its input is known, beside the run's own work.


class StagedFile(NamedTuple):
    path: str  # relative to the working tree, "/"-separated, as in the index
    id: str  # the blob's, hex
    mode: int


class StagedIndex:
    """The index the pre-commit hook works on, and what it stages.

    The index is the one named by GIT_INDEX_FILE when git sets it (`git commit
    -a`, `git commit PATH`), else the repository's own. `stage` gives the id of a
    blob to put in place of an entry's (same mode); `write` writes those blobs and
    updates the index once, as git does: `<index>.lock` taken (created exclusively)
    and held while the index is read again, changed and written, then renamed over
    the index. An entry changed by someone else since it was read (a `git add` in
    another terminal) keeps what they staged. Where git is committing a temporary
    index, the locked real one gets the same update.
    """

    def __init__(self, start: Path):
        # The index's changes and the filters configured are asked, and the cat-file reading the
        # blobs and trees started, while `git rev-parse` finds the repository: git finds the same
        # one from the same directory, by the same rules.
        # In the order the run waits for them: diff-index (the longest), rev-parse, config; cat-file
        # last (on two busy cores, the HEAD's tree it is asked at once delays what starts after it).
        changes, found, configured, objects = _asked_beside(start, ("diff-index", *_STAGED), _REV_PARSE, ("config", *_FILTERS_CONFIGURED), _CAT_FILE)
        head = _ask_ahead(objects, [b"HEAD^{tree}"])  # HEAD's tree, read by cat-file as it starts
        try:
            self._repo = open_repository(start, found)
            self.top = self._repo.top
            self._git = self._repo.git(_index_path(self._repo.git_dir))
            done = changes.done() if changes is not None else None
            self._changes = _staged_changes(self._git, done if done is not None and done[0] == 0 else None)  # a failure said as ever
            self._configured = configured.done() if configured is not None else _done(self._git.run("config", *_FILTERS_CONFIGURED))
        except BaseException:
            for started in (changes, found, configured, objects):
                if started is not None:
                    started.end()
            raise
        self._files = _staged_files(self._changes, _EMPTY_BLOBS.get(self._repo.object_format) or blob_id(b"", self._repo.object_format))
        if not any(f.path.endswith(".go") for f in self._files):
            if objects is not None:  # no blob nor tree to read
                objects.kill()
        elif objects is not None:  # this process's cat-file, for the blobs and trees asked next
            reader = _reader(os.fspath(self._repo.git_dir), objects.proc, head)
            if head:  # and the trees and go.mods `package` reads, from now on (_head_trees)
                ahead = _named_in_head(_above(posixpath.dirname(f.path) for f in self._files))
                if ahead is not None:
                    reader.asked += _ask_ahead(objects, ahead)
        else:
            _reader(os.fspath(self._repo.git_dir))
        self._restaged: dict[str, tuple[StagedFile, str, bytes]] = {}
        self._reading: _Reading | None = None  # the entries of the paths to stage, read beside the run's work
        self._updating: _Updating | None = None  # the update of a copy of the index, waiting for them
        self._writer: _Started | None = None  # the git command writing the blobs staged, once they are known
        self._packages: dict[str, IndexDirectory] | None = None
        self._unstaged: dict[str, dict[str, str]] = {}  # directory -> {name: new blob id} staged since its package was made
        self._head: list[_Object | None] = []  # HEAD's tree (None: none), once read (by `blobs`)
        self._filters: dict[str, str | None] | None = None
        self.kept: list[str] = []  # the paths `write` left as someone else staged them meanwhile

    def files(self) -> list[StagedFile]:
        """Index entries that differ from HEAD (all of them with no commits yet): regular files only."""
        return list(self._files)

    def blobs(self, files: Sequence[StagedFile]) -> list[bytes]:
        """The staged files' blobs: from the working tree where the file there holds the blob's
        bytes (checked by its id; the usual case right after `git add`), the others read together
        through cat-file, with HEAD's tree (which `package` reads next). The bytes of a file with
        a clean filter are the filter's output: never the working tree's (which hold another id)."""
        found: dict[str, bytes] = {}
        for file in files:
            if file.id not in found and (self._filters is None or self._filters.get(file.path) is None):
                with contextlib.suppress(FileError):
                    data = read_source(self.top / file.path)
                    if holds_blob(data, file.id):
                        found[file.id] = data
        asked = sorted({file.id for file in files} - set(found))
        got = _reader(os.fspath(self._repo.git_dir)).read([*(oid.encode() for oid in asked), b"HEAD^{tree}"])
        self._head = got[-1:]
        found.update((oid, one[2]) for oid, one in zip(asked, got[:-1], strict=True) if one is not None and one[1] == b"blob")
        missing = [file.id for file in files if file.id not in found]
        if missing:
            raise GitError(f"git: no blob {missing[0]} in {self._repo.git_dir}")
        return [found[file.id] for file in files]

    def filter(self, file: StagedFile) -> str | None:
        """The clean filter git applies to the file when it is staged (`filter` attribute with a
        clean or process command configured), or None: the blob is the filter's output then.
        Asked of every staged .go file at once, at the first."""
        if self._filters is None:
            code, out, _ = self._configured
            self._filters = _filters(self._git, out if code == 0 else None, [f.path for f in self._files if f.path.endswith(".go")])
        return self._filters.get(file.path)

    def package(self, file: StagedFile) -> IndexDirectory:
        """Where the staged file's package lives in the index: its directory's .go entries (the
        staged blobs, not the working-tree files) and the module the index's go.mod files name."""
        if self._packages is None:
            self._packages = _index_directories(self._repo, self._changes, [f.path for f in self._files], self._head)
        directory = posixpath.dirname(file.path)
        staged = self._unstaged.pop(directory, None)
        if staged:  # once for all the files staged in it since: not a copy of the directory per file
            self._packages[directory] = _restaged_in(self._packages[directory], staged)
        return self._packages[directory]

    def stage(self, file: StagedFile, data: bytes) -> str:
        """Take `data` as the blob to stage in place of the file's (written at `write`); its id."""
        new_id = blob_id(data, self._repo.object_format)
        self._restaged[file.path] = (file, new_id, data)
        self._unstaged.setdefault(posixpath.dirname(file.path), {})[posixpath.basename(file.path)] = new_id
        return new_id

    def prepare(self, files: Sequence[StagedFile]) -> None:
        """The files `write` may stage again, known before the run works them out: their index
        entries are read from now on, beside the work (the index's stat taken before: a `git add`
        meanwhile has them read again under the lock), and the git command that writes the blobs
        started, to wait for them; and `git update-index` on a copy of the index, waiting for the
        entries to stage (_Updating). `write` tells them to end, `close` waits for them."""
        self._end_prepared()
        if files:
            self._reading = _Reading(self._git, sorted({file.path for file in files}))
            if self._reading.stat is not None and self._reading.started is not None:
                self._updating = _Updating(self._git, self._reading.stat)
            self._writer = _blob_writer(self._git)
            _test_pause("prepared")

    def close(self) -> None:
        """End what this index started and wait for it: its cat-file, and what `prepare` started
        (killed where the run stops before `write`, which tells them to end)."""
        close_objects()
        self._end_prepared()

    def _end_prepared(self) -> None:
        if self._reading is not None:
            self._reading.end()
        if self._updating is not None:
            self._updating.end()
        if self._writer is not None:
            self._writer.end()
        self._reading, self._updating, self._writer = None, None, None

    def write(self) -> None:
        """Write the blobs staged and update the index: the run's last use of the repository, whose
        git commands are told to end here (the cat-file beside the update), and are waited for
        at `close`."""
        if _objects is not None and _objects.pid == os.getpid():
            _objects.finish()
        try:
            if self._restaged:
                self._update()
        finally:
            for started in (self._writer, self._updating.started if self._updating is not None else None):
                if started is not None:
                    started.finish()

    def _update(self) -> None:
        changes = {path: (file.id, new_id, file.mode) for path, (file, new_id, _) in self._restaged.items()}
        if self._reading is None or not self._reading.covers(changes):  # not prepared, or for other paths
            if self._reading is not None:
                self._reading.end()
            self._reading = _Reading(self._git, sorted(changes))
        entries, writer = self._reading, self._writer or _blob_writer(self._git)
        self._writer = writer
        # The blobs are written beside the index's read and update: the updated index is put in
        # place (renamed over the index) only once they are (git update-index does not look for them).
        blobs = _Beside(lambda: _write_blobs(self._git, [(new_id, data) for _, new_id, data in self._restaged.values()], writer))
        try:
            read = entries()
            _test_pause("read")
            kept = self._updating.apply(changes, read, blobs) if self._updating is not None else None
            self.kept = kept if kept is not None else _update_index(self._git, changes, read, blobs)
        except GitError:
            blobs.thread.join()
            if blobs.raised is not None:  # said first, as when the blobs were written before the lock
                raise blobs.raised from None
            raise
        finally:
            blobs.thread.join()
        real = _real_index(self._git.index_file) if self._git.index_file is not None else None
        if real is not None:
            _update_index(self._git._replace(index_file=real), {p: c for p, c in changes.items() if p not in self.kept})


# path -> (blob id, mode) of each index entry that differs from HEAD's tree (None: deleted);
# with no commits yet, every entry
_Changes = dict[str, tuple[str | None, int]]


_STAGED = ("--cached", "-z", "--no-renames", "HEAD")  # git diff-index's
_FILTERS_CONFIGURED = ("-z", "--get-regexp", r"^filter\..*\.(clean|process)$")  # git config's
_EMPTY_BLOBS = {"sha1": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "sha256": "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"}


def _asked_beside(start: Path, *commands: tuple[str, ...]) -> list[_Started | None]:
    """Each git command started from where open_repository asks (its answers are the repository's
    found there), to run beside it; None where it could not be started (asked again once found)."""
    where, cwd = _asking(Path(start))
    known = _located_key(where, cwd) in _located  # no rev-parse to run: open_repository knows its answers
    env = dict(_environment(), GIT_OPTIONAL_LOCKS="0")
    named = os.environ.get("GIT_INDEX_FILE")
    if named:
        env["GIT_INDEX_FILE"] = os.fspath(Path(named).absolute())
    started: list[_Started | None] = []
    for args in commands:
        if known and args == _REV_PARSE:
            started.append(None)
            continue
        stdin = subprocess.PIPE if args == _CAT_FILE else None  # cat-file reads the names asked on its stdin
        try:
            proc = subprocess.Popen(["git", *args], cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            started.append(_Started(args[0], proc))
        except OSError:  # no such directory, no git: open_repository says so
            started.append(None)
    return started


def _ask_ahead(objects: _Started | None, names: list[bytes]) -> list[bytes]:
    """The names asked of the cat-file just started, its answers read later (_Objects.asked): a
    few (its answers wait in the pipe, never this process on it: what it is asked fits in its
    stdin's, whatever it has not read); [] where it cannot be asked."""
    stdin = objects.proc.stdin if objects is not None else None
    if stdin is None or len(names) > _AHEAD or sum(map(len, names)) > _AHEAD * 64:
        return []
    try:
        stdin.write(b"".join(name + b"\n" for name in names))
        stdin.flush()
    except OSError:  # it ended already: said as the names are read
        return []
    return names


_AHEAD = 256  # names at most asked ahead, of 64 bytes on average: 16 KiB, a quarter of a pipe's


def _done(proc: subprocess.CompletedProcess[bytes]) -> tuple[int, bytes, bytes]:
    return proc.returncode, proc.stdout, proc.stderr


def _staged_changes(git: _Git, done: tuple[int, bytes, bytes] | None = None) -> _Changes:
    """What the index holds that HEAD does not: one `git diff-index` (`git ls-files` with no commit);
    `done`: its exit code and output, where it was run (and went through) beside open_repository."""
    code, stdout, stderr = done or _done(git.run("diff-index", *_STAGED))
    if code != 0:
        if git.maybe("rev-parse", "-q", "--verify", "HEAD^{commit}") is not None:
            raise GitError(f"git diff-index: {_said(stderr, code)}")
        return {e.path: (e.id, e.mode) for e in _index_entries(git) if e.stage == 0}  # no commits yet
    changes: _Changes = {}
    fields = stdout.split(b"\0")
    for meta, path in zip(fields[0:-1:2], fields[1::2], strict=True):
        _, mode, _, oid, status = meta.decode().split(" ")
        if status == "U":  # unmerged: no one staged content
            continue
        changes[os.fsdecode(path)] = (None, 0) if status == "D" else (oid, int(mode, 8))
    return changes


def _staged_files(changes: _Changes, empty: str) -> list[StagedFile]:
    """The regular files staged, not `git add -N` ones (the `empty` blob: nothing staged yet, and
    nothing to instrument anyway)."""
    return [StagedFile(path, oid, mode) for path, (oid, mode) in changes.items() if oid is not None and mode in _REGULAR_FILES and oid != empty]


class _Entry(NamedTuple):
    path: str
    id: str
    mode: int
    stage: int
    tag: str  # `git ls-files -v`: lower case for assume-unchanged, S for skip-worktree, ...


def _index_entries(git: _Git, *pathspecs: str) -> list[_Entry]:
    """The index's entries (under the pathspecs), as `git ls-files -s -v` gives them."""
    return _parse_entries(git("ls-files", "-z", "-s", "-v", "--", *pathspecs))


def _parse_entries(out: bytes) -> list[_Entry]:
    entries = []
    for record in out.split(b"\0")[:-1]:
        meta, path = record.split(b"\t", 1)
        tag, mode, oid, stage = meta.decode().split(" ")
        entries.append(_Entry(os.fsdecode(path), oid, int(mode, 8), int(stage), tag))
    return entries


def _literal(path: str) -> str:
    return f":(top,literal){path}"


def _blob_writer(git: _Git) -> _Started:
    """`git hash-object -w` started, waiting on stdin for the paths of the blobs to write (_write_blobs)."""
    return git.start("hash-object", "-w", "--no-filters", "--stdin-paths", fed=True, reading=False)


def _write_blobs(git: _Git, blobs: list[tuple[str, bytes]], writer: _Started) -> None:
    """Write the blobs into the repository's objects, each as it is (no filter): by one `git
    hash-object -w` for all (`writer`, _blob_writer's), handed each blob as a file of its own
    beside the index (removed after), and checked to give the ids the index is to get."""
    folder = Path(git.git_dir)
    written: list[Path] = []
    try:
        for n, (_, data) in enumerate(blobs):
            path = folder / f"goinstrument-{os.getpid()}-{n}.blob"
            written.append(path)  # first: an interrupt as it is created leaves no file behind
            with open(path, "wb") as f:  # ours: the name holds our pid
                f.write(data)
        listed = b"".join(os.fsencode(path) + b"\n" for path in written)
        ids = writer(listed).split()
    except OSError as exc:
        raise GitError(f"cannot write a blob in {folder}: {exc.strerror or exc}") from None
    finally:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
    if [i.decode() for i in ids] != [oid for oid, _ in blobs]:
        raise GitError(f"git hash-object: ids {b' '.join(ids).decode()} where {' '.join(oid for oid, _ in blobs)} were expected")


class _Beside:
    """A call run in a thread of its own (one that waits on a git command); called, waits for it
    and gives what it raised."""

    def __init__(self, call: Callable[[], None]):
        import threading

        self.call = call
        self.raised: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.call()
        except BaseException as exc:  # raised where it is waited for
            self.raised = exc

    def __call__(self) -> None:
        self.thread.join()
        if self.raised is not None:
            raise self.raised


_Stat = tuple[int, int, int, int]  # an index file's inode, size, mtime and ctime (ns): which file it is


class _Reading:
    """The index's entries of the paths, read by `git ls-files` beside other work, with the stat of
    the index file before the read started: where the file is still the same under the lock (git
    replaces the index by a rename, a new inode, a new ctime), the entries are the locked index's."""

    def __init__(self, git: _Git, paths: list[str]):
        assert git.index_file is not None
        self.paths = frozenset(paths)
        self.stat = _index_stat(git.index_file)
        self.started = git.start("ls-files", "-z", "-s", "-v", "--", *map(_literal, paths)) if self.stat and len(paths) <= 1000 else None

    def covers(self, paths: Collection[str]) -> bool:
        """Whether it reads (at least) these paths' entries."""
        return self.started is not None and self.paths.issuperset(paths)

    def end(self) -> None:
        """Ended, unread where it was not read."""
        if self.started is not None:
            self.started.end()

    def __call__(self) -> tuple[_Stat, dict[str, _Entry]] | None:
        """(the index's stat, the stage-0 entries by path), or None where there are none to take."""
        if self.stat is None or self.started is None:
            return None
        try:
            return self.stat, {e.path: e for e in _parse_entries(self.started()) if e.stage == 0}
        except GitError:  # read again under the lock, which says what is wrong
            return None


def _index_stat(index: Path) -> _Stat | None:
    try:
        return _stat_of(os.stat(index))
    except OSError:
        return None


def _stat_of(st: os.stat_result) -> _Stat:
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _update_index(
    git: _Git,
    changes: dict[str, tuple[str, str, int]],
    read: tuple[_Stat, dict[str, _Entry]] | None = None,
    written: Callable[[], None] | None = None,
) -> list[str]:
    """Stage each path's new blob where the index still holds its old one (same mode), under the
    index's lock; the paths left as they were (someone staged them again meanwhile).

    As git does: `<index>.lock` created exclusively, the index copied into it and changed there by
    `git update-index` (which locks `<index>.lock.lock` for its own write), then renamed over the
    index. Each entry keeps its flags: `update-index --index-info` gives a fresh entry, so
    assume-unchanged and skip-worktree are set again where the old entry had them. The entries are
    `read`'s (_Reading) where the locked index is the file they were read from, else read again.
    `written`: waits until the blobs are written (raising if they cannot be), before the rename."""
    assert git.index_file is not None
    lock = _lock_path(git.index_file)
    with _holding(lock, git.index_file) as locked_stat:
        locked = git._replace(index_file=lock)
        _test_pause("locked")
        if read is not None and read[0] == locked_stat:
            now = read[1]
        else:
            now = {e.path: e for chunk in _chunks(sorted(changes)) for e in _index_entries(locked, *map(_literal, chunk)) if e.stage == 0}
        kept, todo = _kept(changes, now)
        if todo:
            _restage(locked, changes, todo, now)
        if written is not None:
            written()
        os.replace(lock, git.index_file)
    return kept


@contextlib.contextmanager
def _holding(lock: Path, index: Path, link: bool = False) -> Iterator[_Stat]:
    """The index's lock taken (_lock: the stat it gives), and removed where what is done under it
    fails or is interrupted: the index left as it was. SIGINT and SIGTERM are held while the lock
    is made (fileio's way: noted, then acted on as the making is done), so that one landing just
    as `os.link` or the lock's creation returns is raised where the lock is known to be ours (one
    was left behind, failing every git command after it)."""
    locked = False
    try:
        with _interrupts_held():
            stat = _lock(lock, index, link=link)  # (a lock that is another's raises: nothing of ours to remove)
            locked = True
        yield stat  # a signal held meanwhile was raised as the block ended: in this try
    except BaseException:
        if locked:
            with contextlib.suppress(OSError):
                os.unlink(lock)
        raise


def _kept(changes: dict[str, tuple[str, str, int]], now: dict[str, _Entry]) -> tuple[list[str], list[str]]:
    """(the paths whose entry no longer holds the old blob and mode: someone staged them again,
    the paths to stage), by the index's entries `now`."""
    kept = [p for p, (old, _, mode) in changes.items() if p not in now or (now[p].id, now[p].mode) != (old, mode)]
    return kept, [p for p in changes if p not in kept]


def _restage(git: _Git, changes: dict[str, tuple[str, str, int]], todo: list[str], now: dict[str, _Entry], started: _Started | None = None) -> None:
    """`git update-index` on git's index file: each path of `todo` gets its new blob, then its old
    entry's flags again (`--index-info` gives a fresh entry). `started`: the `update-index
    --index-info` to hand the entries to, started already on that file (_Updating)."""
    info = b"".join(b"%o %s\t%s\0" % (changes[p][2], changes[p][1].encode(), os.fsencode(p)) for p in todo)
    if started is not None:
        started(info)
    else:
        git("update-index", "-z", "--index-info", input=info, reading=False)
    for flag, marked in (("--assume-unchanged", str.islower), ("--skip-worktree", lambda tag: tag in "Ss")):
        again = [p for p in todo if marked(now[p].tag)]
        if again:
            git("update-index", "-z", flag, "--stdin", input=b"".join(os.fsencode(p) + b"\0" for p in again), reading=False)


class _Updating:
    """`git update-index --index-info` on a copy of the index (beside it, a name of ours alone),
    started beside the run's work to wait for the entries to stage: its start and its read of the
    index are done by the time they are known. The copy, updated, takes the index's place under
    the index's lock, where the index is still the file copied: the file whose stat (`stat`) the
    entries were read with (_Reading), as git replaces the index by a rename (a new inode, ctime)."""

    def __init__(self, git: _Git, stat: _Stat):
        assert git.index_file is not None
        self.index = git.index_file
        self.copy = self.index.with_name(f"{self.index.name}.goinstrument-{os.getpid()}-{os.urandom(4).hex()}")
        self.git = git._replace(index_file=self.copy)
        self.stat = stat
        self.started: _Started | None = None
        self.made = False  # the copy
        try:
            with open(self.index, "rb") as source:
                if _stat_of(os.fstat(source.fileno())) != stat:  # replaced since: no copy to update
                    return
                self.made = True  # first: an interrupt as it is made leaves no copy behind (end)
                try:
                    made = open(self.copy, "xb")  # noqa: SIM115  # closed by the `with` below
                except FileExistsError:  # not ours: never removed
                    self.made = False
                    raise
                with made as f:
                    _copy_bytes(source, f, stat[1])
            self.started = self.git.start("update-index", "-z", "--index-info", fed=True, reading=False)
        except (OSError, GitError):  # none, then: the index is updated under its lock (_update_index)
            self.end()
        except BaseException:  # interrupted (Ctrl-C, SIGTERM) before the caller holds it to end it
            self.end()
            raise

    def apply(
        self, changes: dict[str, tuple[str, str, int]], read: tuple[_Stat, dict[str, _Entry]] | None, written: Callable[[], None]
    ) -> list[str] | None:
        """As _update_index, with the copy updated: the paths left as they were; None where the copy
        cannot serve (the entries were read from another file, or the index is not the file copied
        any more: someone wrote it meanwhile), and _update_index is to do it all under the lock."""
        if self.started is None or read is None or read[0] != self.stat:
            return None
        kept, todo = _kept(changes, read[1])
        if not todo:
            return None
        try:
            _restage(self.git, changes, todo, read[1], self.started)
        except GitError:  # the copy could not be updated: the index under its lock says what is wrong, if anything
            return None
        written()
        lock = _lock_path(self.index)
        with _holding(lock, self.copy, link=True):  # the lock is the updated copy (a hard link to it), or a copy of its bytes
            _test_pause("locked")
            if _index_stat(self.index) != self.stat:
                os.unlink(lock)
                return None
            os.replace(lock, self.index)
        self.end()  # the copy's name goes (the index's file now)
        return kept

    def end(self) -> None:
        """Its git command ended where it still runs (SIGTERM: git removes its lock file), the copy removed."""
        if self.started is not None and self.started.proc.returncode is None:
            self.started.proc.terminate()
            self.started.proc.communicate()
        if self.made:
            for path in (self.copy, _lock_path(self.copy)):  # the lock file of a git killed by someone else
                with contextlib.suppress(OSError):
                    os.unlink(path)
            self.made = False


def _copy_bytes(source: IO[bytes], target: IO[bytes], size: int) -> None:
    """The `size` bytes of `source` into `target`: copied by the kernel where it can (sendfile
    between files: Linux), else read and written."""
    done = 0
    try:
        while done < size:
            sent = os.sendfile(target.fileno(), source.fileno(), done, size - done)
            if not sent:
                raise OSError(f"{source.name}: shorter than {size} bytes")
            done += sent
    except OSError:
        if done:
            raise
        target.write(source.read())


def _lock_path(index: Path) -> Path:
    return index.with_name(index.name + ".lock")


def _lock(lock: Path, index: Path, wait: float = 2.0, link: bool = False) -> _Stat:
    """Take the index's lock as git does (create `<index>.lock`, exclusively), holding the index's
    bytes; a lock held by another git command is waited for a little, as it is usually brief. The
    stat of the index file copied. `link`: the lock is made a hard link to `index` (a file of
    ours, which no one writes), exclusively as well, where the file system has hard links."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if link:
                os.link(index, lock)
                return _stat_of(os.stat(lock))
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            if time.monotonic() >= deadline:
                raise GitError(
                    f"cannot lock the git index: {lock} exists; another git process seems to be running in this repository"
                    " (if not, remove the file and commit again)"
                ) from None
            time.sleep(0.05)
        except OSError as exc:
            if link:  # no hard link here: the bytes copied
                link = False
                continue
            raise GitError(f"cannot lock the git index {index}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f, open(index, "rb") as source:
            st = os.fstat(source.fileno())
            _copy_bytes(source, f, st.st_size)  # read now that no git command may write it
            with contextlib.suppress(OSError):  # the mode git gave it (core.sharedRepository), where the lock is put in place
                os.fchmod(f.fileno(), st.st_mode & 0o7777)
        return _stat_of(st)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        raise GitError(f"cannot read the git index {index}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        raise


def _chunks(paths: list[str], size: int = 1000) -> Iterator[list[str]]:
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


def _test_pause(where: str) -> None:
    """GOINSTRUMENT_TEST_INDEX_PAUSE=WHERE:FILE pauses at WHERE (`prepared`: once the read of the
    entries to update is started, before the run works the files out; `read`: after the index was
    read, before it is locked for the update; `locked`: with the lock held; `deferred`: in a served
    run's child, after its client has the exit code, before the cache is written) until FILE, which it creates,
    is removed (a minute at most): the tests' way to run a real `git add` in the window, instead of
    a race left to chance."""
    setting = os.environ.get("GOINSTRUMENT_TEST_INDEX_PAUSE", "")
    if not setting.startswith(where + ":"):
        return
    flag = Path(setting.split(":", 1)[1])
    flag.touch()
    deadline = time.monotonic() + 60
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _real_index(index: Path) -> Path | None:
    """`git commit PATH` commits a temporary index, then installs the locked real one as it was.

    Git runs the hook on `next-index-*.lock` while `index.lock` holds the real index
    to be installed after the commit; without the same change there, the files would
    show up as staged reversions of the commit just made.
    """
    if not (index.name.startswith("next-index-") and index.suffix == ".lock"):
        return None
    real = index.parent / "index.lock"
    return real if real.exists() else None


def _index_path(git_dir: Path) -> Path:
    """GIT_INDEX_FILE as git sets it for hooks (relative to the current directory), else the repository's index."""
    named = os.environ.get("GIT_INDEX_FILE")
    if named:
        return Path(named).absolute()
    return git_dir / "index"


# --- the packages of the index ------------------------------------------------------------------


def _index_directories(repo: Repository, changes: _Changes, paths: Sequence[str], head: Sequence[_Object | None] = ()) -> dict[str, IndexDirectory]:
    """For each directory holding one of `paths`: its .go entries in the index, and the module
    of the nearest go.mod the index holds at or above it (or, above the working tree, on disk).
    The index is HEAD's tree with the staged changes: read without another look at the index,
    HEAD's trees and go.mod blobs through cat-file (_head_trees; then the staged go.mod blobs).
    `head`: HEAD's tree as cat-file gave it, where it was read already."""
    git_dir = os.fspath(repo.git_dir)
    directories = sorted({posixpath.dirname(p) for p in paths})
    trees, texts = _head_trees(git_dir, directories, head)

    def tree(directory: str) -> _Tree:
        return trees[directory] or {}

    changed: dict[str, _Changes] = {d: {} for d in directories}
    for path, entry in changes.items():
        where, name = posixpath.split(path)
        if where in changed and name.endswith(".go"):
            changed[where][name] = entry
    go_mods: dict[str, tuple[str | None, int]] = {}  # the go.mod entry of each directory: staged, else HEAD's
    for ancestor in trees:
        staged = changes.get(posixpath.join(ancestor, "go.mod"))
        go_mods[ancestor] = staged if staged is not None else tree(ancestor).get("go.mod", (None, 0))
    missing = {oid for oid, mode in go_mods.values() if oid is not None and mode in _REGULAR_FILES} - set(texts)  # staged ones
    if missing:
        texts.update(read_blobs(git_dir, sorted(missing)))
    modules: dict[str, str | None] = {}
    packages = {}
    for directory in directories:
        files: _Changes = {name: entry for name, entry in tree(directory).items() if name.endswith(".go")}
        files.update(changed[directory])
        listed = tuple(sorted((name, oid) for name, (oid, mode) in files.items() if oid is not None and mode in _REGULAR_FILES))
        module = module_above(os.fspath(repo.top))
        for ancestor in _ancestors(directory):
            if ancestor not in modules:
                oid, mode = go_mods[ancestor]
                text = texts.get(oid) if oid is not None and mode in _REGULAR_FILES else None
                modules[ancestor] = None if text is None else module_path(text)
            declared = modules[ancestor]
            if declared is not None:
                module = (os.fspath(repo.top / ancestor), declared)
                break
        place = os.fspath(repo.top / directory) if directory else os.fspath(repo.top)
        packages[directory] = IndexDirectory(git_dir, place, listed, module)
    return packages


def _head_trees(git_dir: str, directories: Sequence[str], head: Sequence[_Object | None] = ()) -> tuple[dict[str, _Tree | None], dict[str, bytes]]:
    """HEAD's tree of each directory and of each above it (None where HEAD has none: no such
    directory, or no commits yet), and the bytes of the go.mod blobs they hold, by id: HEAD's
    tree, then in one request each tree below it and each go.mod, named by their paths in it
    (`<tree id>:<path>`: the same tree for all, whatever HEAD becomes meanwhile). Where a path
    cannot be named so (a newline in it), the trees are read a level at a time, the go.mods not."""
    root = head[0] if head else _reader(git_dir).read([b"HEAD^{tree}"])[0]
    trees: dict[str, _Tree | None] = {"": _tree_entries(root) if root is not None and root[1] == b"tree" else None}
    below = _above(directories)
    if root is None or trees[""] is None or any("\n" in d for d in below):
        return _trees_below(git_dir, trees, below), {}
    reader = _reader(git_dir)
    ahead = _named_in_head(below)
    if ahead is not None and reader.holds(ahead):  # asked as cat-file started (StagedIndex): HEAD's then
        found = reader.read(ahead)
        texts = {got[0].decode(): got[2] for got in found[len(below) :] if got is not None and got[1] == b"blob"}  # by id: whichever
        if _from_root(trees, below, found[: len(below)]):
            return trees, texts
    named = [root[0] + b":" + os.fsencode(d) for d in below]
    go_mods = [root[0] + b":" + os.fsencode(posixpath.join(d, "go.mod")) for d in ["", *below]]
    found = _reader(git_dir).read(named + go_mods)
    for directory, got in zip(below, found[: len(named)], strict=True):
        trees[directory] = _tree_entries(got) if got is not None and got[1] == b"tree" else None
    texts = {got[0].decode(): got[2] for got in found[len(named) :] if got is not None and got[1] == b"blob"}
    return trees, texts


def _above(directories: Iterable[str]) -> list[str]:
    """The directories and those above them but the top, the upper ones first."""
    return sorted({a for d in directories for a in _ancestors(d)} - {""}, key=lambda d: d.count("/"))


def _named_in_head(below: list[str]) -> list[bytes] | None:
    """The names of the trees `below` (_above) and of the go.mods in them and at the top, in HEAD
    as it is when cat-file reads them; None where one cannot be named (a newline in it)."""
    if any("\n" in d for d in below):
        return None
    return [b"HEAD:" + os.fsencode(d) for d in below] + [b"HEAD:" + os.fsencode(posixpath.join(d, "go.mod")) for d in ["", *below]]


def _from_root(trees: dict[str, _Tree | None], below: list[str], found: Sequence[_Object | None]) -> bool:
    """`trees` (HEAD's tree) with the trees `below` as cat-file read them by their paths in HEAD,
    where each is its parent's entry (the same id: HEAD was the tree `trees` holds, for them);
    False, `trees` as it was, where one is not (HEAD moved meanwhile)."""
    read: dict[str, _Tree | None] = {}
    for directory, got in zip(below, found, strict=True):  # the upper ones first
        parent, name = posixpath.split(directory)
        oid, mode = ((read if parent in read else trees).get(parent) or {}).get(name, ("", 0))
        if mode != _TREE:
            if got is not None:
                return False
            read[directory] = None
        elif got is None or got[1] != b"tree" or got[0].decode() != oid:
            return False
        else:
            read[directory] = _tree_entries(got)
    trees.update(read)
    return True


def _trees_below(git_dir: str, trees: dict[str, _Tree | None], below: list[str]) -> dict[str, _Tree | None]:
    """`trees` (HEAD's tree at least) with the trees of the directories `below`, read from the top
    down, a level at a time: one request a level."""
    while below:
        depth = below[0].count("/")
        level = [d for d in below if d.count("/") == depth]
        below = below[len(level) :]
        asked: dict[str, bytes] = {}
        for directory in level:
            parent, name = posixpath.split(directory)
            oid, mode = (trees[parent] or {}).get(name, ("", 0))
            if mode == _TREE:
                asked[directory] = oid.encode()
            else:
                trees[directory] = None
        trees.update(zip(asked, _read_trees(git_dir, list(asked.values())), strict=True))
    return trees


def _ancestors(directory: str) -> Iterator[str]:
    """`a/b`, `a`, `` (the top): the directory and those above it, inside the working tree."""
    while directory:
        yield directory
        directory = posixpath.dirname(directory)
    yield ""


def _restaged_in(package: IndexDirectory, staged: dict[str, str]) -> IndexDirectory:
    """The package with the blobs `staged` (name -> new id) in place of its files' own."""
    files = tuple((n, staged.get(n, oid)) for n, oid in package.files)
    return package._replace(files=files)


# --- attributes -----------------------------------------------------------------------------------


def _filters(git: _Git, configured: bytes | None, paths: Sequence[str]) -> dict[str, str | None]:
    """The clean filter of each path (`filter` attribute naming a filter with a clean or process
    command `configured`: git config's _FILTERS_CONFIGURED), or None. Without a `filter.*.clean`
    nor `.process` in the configuration no file has one, and the attributes need no look (git
    check-attr loads the index)."""
    names = set()
    for record in (configured or b"").split(b"\0"):
        key, _, value = record.partition(b"\n")
        if value.strip():  # a command to run: an empty one is none
            names.add(os.fsdecode(key[len(b"filter.") : key.rindex(b".")]))
    if not names or not paths:
        return {}
    out = git("check-attr", "-z", "--stdin", "filter", input=b"".join(os.fsencode(p) + b"\0" for p in paths))
    fields = out.split(b"\0")
    found: dict[str, str | None] = {}
    for path, _, value in zip(fields[0:-1:3], fields[1::3], fields[2::3], strict=True):
        name = os.fsdecode(value)
        found[os.fsdecode(path)] = name if name in names else None
    return found


def repository_top(cwd: Path) -> Path:
    """The top of the git working tree holding `cwd`; outside a repository, `cwd` itself."""
    return Path(os.path.realpath(worktree_top_or_none(cwd) or cwd))
