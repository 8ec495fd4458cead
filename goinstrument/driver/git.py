"""Git queries: the .go files changed since a revision, the staged files, the index.

Through pygit2, but the index of the pre-commit hook, which the git command reads and writes.
Nothing here instruments, reads the working tree's sources or reports.
"""

from __future__ import annotations

import contextlib
import functools
import os
import posixpath
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pygit2
from pygit2.enums import DeltaStatus, FileMode

from goinstrument.driver.gomod import module_above, module_path
from goinstrument.engine.result import GitError as GitError  # raised here, defined with the other values
from goinstrument.engine.result import IndexDirectory

_REGULAR_FILES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)
_EMPTY_BLOB = pygit2.Oid(hex="e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")


@contextlib.contextmanager
def _git_errors() -> Iterator[None]:
    """What libgit2 refuses (a corrupt index, an unreadable HEAD...) ends the run with its message."""
    try:
        yield
    except pygit2.GitError as exc:
        raise GitError(f"git: {exc}") from None


# --- the repository -------------------------------------------------------------------------


def open_repository(start: Path) -> pygit2.Repository:
    """The repository holding `start` (a directory or a file in it), with a working tree.

    As git does, GIT_DIR (and GIT_WORK_TREE) name the repository and its working tree
    when they are set (a bare repository with a separate work tree: the dotfiles pattern),
    relative to the current directory; then `start` is not looked at. With GIT_DIR and
    neither GIT_WORK_TREE nor core.worktree, git takes the current directory as the top
    of the working tree (unless core.bare says the repository is bare): so do we.
    """
    start = Path(start)
    where = start if start.is_dir() or not start.exists() else start.parent
    git_dir, work_tree = os.environ.get("GIT_DIR"), os.environ.get("GIT_WORK_TREE")
    repo: pygit2.Repository | None
    try:
        if git_dir:
            where = Path(git_dir).absolute()
            repo = pygit2.Repository(os.fspath(where))
            if work_tree:
                repo.workdir = os.fspath(Path(work_tree).absolute())
            elif not repo.is_bare and not _configured(repo, "core.worktree"):
                repo.workdir = os.fspath(Path.cwd())
        else:
            found = pygit2.discover_repository(os.fspath(where))
            repo = pygit2.Repository(found) if found else None
    except pygit2.GitError as exc:
        raise GitError(f"cannot open the git repository at {where}: {exc}") from None
    if repo is None:
        raise GitError(f"not a git repository (or any parent up to /): {where}")
    if repo.is_bare:
        raise GitError(f"{repo.path} is a bare repository: there is no working tree to instrument")
    return repo


def _configured(repo: pygit2.Repository, key: str) -> bool:
    try:
        return bool(repo.config[key])
    except KeyError:
        return False


def worktree_top(start: Path) -> Path:
    """The top of the working tree holding `start`: what repository-relative paths are relative to."""
    with _git_errors():
        return _workdir(open_repository(start))


def worktree_top_or_none(start: Path) -> Path | None:
    """The top of the working tree holding `start`, or None outside any repository (or in a bare one)."""
    try:
        return worktree_top(start)
    except GitError:
        return None


def _workdir(repo: pygit2.Repository) -> Path:
    return Path(repo.workdir).resolve()


def _head_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    """HEAD's commit, or None in a repository with no commits yet."""
    if repo.head_is_unborn:
        return None
    return repo.head.peel(pygit2.Commit)


# --- --changed-since ------------------------------------------------------------------------


def changed_go_files(start: Path, rev: str, paths: Sequence[Path]) -> list[Path]:
    """The .go files changed between merge-base(rev, HEAD) and the working tree.

    Added, modified, renamed (under the new name) and untracked files count, whether
    committed since the merge-base, staged or not; deleted and ignored files do not.
    Restricted to `paths` (files or directories) when it is not empty. Absolute paths,
    sorted. In a repository with no commits every tracked and untracked .go file is new
    (and `rev` is not looked at). Raises GitError for an unknown rev, unrelated
    histories or a directory outside any repository.
    """
    with _git_errors():
        return _changed_go_files(start, rev, paths)


