"""Git-aware runs: the .go files changed since a revision, and the staged (pre-commit hook) mode.

All git access goes through pygit2; nothing here runs the git command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, FileMode

from goinstrument.fileio import FileError, write_atomic
from goinstrument.result import Position, Problem, Result, Summary
from goinstrument.options import Output

Rewrite = Callable[[str, bytes], Result]
Skip = Callable[[Path], str | None]

_REGULAR_FILES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)
_INTENT_TO_ADD = 1 << 13  # GIT_INDEX_ENTRY_INTENT_TO_ADD: `git add -N`, nothing staged yet
_EMPTY_BLOB = pygit2.Oid(hex="e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")


class GitError(Exception):
    """A git problem the run cannot go on from (exit 2); str() is what went wrong.

    The command line prints it as `goinstrument: <str(error)>` on stderr.
    """


@contextlib.contextmanager
def _git_errors() -> Iterator[None]:
    """What libgit2 refuses (a corrupt index, an unreadable HEAD...) ends the run with its message."""
    try:
        yield
    except pygit2.GitError as exc:
        raise GitError(f"git: {exc}") from None


# --- the repository -------------------------------------------------------------------------


def open_repository(start: Path) -> pygit2.Repository:
    """The repository holding `start` (a directory or a file in it), with a working tree."""
    start = Path(start)
    where = start if start.is_dir() or not start.exists() else start.parent
    try:
        found = pygit2.discover_repository(os.fspath(where))
        repo = pygit2.Repository(found) if found else None
    except pygit2.GitError as exc:
        raise GitError(f"cannot open the git repository at {where}: {exc}") from None
    if repo is None:
        raise GitError(f"not a git repository (or any parent up to /): {where}")
    if repo.is_bare:
        raise GitError(f"{repo.path} is a bare repository: there is no working tree to instrument")
    return repo


def worktree_top(start: Path) -> Path:
    """The top of the working tree holding `start`: what repository-relative paths are relative to."""
    with _git_errors():
        return _workdir(open_repository(start))


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
    if base is not None and base.id != head.id:
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
    return repo[base]


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


# --- --staged -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Staged:
    path: str  # relative to the working tree, "/"-separated, as in the index
    id: pygit2.Oid
    mode: FileMode


def run_staged(start: Path, output: Output, rewrite: Rewrite, skip: Skip) -> Summary:
    """The pre-commit hook: instrument each staged .go file in the index and in the working tree.

    The staged blob is rewritten and stored in the index as a new blob with the same
    mode; the working-tree file is rewritten on its own, so the unstaged hunks of a
    partially staged file stay out of the index and stay in the working tree. The index
    is the one named by GIT_INDEX_FILE when git sets it (`git commit -a`, `git commit
    PATH`). `skip` is asked about each path relative to the top of the working tree, so
    that directories above the repository never count. A file with a problem keeps its
    index entry and its working-tree file. Only Output.WRITE writes anything; Output.CHECK
    and Output.DIFF report on the staged content.
    """
    with _git_errors():
        return _run_staged(start, output, rewrite, skip)


def _run_staged(start: Path, output: Output, rewrite: Rewrite, skip: Skip) -> Summary:
    repo = open_repository(start)
    workdir = _workdir(repo)
    index_path = _index_path(repo)
    index = _open_index(index_path)
    summary = Summary()
    restaged: dict[str, tuple[pygit2.Oid, pygit2.Oid]] = {}
    for staged in _staged_files(repo, index):
        full = workdir / staged.path
        if not staged.path.endswith(".go") or skip(Path(staged.path)) is not None:
            continue
        new_id = _instrument_staged(repo, staged, full, output, rewrite, summary)
        if new_id is not None:
            index.add(pygit2.IndexEntry(staged.path, new_id, staged.mode))
            restaged[staged.path] = (staged.id, new_id)
    if restaged:
        _write_index(index, index_path)
        _follow_in_real_index(repo, index_path, restaged)
    return summary


def _instrument_staged(
    repo: pygit2.Repository, staged: _Staged, full: Path, output: Output, rewrite: Rewrite, summary: Summary
) -> pygit2.Oid | None:
    """Rewrite one staged file; the new blob's id when the index entry is to change."""
    display = _display(full)
    source = repo[staged.id].data
    result = _rewrite(rewrite, display, source)
    summary.files_seen += 1
    if result.problem is not None:
        summary.problems.append(result.problem)
        return None
    summary.findings.extend(result.findings)
    if output is not Output.WRITE:
        _count(summary, result)
        return None
    worktree = _read_worktree(full)
    if worktree is not None:
        worktree_result = result if worktree == source else _rewrite(rewrite, display, worktree)
        if worktree_result.problem is not None:
            summary.problems.append(worktree_result.problem)
            return None
        if worktree_result.changed:
            try:
                write_atomic(full, worktree, worktree_result.output)
            except FileError as exc:
                summary.problems.append(Problem(display, Position(1, 1), str(exc)))
                return None
        if not result.changed:
            _count(summary, worktree_result)
            return None
    _count(summary, result)
    return repo.create_blob(result.output) if result.changed else None


def _count(summary: Summary, result: Result) -> None:
    if result.changed:
        summary.files_changed += 1
        summary.spans_added += result.spans_added


def _rewrite(rewrite: Rewrite, display: str, source: bytes) -> Result:
    """The core promises never to raise; should it, the file is reported and left alone."""
    try:
        return rewrite(display, source)
    except Exception as exc:  # noqa: BLE001 - one file's failure never stops the batch
        return Result(source, source, problem=Problem(display, Position(1, 1), f"internal error: {exc!r}; left untouched"))


def _read_worktree(full: Path) -> bytes | None:
    """The working-tree bytes, or None when the file is gone (staged, then deleted) or is
    now a symbolic link: the hook never writes through a link to wherever it points."""
    if full.is_symlink():
        return None
    try:
        return full.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _display(full: Path) -> str:
    """The path as messages show it: relative to the current directory when below it."""
    try:
        return os.fspath(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return os.fspath(full)


def _staged_files(repo: pygit2.Repository, index: pygit2.Index) -> Iterator[_Staged]:
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
            yield _Staged(entry.path, entry.id, entry.mode)


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


def _follow_in_real_index(repo: pygit2.Repository, index_path: Path, restaged: dict) -> None:
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
