"""Git queries, through pygit2: the .go files changed since a revision, the staged files, the index.

Nothing here instruments, reads the working tree's sources or reports; nothing runs the git command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pygit2
from pygit2.enums import DeltaStatus, FileMode

from goinstrument.result import GitError as GitError  # raised here, defined with the other values

_REGULAR_FILES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)
_INTENT_TO_ADD = 1 << 13  # GIT_INDEX_ENTRY_INTENT_TO_ADD: `git add -N`, nothing staged yet
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
    workdir = _workdir(repo)
    head = _head_commit(repo)
    base = None if head is None else _merge_base(repo, rev, head)
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
        hint = (
            "; this is a shallow clone: fetch the whole history (actions/checkout: fetch-depth: 0)"
            if repo.is_shallow
            else ""
        )
        raise GitError(f"{rev!r} and HEAD have no common ancestor (unrelated histories){hint}")
    return repo[base].peel(pygit2.Commit)


def _same_as_in(tree: pygit2.Tree, rel: str, full: Path) -> bool:
    try:
        entry = tree[rel]
    except KeyError:
        return False
    if entry.type_str != "blob":
        return False
    try:
        return pygit2.hashfile(os.fspath(full)) == entry.id
    except (OSError, pygit2.GitError):
        return False


# --- --staged ---------------------------------------------------------------------------------


class StagedFile(NamedTuple):
    path: str  # relative to the working tree, "/"-separated, as in the index
    id: pygit2.Oid
    mode: FileMode


class StagedIndex:
    """The index the pre-commit hook works on, and what it stages.

    The index is the one named by GIT_INDEX_FILE when git sets it (`git commit
    -a`, `git commit PATH`), else the repository's own. `stage` replaces an
    entry's blob (same mode); `write` writes the index once, and, where git is
    committing a temporary index, the locked real one too.
    """

    def __init__(self, start: Path):
        with _git_errors():
            self._repo = open_repository(start)
            self.top = _workdir(self._repo)
            self._index_path = _index_path(self._repo)
            self._index = _open_index(self._index_path)
        self._restaged: dict[str, tuple[pygit2.Oid, pygit2.Oid]] = {}

    def files(self) -> list[StagedFile]:
        """Index entries that differ from HEAD (all of them with no commits yet): regular files only."""
        with _git_errors():
            return list(_staged_files(self._repo, self._index))

    def blob(self, file: StagedFile) -> bytes:
        with _git_errors():
            return self._repo[file.id].peel(pygit2.Blob).data

    def stage(self, file: StagedFile, data: bytes) -> pygit2.Oid:
        """Put `data` in the index in place of the file's blob; the new blob's id."""
        with _git_errors():
            new_id = self._repo.create_blob(data)
            self._index.add(pygit2.IndexEntry(file.path, new_id, file.mode))
        self._restaged[file.path] = (file.id, new_id)
        return new_id

    def write(self) -> None:
        if not self._restaged:
            return
        with _git_errors():
            _write_index(self._index, self._index_path)
            _follow_in_real_index(self._index_path, self._restaged)


def _staged_files(repo: pygit2.Repository, index: pygit2.Index) -> Iterator[StagedFile]:
    """Index entries that differ from HEAD (all of them with no commits yet): regular files only."""
    head = _head_commit(repo)
    if head is None:
        paths = [entry.path for entry in index]
    else:
        deltas = head.tree.diff_to_index(index).deltas
        paths = [d.new_file.path for d in deltas if d.status not in (DeltaStatus.DELETED, DeltaStatus.CONFLICTED)]
    for path in paths:
        try:
            entry = index[path]
        except KeyError:  # only conflict stages
            continue
        if entry.mode in _REGULAR_FILES and not _intent_to_add(index, path):
            yield StagedFile(os.fspath(entry.path), entry.id, entry.mode)


def _intent_to_add(index: pygit2.Index, path: str) -> bool:
    """`git add -N` entries hold the empty blob and are not committed: nothing to instrument."""
    if index[path].id != _EMPTY_BLOB:
        return False
    try:  # pygit2's IndexEntry does not carry the flag: ask libgit2 through pygit2's own binding
        from pygit2.ffi import C, ffi

        centry = C.git_index_get_bypath(index._index, os.fsencode(path), 0)
        return centry != ffi.NULL and bool(centry.flags_extended & _INTENT_TO_ADD)
    except (ImportError, AttributeError):
        return True  # an empty staged blob: nothing to instrument either way


def _index_path(repo: pygit2.Repository) -> Path:
    """GIT_INDEX_FILE as git sets it for hooks (relative to the current directory), else the repository's index."""
    named = os.environ.get("GIT_INDEX_FILE")
    if named:
        return Path(named).absolute()
    return Path(repo.path) / "index"


def _open_index(path: Path) -> pygit2.Index:
    if not path.exists():
        return pygit2.Index(os.fspath(path))  # no index yet: nothing staged
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise GitError(f"cannot read the git index {path}: {exc.strerror or exc}") from None
    if magic != b"DIRC":  # pygit2 would fail with a misleading message, and noise from its destructor
        raise GitError(f"{path} is not a git index")
    try:
        return pygit2.Index(os.fspath(path))
    except pygit2.GitError as exc:
        raise GitError(f"cannot read the git index {path}: {exc}") from None


def _write_index(index: pygit2.Index, path: Path) -> None:
    try:
        index.write()
    except pygit2.GitError as exc:
        raise GitError(f"cannot write the git index {path}: {exc}") from None


def _follow_in_real_index(index_path: Path, restaged: dict[str, tuple[pygit2.Oid, pygit2.Oid]]) -> None:
    """`git commit PATH` commits a temporary index, then installs the locked real one as it was.

    Git runs the hook on `next-index-*.lock` while `index.lock` holds the real index
    to be installed after the commit; without the same change there, the files would
    show up as staged reversions of the commit just made.
    """
    if not (index_path.name.startswith("next-index-") and index_path.suffix == ".lock"):
        return
    real_path = index_path.parent / "index.lock"
    if not real_path.exists():
        return
    real = _open_index(real_path)
    changed = False
    for path, (old_id, new_id) in restaged.items():
        try:
            entry = real[path]
        except KeyError:
            continue
        if entry.id == old_id:
            real.add(pygit2.IndexEntry(path, new_id, entry.mode))
            changed = True
    if changed:
        _write_index(real, real_path)