def _changed_go_files(start: Path, rev: str, paths: Sequence[Path]) -> list[Path]:
    repo = open_repository(start)
    head = _head_commit(repo)
    base = None if head is None else _merge_base(repo, rev, head)
    return _changed_since(repo, head, base, paths)


def _changed_since(repo: pygit2.Repository, head: pygit2.Commit | None, base: pygit2.Commit | None, paths: Sequence[Path]) -> list[Path]:
    workdir = _workdir(repo)
    worktree_changes = repo.status(untracked_files="all", ignored=False)
    candidates = set(worktree_changes)
    if head is not None and base is not None and base.id != head.id:
        for delta in base.tree.diff_to_tree(head.tree).deltas:
            if delta.status != DeltaStatus.DELETED:
                candidates.add(delta.new_file.path)
    roots = [Path(p).resolve() for p in paths]
    found = []
    for rel in candidates:
        full = workdir / rel
        if not rel.endswith(".go") or not full.is_file():
            continue
        if roots and not any(full == root or root in full.parents for root in roots):
            continue
        if base is not None and rel in worktree_changes and _same_as_in(base.tree, rel, full):
            continue  # changed and changed back: the working tree holds what the merge-base holds
        found.append(full)
    return sorted(found)


# A file's changed lines: (first, last) ranges, 1-based and inclusive, of the working-tree file;
# (n + 1, n) says lines were deleted between line n and line n + 1.
LineRanges = tuple[tuple[int, int], ...]
WHOLE_FILE: LineRanges = ((1, 1 << 62),)  # a file the merge-base does not have: every line is new


def changed_go_lines(start: Path, rev: str, paths: Sequence[Path]) -> dict[Path, LineRanges]:
    """`--new-from-rev`: each .go file `changed_go_files` names, with the lines changed in it.

    The diff is the merge-base's blob against the working-tree file, with no context
    lines. A file renamed since the merge-base (committed or staged) is diffed against
    its old blob, so its old lines are not new; a file the merge-base lacks (added,
    untracked, or with no commits at all) is new throughout.
    """
    with _git_errors():
        repo = open_repository(start)
        head = _head_commit(repo)
        base = None if head is None else _merge_base(repo, rev, head)
        files = _changed_since(repo, head, base, paths)
        if base is None:
            return dict.fromkeys(files, WHOLE_FILE)
        renamed = base.tree.diff_to_index(repo.index)
        renamed.find_similar()
        old_names = {d.new_file.path: d.old_file.path for d in renamed.deltas if d.status == DeltaStatus.RENAMED}
        workdir = _workdir(repo)
        return {full: _changed_lines(base.tree, old_names.get(rel, rel), full) for full in files for rel in [full.relative_to(workdir).as_posix()]}


def _tree_blob(tree: pygit2.Tree, rel: str) -> pygit2.Object | None:
    """The blob at `rel` in `tree`, or None (no entry there, or a directory or submodule)."""
    try:
        entry = tree[rel]
    except KeyError:
        return None
    return entry if entry.type_str == "blob" else None


def _changed_lines(tree: pygit2.Tree, old_path: str, full: Path) -> LineRanges:
    old = _tree_blob(tree, old_path)
    if old is None:
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


def _merge_base(repo: pygit2.Repository, rev: str, head: pygit2.Commit) -> pygit2.Commit:
    try:
        target = repo.revparse_single(rev)
    except (KeyError, ValueError, pygit2.GitError):
        raise GitError(f"unknown revision {rev!r}: not a branch, remote branch, tag or commit here") from None
    try:
        commit = target.peel(pygit2.Commit)
    except (ValueError, pygit2.GitError):
        raise GitError(f"{rev!r} does not name a commit") from None
    base = repo.merge_base(commit.id, head.id)
    if base is None:
        hint = "; this is a shallow clone: fetch the whole history (actions/checkout: fetch-depth: 0)" if repo.is_shallow else ""
        raise GitError(f"{rev!r} and HEAD have no common ancestor (unrelated histories){hint}")
    return repo[base].peel(pygit2.Commit)


def _same_as_in(tree: pygit2.Tree, rel: str, full: Path) -> bool:
    entry = _tree_blob(tree, rel)
    if entry is None:
        return False
    try:
        return pygit2.hashfile(os.fspath(full)) == entry.id
    except (OSError, pygit2.GitError):
        return False


# --- --staged ---------------------------------------------------------------------------------

# The index is read and written by git itself (`git diff-index`, `git ls-files`, `git update-index`):
# then every index format git knows (split index, sparse index, any version or extension) is read
# and written as git writes it, with each entry's flags; libgit2 refuses some of them. The blobs
# are read and written through pygit2: objects have one format, and writing one is safe at any time.


class StagedFile(NamedTuple):
    path: str  # relative to the working tree, "/"-separated, as in the index
    id: pygit2.Oid
    mode: FileMode


class StagedIndex:
    """The index the pre-commit hook works on, and what it stages.

    The index is the one named by GIT_INDEX_FILE when git sets it (`git commit
    -a`, `git commit PATH`), else the repository's own. `stage` writes a blob to
    put in place of an entry's (same mode); `write` updates the index once, as
    git does: `<index>.lock` taken (created exclusively) and held while the index
    is read again, changed and written, then renamed over the index. An entry
    changed by someone else since it was read (a `git add` in another terminal)
    keeps what they staged. Where git is committing a temporary index, the
    locked real one gets the same update.
    """

    def __init__(self, start: Path):
        with _git_errors():
            self._repo = open_repository(start)
            self.top = _workdir(self._repo)
        self._git = _Git(Path(self._repo.path), self.top, _index_path(self._repo))
        with _git_errors():
            self._changes = _staged_changes(self._git, _head_commit(self._repo))
        self._files = _staged_files(self._changes)
        self._restaged: dict[str, tuple[StagedFile, pygit2.Oid]] = {}
        self._packages: dict[str, IndexDirectory] | None = None
        self.kept: list[str] = []  # the paths `write` left as someone else staged them meanwhile

    def files(self) -> list[StagedFile]:
        """Index entries that differ from HEAD (all of them with no commits yet): regular files only."""
        return list(self._files)

    def blob(self, file: StagedFile) -> bytes:
        with _git_errors():
            return self._repo[file.id].peel(pygit2.Blob).data

    def filter(self, file: StagedFile) -> str | None:
        """The clean filter git applies to the file when it is staged (`filter` attribute with a
        clean or process command configured), or None: the blob is the filter's output then."""
        return _filter(self._repo, file.path)

    def package(self, file: StagedFile) -> IndexDirectory:
        """Where the staged file's package lives in the index: its directory's .go entries (the
        staged blobs, not the working-tree files) and the module the index's go.mod files name."""
        if self._packages is None:
            with _git_errors():
                self._packages = _index_directories(self._repo, self.top, self._changes, [f.path for f in self._files])
        return self._packages[posixpath.dirname(file.path)]

    def stage(self, file: StagedFile, data: bytes) -> pygit2.Oid:
        """Write `data` as the blob to stage in place of the file's (at `write`); the new blob's id."""
        with _git_errors():
            new_id = self._repo.create_blob(data)
        self._restaged[file.path] = (file, new_id)
        if self._packages is not None:
            directory = posixpath.dirname(file.path)
            self._packages[directory] = _restaged_in(self._packages[directory], posixpath.basename(file.path), new_id)
        return new_id

    def write(self) -> None:
        if not self._restaged:
            return
        _test_pause("read")
        changes = {path: (file.id, new_id, file.mode) for path, (file, new_id) in self._restaged.items()}
        self.kept = _update_index(self._git, changes)
        real = _real_index(self._git.index_file)
        if real is not None:
            _update_index(self._git._replace(index_file=real), {p: c for p, c in changes.items() if p not in self.kept})


class _Git(NamedTuple):
    """The git command, run on this repository, working tree and index whatever the current directory."""

    git_dir: Path
    top: Path
    index_file: Path

    def __call__(self, *args: str, input: bytes | None = None, reading: bool = True) -> bytes:
        env = dict(os.environ)
        env.pop("GIT_PREFIX", None)
        env.update(GIT_DIR=os.fspath(self.git_dir), GIT_WORK_TREE=os.fspath(self.top), GIT_INDEX_FILE=os.fspath(self.index_file))
        if reading:
            env["GIT_OPTIONAL_LOCKS"] = "0"  # a read must not refresh (and so lock) the index
        try:
            proc = subprocess.run(["git", *args], cwd=self.top, env=env, input=input, capture_output=True, check=False)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            message = said[-1].removeprefix("fatal: ").removeprefix("error: ") if said else f"failed (exit {proc.returncode})"
            raise GitError(f"git {args[0]}: {message}")
        return proc.stdout


# path -> (blob id, mode) of each index entry that differs from HEAD's tree (None: deleted);
# with no commits yet, every entry
_Changes = dict[str, tuple[pygit2.Oid | None, FileMode]]


def _staged_changes(git: _Git, head: pygit2.Commit | None) -> _Changes:
    """What the index holds that HEAD does not: one `git diff-index` (`git ls-files` with no commit)."""
    if head is None:
        return {e.path: (e.id, e.mode) for e in _index_entries(git) if e.stage == 0}
    changes: _Changes = {}
    fields = git("diff-index", "--cached", "-z", "--no-renames", "HEAD").split(b"\0")
    for meta, path in zip(fields[0:-1:2], fields[1::2], strict=True):
        _, mode, _, oid, status = meta.decode().split(" ")
        if status == "U":  # unmerged: no one staged content
            continue
        changes[os.fsdecode(path)] = (None, FileMode(0)) if status == "D" else (pygit2.Oid(hex=oid), FileMode(int(mode, 8)))
    return changes


def _staged_files(changes: _Changes) -> list[StagedFile]:
    """The regular files staged, not `git add -N` ones (the empty blob: nothing staged yet, and
    nothing to instrument anyway)."""
    return [StagedFile(path, oid, mode) for path, (oid, mode) in changes.items() if oid is not None and mode in _REGULAR_FILES and oid != _EMPTY_BLOB]


class _Entry(NamedTuple):
    path: str
    id: pygit2.Oid
    mode: FileMode
    stage: int
    tag: str  # `git ls-files -v`: lower case for assume-unchanged, S for skip-worktree, ...


def _index_entries(git: _Git, *pathspecs: str) -> list[_Entry]:
    """The index's entries (under the pathspecs), as `git ls-files -s -v` gives them."""
    out = git("ls-files", "-z", "-s", "-v", "--", *pathspecs)
    entries = []
    for record in out.split(b"\0")[:-1]:
        meta, path = record.split(b"\t", 1)
        tag, mode, oid, stage = meta.decode().split(" ")
        entries.append(_Entry(os.fsdecode(path), pygit2.Oid(hex=oid), FileMode(int(mode, 8)), int(stage), tag))
    return entries


def _literal(path: str) -> str:
    return f":(top,literal){path}"


def _update_index(git: _Git, changes: dict[str, tuple[pygit2.Oid, pygit2.Oid, FileMode]]) -> list[str]:
    """Stage each path's new blob where the index still holds its old one (same mode), under the
    index's lock; the paths left as they were (someone staged them again meanwhile).

    As git does: `<index>.lock` created exclusively, the index copied into it and changed there by
    `git update-index` (which locks `<index>.lock.lock` for its own write), then renamed over the
    index. Each entry keeps its flags: `update-index --index-info` gives a fresh entry, so
    assume-unchanged and skip-worktree are set again where the old entry had them."""
    lock = git.index_file.with_name(git.index_file.name + ".lock")
    _lock(lock, git.index_file)
    try:
        locked = git._replace(index_file=lock)
        _test_pause("locked")
        now = {e.path: e for chunk in _chunks(sorted(changes)) for e in _index_entries(locked, *map(_literal, chunk)) if e.stage == 0}
        kept = [p for p, (old, _, mode) in changes.items() if p not in now or (now[p].id, now[p].mode) != (old, mode)]
        todo = [p for p in changes if p not in kept]
        if todo:
            info = b"".join(b"%o %s\t%s\0" % (changes[p][2], str(changes[p][1]).encode(), os.fsencode(p)) for p in todo)
            locked("update-index", "-z", "--index-info", input=info, reading=False)
            for flag, marked in (("--assume-unchanged", str.islower), ("--skip-worktree", lambda tag: tag in "Ss")):
                again = [p for p in todo if marked(now[p].tag)]
                if again:
                    locked("update-index", "-z", flag, "--stdin", input=b"".join(os.fsencode(p) + b"\0" for p in again), reading=False)
        os.replace(lock, git.index_file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        raise
    return kept


def _lock(lock: Path, index: Path, wait: float = 2.0) -> None:
    """Take the index's lock as git does (create `<index>.lock`, exclusively), holding the index's
    bytes; a lock held by another git command is waited for a little, as it is usually brief."""
    deadline = time.monotonic() + wait
    while True:
        try:
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
            raise GitError(f"cannot lock the git index {index}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(index.read_bytes())  # read now that no git command may write it
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
    """GOINSTRUMENT_TEST_INDEX_PAUSE=WHERE:FILE pauses at WHERE (`read`: after the index was read,
    before it is locked for the update; `locked`: with the lock held) until FILE, which it creates,
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


def _index_path(repo: pygit2.Repository) -> Path:
    """GIT_INDEX_FILE as git sets it for hooks (relative to the current directory), else the repository's index."""
    named = os.environ.get("GIT_INDEX_FILE")
    if named:
        return Path(named).absolute()
    return Path(repo.path) / "index"


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


# --- the packages of the index ------------------------------------------------------------------


def _index_directories(repo: pygit2.Repository, top: Path, changes: _Changes, paths: Sequence[str]) -> dict[str, IndexDirectory]:
    """For each directory holding one of `paths`: its .go entries in the index, and the module
    of the nearest go.mod the index holds at or above it (or, above the working tree, on disk).
    The index is HEAD's tree with the staged changes: read without another look at the index."""
    head = _head_commit(repo)
    tree = head.tree if head is not None else None
    directories = sorted({posixpath.dirname(p) for p in paths})
    changed: dict[str, dict[str, tuple[pygit2.Oid | None, FileMode]]] = {d: {} for d in directories}
    for path, entry in changes.items():
        where, name = posixpath.split(path)
        if where in changed and name.endswith(".go"):
            changed[where][name] = entry
    modules: dict[str, str | None] = {}
    packages = {}
    for directory in directories:
        files = {name: entry for name, entry in _tree_entries(tree, directory).items() if name.endswith(".go")}
        files.update(changed[directory])
        listed = tuple(sorted((name, str(oid)) for name, (oid, mode) in files.items() if oid is not None and mode in _REGULAR_FILES))
        module = module_above(os.fspath(top))
        for ancestor in _ancestors(directory):
            if ancestor not in modules:
                modules[ancestor] = _module_in(repo, tree, changes, ancestor)
            declared = modules[ancestor]
            if declared is not None:
                module = (os.fspath(top / ancestor), declared)
                break
        place = os.fspath(top / directory) if directory else os.fspath(top)
        packages[directory] = IndexDirectory(repo.path, place, listed, module)
    return packages


def _tree_entries(tree: pygit2.Tree | None, directory: str) -> dict[str, tuple[pygit2.Oid | None, FileMode]]:
    if tree is None:
        return {}
    try:
        sub = tree[directory].peel(pygit2.Tree) if directory else tree
    except (KeyError, ValueError, pygit2.GitError):
        return {}
    return {entry.name: (entry.id, FileMode(entry.filemode)) for entry in sub if entry.name is not None}


def _module_in(repo: pygit2.Repository, tree: pygit2.Tree | None, changes: _Changes, directory: str) -> str | None:
    """The module path the index's `directory/go.mod` declares, or None (none there, or unreadable)."""
    path = posixpath.join(directory, "go.mod")
    oid, mode = changes.get(path) or _tree_entries(tree, directory).get("go.mod", (None, FileMode(0)))
    if oid is None or mode not in _REGULAR_FILES:
        return None
    return module_path(read_blob(repo.path, str(oid)))


def _ancestors(directory: str) -> Iterator[str]:
    """`a/b`, `a`, `` (the top): the directory and those above it, inside the working tree."""
    while directory:
        yield directory
        directory = posixpath.dirname(directory)
    yield ""


def _restaged_in(package: IndexDirectory, name: str, new_id: pygit2.Oid) -> IndexDirectory:
    files = tuple((n, str(new_id) if n == name else oid) for n, oid in package.files)
    return package._replace(files=files)


@functools.cache
def _repository(git_dir: str) -> pygit2.Repository:
    return pygit2.Repository(git_dir)


def blob_id(data: bytes) -> str:
    """The id git gives a blob of these bytes."""
    return str(pygit2.hash(data))


def read_blob(git_dir: str, oid: str) -> bytes:
    """A blob's bytes from the repository at `git_dir` (opened once a process)."""
    with _git_errors():
        return _repository(git_dir)[pygit2.Oid(hex=oid)].peel(pygit2.Blob).data


# --- attributes -----------------------------------------------------------------------------------


def _check_attr(repo: pygit2.Repository, path: str, attribute: str) -> str | None:
    """`git check-attr` of one path given as its bytes; None where it is unspecified (or git fails)."""
    proc = subprocess.run(
        ["git", "check-attr", "-z", attribute, "--", os.fsencode(path)], cwd=repo.workdir or repo.path, capture_output=True, check=False
    )
    fields = proc.stdout.split(b"\0")
    if proc.returncode != 0 or len(fields) < 3 or fields[2] in (b"unspecified", b"unset"):
        return None
    return fields[2].decode("utf-8", "replace")


def _filter(repo: pygit2.Repository, path: str) -> str | None:
    if not _filters_configured(repo):
        return None  # no filter.<name>.clean nor .process: whatever the attributes say, none applies
    try:
        name = repo.get_attr(path, "filter")
    except pygit2.GitError:
        return None
    except UnicodeEncodeError:  # a name that is not UTF-8, which pygit2 cannot pass on: git's own answer
        name = _check_attr(repo, path, "filter")
    if not isinstance(name, str) or not name:
        return None
    for command in ("clean", "process"):
        if _configured(repo, f"filter.{name}.{command}"):
            return name
    return None


def _filters_configured(repo: pygit2.Repository) -> bool:
    """Whether the repository's configuration (where _configured looks) has a `filter.` key at all:
    without one no file has a filter to apply, and the attributes need no look (the first loads
    the index: 10 ms of a hook's run in a repository of 11,000 files)."""
    try:
        return any(entry.name.lower().startswith("filter.") for entry in repo.config)
    except pygit2.GitError:
        return True


def repository_top(cwd: Path) -> Path:
    """The top of the git working tree holding `cwd`; outside a repository, `cwd` itself."""
    return Path(os.path.realpath(worktree_top_or_none(cwd) or cwd))
