"""`--staged`: instrument the staged blob into the index and the working-tree file on its own.

run_staged is called as the command line calls it, in real repositories made with the git command;
what it did is read back with git (`git show :path`, `git diff`, `git ls-files -s`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import test_writer
from conftest import run_cli
from gitrepo import GO_FUNC, GitRepo, git_env

from goinstrument.driver import batch
from goinstrument.driver import git as gitops
from goinstrument.driver import run as run_module
from goinstrument.driver.git import GitError, StagedIndex, _Objects
from goinstrument.driver.run import run_staged
from goinstrument.engine.options import RewriteOptions
from goinstrument.options import Output, RunOptions, Staged
from goinstrument.report.summary import Summary

SPAN = 'otel.Tracer("example.com/shop").Start(ctx, "F")'
G_FUNC = "\nfunc G(ctx context.Context) (int, error) { return 0, nil }\n"
PLAIN_CODES_IMPORT = '\t"go.opentelemetry.io/otel/codes"\n'
BROKEN = 'package shop\n\nimport "context"\n\nfunc H(ctx context.Context) error { return nil\n'


def staged(repo: GitRepo, settings: RewriteOptions = RewriteOptions(), start: Path | None = None, output: Output = Output.WRITE) -> Summary:
    """One hook run, exactly as the command line wires it (without the cache), from `start`."""
    with contextlib.chdir(start or repo.root):
        return run_staged(settings, RunOptions(output=output, source=Staged(), use_cache=False))


@pytest.fixture
def repo(tmp_path, monkeypatch) -> GitRepo:
    """A module with one committed file that has no span yet; the hook runs from the top."""
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    monkeypatch.chdir(repo.root)
    return repo


def test_a_staged_file_is_instrumented_in_the_index_and_the_working_tree(repo):
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    summary = staged(repo)
    assert SPAN in repo.staged("orders.go")
    assert repo.read("orders.go") == repo.staged("orders.go")
    assert repo.unstaged_diff() == ""
    assert (summary.files_seen, summary.files_changed, summary.spans_added, summary.problems) == (1, 1, 1, [])


def _recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """("start" or "end", the git command) of each git process as it is started, and as it is read
    to its end (communicate); ("engine", "") as the run starts working the files out, ("work",
    path) as it starts on each (in this process: a batch too small to fork), ("engine", "done")."""
    events: list[tuple[str, str]] = []

    class Recorded(subprocess.Popen[bytes]):
        def __init__(self, args: list[str], *rest: Any, **options: Any) -> None:
            super().__init__(args, *rest, **options)
            self.name = args[1]
            events.append(("start", self.name))

        def communicate(self, *rest: Any, **options: Any) -> tuple[Any, Any]:
            said = super().communicate(*rest, **options)
            events.append(("end", self.name))
            return said

    def run_all(*args: Any, **options: Any) -> Any:
        events.append(("engine", ""))
        results = batch.run_all(*args, **options)
        events.append(("engine", "done"))
        return results

    def work(item: Any, *args: Any, **options: Any) -> Any:
        events.append(("work", run_module._copy(item).path))
        return process_work(item, *args, **options)

    process_work = run_module._process_work
    monkeypatch.setattr(subprocess, "Popen", Recorded)
    monkeypatch.setattr(run_module, "batch", SimpleNamespace(run_all=run_all))
    monkeypatch.setattr(run_module, "_process_work", work)
    return events


def _ours_left(repo: GitRepo) -> list[str]:
    """What of ours (a copy of the index, a blob file) or a lock is left in .git."""
    return [p.name for p in (repo.root / ".git").iterdir() if "lock" in p.name or "goinstrument" in p.name]


def _finishing_asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `finishing` weight each run_all of the run is given, as it is called."""
    asked: list[int] = []

    def run_all(*args: Any, **options: Any) -> Any:
        asked.append(args[7])
        return batch.run_all(*args, **options)

    monkeypatch.setattr(run_module, "batch", SimpleNamespace(run_all=run_all))
    return asked


def test_the_index_and_the_configuration_are_asked_while_git_finds_the_repository(repo, monkeypatch):
    """`git diff-index` and `git config` run beside `git rev-parse` (git finds the same repository
    from the same directory), and the `git cat-file` that reads the blobs and trees is started
    then too: the run's only one."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    events = _recorded(monkeypatch)
    staged(repo)
    monkeypatch.undo()
    assert SPAN in repo.staged("orders.go")
    found = events.index(("end", "rev-parse"))
    assert {("start", "diff-index"), ("start", "config"), ("start", "cat-file")} <= set(events[:found])
    assert events.count(("start", "cat-file")) == 1
    # what the run waits for first: diff-index (the longest) and rev-parse, started before the others
    assert [name for event, name in events if event == "start"][:2] == ["diff-index", "rev-parse"]
    assert events.count(("start", "rev-parse")) == 1


def test_the_index_s_update_is_readied_beside_the_work_once_a_file_changes(repo, monkeypatch):
    """As the first outcome that changes its file arrives, `git ls-files` (the entries `write`
    updates), `git update-index` (on a copy of the index, waiting for them) and `git hash-object`
    (waiting for the blobs) start, beside the rest of the work: once it is done, no git command is
    left to start; the cat-file, asked nothing more, ends beside the update (it is not waited for
    first)."""
    repo.write("orders.go", GO_FUNC)
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("orders.go", "shop.go")
    events = _recorded(monkeypatch)
    staged(repo)
    monkeypatch.undo()
    assert SPAN in repo.staged("orders.go") and 'Start(ctx, "G")' in repo.staged("shop.go")
    started = [events.index(("start", name)) for name in ("ls-files", "update-index", "hash-object")]
    assert events.index(("work", "orders.go")) < min(started) and max(started) < events.index(("work", "shop.go"))
    assert [name for event, name in events[events.index(("engine", "done")) :] if event == "start"] == []
    assert events.index(("end", "cat-file")) > events.index(("end", "update-index"))
    assert repo.unstaged_diff() == ""
    assert _ours_left(repo) == []


def test_a_package_s_entries_are_gone_through_once_a_directory_not_once_a_staged_file(repo, monkeypatch):
    """A commit of 400 files of a 4,400-file package took seconds: each file staged copied the
    package's entries, and each stamp hashed them all again (quadratic). Now once a directory."""
    import _blake2

    names = [f"f{n}.go" for n in range(12)]
    for n, name in enumerate(names):
        repo.write(name, GO_FUNC.replace("func F(", f"func F{n}("))
    repo.add(*names)
    rebuilt: list[int] = []
    hashed: list[int] = []
    real_restaged, real_blake2b = gitops._restaged_in, _blake2.blake2b

    def restaged(package: Any, staged: dict[str, str]) -> Any:
        rebuilt.append(len(staged))
        return real_restaged(package, staged)

    def blake2b(data: bytes, **options: Any) -> Any:
        hashed.append(len(data))
        return real_blake2b(data, **options)

    monkeypatch.setattr(gitops, "_restaged_in", restaged)
    monkeypatch.setattr(_blake2, "blake2b", blake2b)
    with contextlib.chdir(repo.root):
        run_staged(RewriteOptions(), RunOptions(source=Staged()))  # with the cache: its stamps
    monkeypatch.undo()
    assert all(f'Start(ctx, "F{n}")' in repo.staged(name) for n, name in enumerate(names))
    assert rebuilt == [len(names)]
    assert len(hashed) == 2  # the package as staged, then as the run restaged it


def test_a_directory_of_the_index_is_hashed_without_going_through_its_entries():
    """It keys the package's facts (lru_caches, asked per file and per question): a hash over its
    entries at each use was the rest of the quadratic cost of a commit of a huge package's files."""
    from goinstrument.engine.result import IndexDirectory

    class Entry(tuple[str, str]):
        hashed = 0

        def __hash__(self) -> int:
            Entry.hashed += 1
            return tuple.__hash__(self)

    files = tuple(Entry((f"f{n}.go", f"{n:040x}")) for n in range(1000))
    package = IndexDirectory("/repo/.git", "/repo/big", files, None)
    restaged = package._replace(files=(*files[:-1], Entry(("f999.go", "0" * 40))))
    facts = {package: 1, restaged: 2}
    assert facts[package] == 1 and facts[restaged] == 2 and package != restaged
    assert Entry.hashed == 0


@pytest.mark.parametrize("output", [Output.WRITE, Output.CHECK])
def test_a_forked_batch_deals_the_run_s_process_less_where_it_readies_the_index(repo, monkeypatch, output):
    """The index readied amid the run's share (~10 ms) counts as READYING_BYTES of its work: the
    child takes more (before, it idled 10-30 ms at the end of a 5-file commit)."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    asked = _finishing_asked(monkeypatch)
    staged(repo, output=output)
    assert asked == [run_module.READYING_BYTES if output is Output.WRITE else 0]


def test_a_run_with_no_blob_to_stage_again_is_dealt_its_full_share(repo, monkeypatch):
    """Every staged blob known clean by the cache (only a working-tree copy to work out): nothing
    is readied, so nothing is counted for it."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    with contextlib.chdir(repo.root):
        run_staged(RewriteOptions(), RunOptions(source=Staged()))  # the cache knows the staged blob now
    repo.write("orders.go", repo.read("orders.go") + G_FUNC)  # and the working tree changed beyond it
    asked = _finishing_asked(monkeypatch)
    with contextlib.chdir(repo.root):
        run_staged(RewriteOptions(), RunOptions(source=Staged()))
    monkeypatch.undo()
    assert asked == [0]
    assert 'Start(ctx, "G")' in repo.read("orders.go")


@pytest.mark.parametrize("output", [Output.CHECK, Output.DIFF])
def test_a_run_that_stages_nothing_starts_no_git_command_to_stage(repo, monkeypatch, output):
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    events = _recorded(monkeypatch)
    staged(repo, output=output)
    monkeypatch.undo()
    assert sorted(name for event, name in events if event == "start") == ["cat-file", "config", "diff-index", "rev-parse"]
    assert repo.staged("orders.go") == GO_FUNC


def test_a_run_stopped_while_the_files_are_worked_out_ends_the_git_commands_it_started(repo, monkeypatch):
    """An interrupt (or a bug of ours) in the engine: the git commands started for the index's
    update (one waits on its input) are ended and waited for, and nothing is staged."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")

    def stopped(*args: Any, **options: Any) -> Any:
        assert _children() - before, "no git command started yet"
        raise KeyboardInterrupt

    before = _children()
    monkeypatch.setattr(run_module, "batch", SimpleNamespace(run_all=stopped))
    with pytest.raises(KeyboardInterrupt):
        staged(repo)
    assert _children() <= before
    assert repo.staged("orders.go") == GO_FUNC and repo.read("orders.go") == GO_FUNC
    assert _ours_left(repo) == []


@pytest.mark.parametrize("where", ["copying", "starting"])
def test_an_interrupt_as_the_index_copy_is_made_leaves_no_copy(repo, monkeypatch, where):
    """Ctrl-C while the copy of the index is written, or while its git update-index starts (a
    new user's 300 interrupted commits left copies behind): the copy goes, nothing is staged."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")

    def interrupted(*args: Any, **options: Any) -> Any:
        raise KeyboardInterrupt

    if where == "copying":
        monkeypatch.setattr(gitops, "_copy_bytes", interrupted)
    else:
        start = gitops._Git.start
        monkeypatch.setattr(gitops._Git, "start", lambda self, *args, **kw: interrupted() if args[0] == "update-index" else start(self, *args, **kw))
    before = _children()
    with pytest.raises(KeyboardInterrupt):
        staged(repo)
    assert _children() <= before
    assert repo.staged("orders.go") == GO_FUNC and repo.read("orders.go") == GO_FUNC
    assert _ours_left(repo) == []


@pytest.mark.parametrize("link", [True, False], ids=["linked", "copied"])
def test_a_ctrl_c_just_as_the_index_lock_is_taken_leaves_no_lock(repo, monkeypatch, link):
    """A real SIGINT landing as the lock is made (the hard link to the updated copy, or the lock
    file created for the bytes' copy): the lock goes, the index stays as it was (a lock left
    behind fails every git command after it)."""
    import signal

    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    real_link, real_open = os.link, os.open

    def linked_then_interrupted(source: Any, target: Any, *args: Any, **kw: Any) -> None:
        if not link:
            raise OSError("no hard links here")
        real_link(source, target, *args, **kw)
        os.kill(os.getpid(), signal.SIGINT)

    def opened_then_interrupted(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        fd = real_open(path, flags, *args, **kw)
        if str(path).endswith("index.lock"):
            os.kill(os.getpid(), signal.SIGINT)
        return fd

    monkeypatch.setattr(os, "link", linked_then_interrupted)
    monkeypatch.setattr(os, "open", opened_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        staged(repo)
    monkeypatch.undo()
    assert _ours_left(repo) == []
    assert repo.staged("orders.go") == GO_FUNC


def test_an_interrupt_as_a_blob_file_is_created_leaves_no_file(repo, monkeypatch):
    """Ctrl-C just as a blob's file for git hash-object is created (an empty one was left): it goes."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")

    def created_then_interrupted(path: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if str(path).endswith(".blob"):
            Path(path).touch()
            raise KeyboardInterrupt
        return open(path, mode, *args, **kw)

    monkeypatch.setattr(gitops, "open", created_then_interrupted, raising=False)
    with pytest.raises(KeyboardInterrupt):
        staged(repo)
    monkeypatch.undo()
    assert _ours_left(repo) == []
    assert repo.staged("orders.go") == GO_FUNC


def test_a_run_that_finds_nothing_to_stage_starts_nothing_for_the_update(repo, monkeypatch):
    """The staged file is instrumented already: no git command is started for the index's update
    (the read, the copy of the index and its update-index, hash-object); the index is not written."""
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    staged(repo)
    index = repo.root / ".git" / "index"
    written = index.stat().st_ino, index.stat().st_mtime_ns
    events = _recorded(monkeypatch)
    before = _children()
    summary = staged(repo)
    monkeypatch.undo()
    assert summary.files_changed == 0 and ("work", "orders.go") in events
    assert {name for event, name in events if event == "start"} == {"cat-file", "config", "diff-index"}  # rev-parse: known
    assert _children() <= before
    assert (index.stat().st_ino, index.stat().st_mtime_ns) == written
    assert _ours_left(repo) == []


def test_without_hard_links_the_lock_holds_a_copy_of_the_updated_index(repo, monkeypatch, request):
    """The updated copy of the index is made the lock by a hard link; a file system without them
    (os.link refused) gets its bytes copied into the lock instead, with the mode git gave the
    copy (core.sharedRepository: group-writable whatever the umask). Without sendfile, the
    index is copied by reading and writing it."""
    umask = os.umask(0o022)
    request.addfinalizer(lambda: os.umask(umask))
    repo.git("config", "core.sharedRepository", "group")
    repo.write("orders.go", GO_FUNC)
    repo.git("update-index", "--add", "--chmod=+x", "orders.go")
    repo.git("update-index", "--assume-unchanged", "orders.go")
    mode = (repo.root / ".git" / "index").stat().st_mode & 0o777
    assert mode & 0o060 == 0o060

    def refused(*args: Any, **options: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refused)
    monkeypatch.setattr(os, "sendfile", refused)  # nor a copy in the kernel (macOS's is for sockets only)
    events = _recorded(monkeypatch)
    staged(repo)
    monkeypatch.undo()
    assert events.index(("start", "update-index")) < events.index(("engine", "done"))  # the copy's: it served
    assert SPAN in repo.staged("orders.go") and repo.staged_mode("orders.go") == "100755"
    assert repo.git("ls-files", "-v", "orders.go") == "h orders.go\n"  # its flag set again
    assert (repo.root / ".git" / "index").stat().st_mode & 0o777 == mode
    assert _ours_left(repo) == []
    repo.git("fsck", "--strict")


def _asked(monkeypatch: pytest.MonkeyPatch) -> list[list[bytes]]:
    """The names of each cat-file request, as they are asked."""
    asked: list[list[bytes]] = []
    read = _Objects.read

    def counted(self: _Objects, names: Sequence[bytes]) -> list[tuple[bytes, bytes, bytes] | None]:
        asked.append(list(names))
        return read(self, names)

    monkeypatch.setattr(_Objects, "read", counted)
    return asked


def _packages_repo(repo: GitRepo) -> None:
    """Three packages staged, below the top's module and another's (a/e); a/e/e.go partly staged."""
    paths = ["a/b/c/c.go", "a/b/d/d.go", "a/e/e.go"]
    for path in paths:
        repo.write(path, GO_FUNC)
    repo.write("a/e/go.mod", "module example.com/e\n")
    repo.commit_all("packages")
    for path in paths:
        repo.write(path, GO_FUNC + G_FUNC + f"// {path}\n")
    repo.add(*paths)
    repo.write("a/e/e.go", GO_FUNC)  # its blob is not the working tree's


_DIRECTORIES = ["", "a", "a/b", "a/e", "a/b/c", "a/b/d"]  # _packages_repo's, the upper ones first


def test_the_index_s_trees_are_asked_as_cat_file_starts_and_the_blobs_in_one_request(repo, monkeypatch):
    """HEAD's tree, every tree below it holding a staged file and every go.mod in them are asked
    of cat-file as it starts (by their paths in HEAD), read when the packages are; the staged
    blobs the working tree does not hold, in one request."""
    _packages_repo(repo)
    index = StagedIndex(repo.root)
    named = [f"HEAD:{d}" for d in _DIRECTORIES[1:]] + [f"HEAD:{d}{'/' if d else ''}go.mod" for d in _DIRECTORIES]
    assert gitops._objects is not None and gitops._objects.asked[0] == b"HEAD^{tree}"
    assert sorted(gitops._objects.asked[1:]) == sorted(name.encode() for name in named)
    asked = _asked(monkeypatch)
    assert index.blobs(index.files()) == [(GO_FUNC + G_FUNC + f"// {f.path}\n").encode() for f in index.files()]
    packages = {file.path: index.package(file) for file in index.files()}
    assert asked[0] == [repo.git("rev-parse", ":a/e/e.go").strip().encode(), b"HEAD^{tree}"]
    assert len(asked) == 2 and sorted(asked[1]) == sorted(name.encode() for name in named)
    assert gitops._objects.asked == [] and gitops._objects.ahead == {}  # every answer asked ahead taken
    assert packages["a/b/d/d.go"].files == (("d.go", repo.git("rev-parse", ":a/b/d/d.go").strip()),)
    assert packages["a/b/c/c.go"].module == packages["a/b/d/d.go"].module == (str(repo.root), "example.com/shop")
    assert packages["a/e/e.go"].module == (str(repo.root / "a" / "e"), "example.com/e")
    index.close()


def test_trees_asked_ahead_of_another_head_are_read_again_from_its_tree(repo, monkeypatch):
    """Where HEAD moved between HEAD's tree and the trees below it (as cat-file read them ahead),
    those are read again in one request, named by their paths in that tree."""
    _packages_repo(repo)
    index = StagedIndex(repo.root)
    objects = gitops._objects
    assert objects is not None
    objects.read([])  # the answers asked ahead: HEAD's trees of now
    other = dict(git_env(), GIT_INDEX_FILE=str(repo.root / ".git" / "other-index"))  # a commit beside the index
    repo.git("read-tree", "HEAD", env=other)
    more = repo.git("hash-object", "-w", "--stdin", input=b"package c\n").strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{more},a/b/c/more.go", env=other)
    commit = repo.git("commit-tree", "-p", "HEAD", "-m", "more", repo.git("write-tree", env=other).strip()).strip()
    repo.git("update-ref", "HEAD", commit)
    objects.ahead.pop(b"HEAD^{tree}")
    objects.ahead[b"HEAD^{tree}"] = objects.read([b"HEAD^{tree}"])[0]  # the new HEAD's tree, with the old's below
    asked = _asked(monkeypatch)
    index.blobs(index.files())
    package = index.package(gitops.StagedFile("a/b/c/c.go", "", 0))
    root = repo.git("rev-parse", "HEAD^{tree}").strip()
    named = [f"{root}:{d}" for d in _DIRECTORIES[1:]] + [f"{root}:{d}{'/' if d else ''}go.mod" for d in _DIRECTORIES]
    assert sorted(asked[-1]) == sorted(name.encode() for name in named)
    assert [name for name, _ in package.files] == ["c.go", "more.go"]
    index.close()


def test_a_staged_blob_is_read_from_the_working_tree_only_where_it_holds_its_bytes(repo, monkeypatch):
    """Right after `git add`, the working-tree file holds the blob: read there, without cat-file. A
    file with a clean filter holds what the filter is given, not the blob (its output): cat-file's."""
    repo.write(".gitattributes", "up.go filter=up\n")
    repo.git("config", "filter.up.clean", "sed s/shop/SHOP/")
    repo.git("config", "filter.up.smudge", "sed s/SHOP/shop/")
    repo.write("orders.go", GO_FUNC)
    repo.write("up.go", GO_FUNC)
    repo.add("orders.go", "up.go")
    index = StagedIndex(repo.root)
    files = {file.path: file for file in index.files()}
    asked = _asked(monkeypatch)
    try:
        assert index.blobs([files["up.go"]]) == [GO_FUNC.replace("shop", "SHOP").encode()]  # its id tells, filter or not
        assert asked == [[files["up.go"].id.encode(), b"HEAD^{tree}"]]
        asked.clear()
        assert index.filter(files["up.go"]) == "up"
        assert index.blobs([files["orders.go"], files["up.go"]]) == [GO_FUNC.encode(), GO_FUNC.replace("shop", "SHOP").encode()]
        assert asked == [[files["up.go"].id.encode(), b"HEAD^{tree}"]]
        asked.clear()
        assert index.blobs([files["orders.go"]]) == [GO_FUNC.encode()]
        assert asked == [[b"HEAD^{tree}"]]
    finally:
        index.close()


def test_a_directory_whose_name_holds_a_newline_has_its_trees_read_a_level_at_a_time(repo, monkeypatch):
    """cat-file reads one name a line: a path with a newline cannot be named, its tree is found
    from its parent's entries."""
    repo.write("a/x\ny/sib.go", "package p\n\nvar codes = 1\n")
    repo.write("a/x\ny/p.go", GO_FUNC.replace("package shop", "package p"))
    repo.commit_all("odd")
    repo.path("a/x\ny/sib.go").unlink()  # read from its blob
    repo.write("a/x\ny/p.go", GO_FUNC.replace("package shop", "package p") + G_FUNC)
    repo.add("a/x\ny/p.go")
    asked = _asked(monkeypatch)
    staged(repo)
    monkeypatch.undo()
    assert [len(names) for names in asked[:3]] == [1, 1, 1]  # HEAD^{tree} (the blob: the working tree's); a; a/x\ny
    shown = repo.staged("a/x\ny/p.go")
    assert 'Start(ctx, "G")' in shown and PLAIN_CODES_IMPORT not in shown  # the sibling's `codes` seen: imported as another name


def test_a_hook_run_of_a_few_files_hashes_without_loading_openssl(repo):
    """OpenSSL's hashes cost 3 to 4 ms to load, in each process: the few blobs a hook hashes (the
    working-tree copies compared with their blobs, the blobs it stages) take Python's own."""
    for n in range(3):
        repo.write(f"f{n}.go", GO_FUNC.replace("func F", f"func F{n}"))
    repo.add("f0.go", "f1.go", "f2.go")
    proc = repo.goinstrument_process("--staged", env=git_env(PYTHONPROFILEIMPORTTIME="1"))
    assert proc.returncode == 0 and "3 of 3 files changed" in proc.stderr, proc.stderr
    assert "| goinstrument.driver.git" in proc.stderr  # the probe sees the run's imports
    assert [line for line in proc.stderr.splitlines() if line.endswith(("| _hashlib", "| hashlib"))] == []
    repo.git("fsck", "--strict")  # the ids staged are the blobs'
    assert SPAN.replace('"F"', '"F1"') in repo.staged("f1.go") and repo.read("f1.go") == repo.staged("f1.go")


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_blob_ids_are_git_s_whichever_hash_makes_them(tmp_path, monkeypatch, object_format):
    """Python's own hashes for a process's first bytes, OpenSSL's past them: the same ids."""
    repo = GitRepo(tmp_path)
    repo.git("init", "-q", f"--object-format={object_format}")
    monkeypatch.setattr(gitops, "_hashed", 0)
    for data in (b"", b"package p\n", os.urandom(300_000), b"package q\n"):  # the third goes past Python's own
        repo.path("f").write_bytes(data)
        own = gitops._own_hash(object_format, b"blob %d\0" % len(data))
        own.update(data)
        assert own.hexdigest() == gitops.blob_id(data, object_format) == repo.git("hash-object", "f").strip()


def test_files_not_staged_are_left_alone(repo):
    repo.write("shop.go", GO_FUNC + G_FUNC)  # modified, not staged
    repo.write("new.go", GO_FUNC)  # untracked
    summary = staged(repo)
    assert repo.read("shop.go") == GO_FUNC + G_FUNC
    assert repo.read("new.go") == GO_FUNC
    assert repo.status() == " M shop.go\n?? new.go\n"
    assert summary.files_seen == 0


def test_a_partially_staged_file_keeps_its_unstaged_hunk_unstaged(repo):
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("shop.go")
    repo.write("shop.go", GO_FUNC + G_FUNC + "\n// work in progress, not for this commit\n")
    staged(repo)
    index = repo.staged("shop.go")
    assert SPAN in index and "work in progress" not in index
    work = repo.read("shop.go")
    assert SPAN in work and work.endswith("\n// work in progress, not for this commit\n")
    unstaged = repo.unstaged_diff("shop.go")
    added = [line for line in unstaged.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert added == ["+", "+// work in progress, not for this commit"]


def test_the_file_mode_is_kept(repo):
    repo.write("tool.go", GO_FUNC)
    os.chmod(repo.path("tool.go"), 0o755)
    repo.add("tool.go")
    staged(repo)
    assert repo.staged_mode("tool.go") == "100755"
    assert SPAN in repo.staged("tool.go")
    assert os.stat(repo.path("tool.go")).st_mode & 0o777 == 0o755


def test_a_staged_file_deleted_from_the_working_tree_is_instrumented_in_the_index_only(repo):
    repo.write("gone.go", GO_FUNC)
    repo.add("gone.go")
    repo.path("gone.go").unlink()
    staged(repo)
    assert SPAN in repo.staged("gone.go")
    assert not repo.path("gone.go").exists()


def test_a_staged_rename_is_instrumented_under_its_new_name(repo):
    repo.git("mv", "shop.go", "store.go")
    staged(repo)
    assert SPAN in repo.staged("store.go")
    assert SPAN in repo.read("store.go")


def test_staged_deletions_stay_deleted(repo):
    repo.git("rm", "-q", "shop.go")
    summary = staged(repo)
    assert repo.status() == "D  shop.go\n"
    assert summary.files_seen == 0


def test_skipped_paths_are_not_touched(repo):
    files = {"shop_test.go": GO_FUNC, "vendor/v/v.go": GO_FUNC, "testdata/t.go": GO_FUNC, "_hidden.go": GO_FUNC}
    for rel, text in files.items():
        repo.write(rel, text)
        repo.git("add", "-f", rel)
    summary = staged(repo)
    for rel, text in files.items():
        assert repo.staged(rel) == text
        assert repo.read(rel) == text
    assert summary.files_seen == 0


def test_tests_are_instrumented_when_asked(repo):
    repo.write("shop_test.go", GO_FUNC)
    repo.add("shop_test.go")
    staged(repo, RewriteOptions(include_tests=True))
    assert SPAN in repo.staged("shop_test.go")


def test_intent_to_add_files_are_not_staged_content(repo):
    repo.write("later.go", GO_FUNC)
    repo.git("add", "-N", "later.go")
    summary = staged(repo)
    assert summary.problems == []
    assert repo.read("later.go") == GO_FUNC
    assert repo.staged("later.go") == ""


def test_a_staged_symlink_is_not_followed_into(repo):
    os.symlink("shop.go", repo.path("link.go"))
    repo.add("link.go")
    staged(repo)
    assert repo.staged_mode("link.go") == "120000"
    assert repo.read("shop.go") == GO_FUNC


def test_a_second_run_changes_nothing(repo):
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    staged(repo)
    index, work = repo.staged("orders.go"), repo.read("orders.go")
    summary = staged(repo)
    assert (repo.staged("orders.go"), repo.read("orders.go")) == (index, work)
    assert (summary.files_seen, summary.files_changed) == (1, 0)


def test_from_a_subdirectory_the_whole_index_is_seen(repo, monkeypatch):
    repo.write("pkg/a.go", GO_FUNC)
    repo.write("b.go", GO_FUNC)
    repo.add("pkg/a.go", "b.go")
    monkeypatch.chdir(repo.path("pkg"))
    staged(repo, start=repo.path("pkg"))
    assert 'Start(ctx, "F")' in repo.staged("pkg/a.go")
    assert SPAN in repo.staged("b.go")


def test_directories_above_the_repository_do_not_count_as_skipped_paths(tmp_path):
    """Skip rules (vendor/, testdata/, names starting with . or _) apply inside the repository, from any directory."""
    repo = GitRepo.go_module(tmp_path / ".config" / "_work" / "repo", {"shop.go": GO_FUNC})
    repo.write("top.go", GO_FUNC)
    repo.write("pkg/below.go", GO_FUNC)
    repo.add("top.go", "pkg/below.go")
    proc = GitRepo(repo.path("pkg")).goinstrument("--staged")
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.staged("top.go")
    assert 'Start(ctx, "F")' in repo.staged("pkg/below.go")


# --- problems: that file left untouched, the others done -----------------------------------------


def test_a_staged_file_that_does_not_parse_is_left_untouched(repo):
    repo.write("broken.go", BROKEN)
    repo.write("orders.go", GO_FUNC)
    repo.add("broken.go", "orders.go")
    summary = staged(repo)
    assert repo.staged("broken.go") == BROKEN
    assert repo.read("broken.go") == BROKEN
    assert SPAN in repo.staged("orders.go")
    assert [p.path for p in summary.problems] == ["broken.go"]


def test_a_working_tree_copy_that_does_not_parse_is_a_warning_and_the_staged_content_is_instrumented(repo):
    """What is committed decides: the staged content is fine, the unstaged edit is broken. The
    blob is instrumented and staged, the working-tree file is left as it is, and the run warns."""
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("shop.go")
    repo.write("shop.go", GO_FUNC + G_FUNC + "\nfunc Broken( {\n")
    summary = staged(repo)
    assert SPAN in repo.staged("shop.go")
    assert repo.read("shop.go") == GO_FUNC + G_FUNC + "\nfunc Broken( {\n"
    assert summary.problems == []
    assert [w.path for w in summary.warnings] == ["shop.go"]
    assert "the working-tree copy" in summary.warnings[0].message


def test_the_hook_commits_past_a_working_tree_copy_that_does_not_parse(repo):
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("shop.go")
    repo.write("shop.go", GO_FUNC + G_FUNC + "\nfunc Broken( {\n")
    proc = run_cli("--staged", cwd=repo.root, check=0)
    assert "shop.go:9:14: warning: the working-tree copy: syntax error: expected ')', found '{'" in proc.stderr  # as gofmt says
    assert "(the staged content is instrumented)" in proc.stderr


# --- which index: GIT_INDEX_FILE, no commits yet --------------------------------------------------


def test_git_index_file_names_the_index_to_work_on(repo, tmp_path, monkeypatch):
    other = tmp_path / "other-index"
    env = {**git_env(), "GIT_INDEX_FILE": str(other)}
    repo.git("read-tree", "HEAD", env=env)
    repo.write("orders.go", GO_FUNC)
    repo.git("add", "orders.go", env=env)
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    staged(repo)
    assert SPAN in repo.git("show", ":orders.go", env=env)
    assert repo.status() == "?? orders.go\n"  # the repository's own index never heard of it
    assert SPAN in repo.read("orders.go")


def test_a_relative_git_index_file_is_relative_to_the_current_directory(repo, monkeypatch):
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    monkeypatch.setenv("GIT_INDEX_FILE", ".git/index")  # what git sets for a plain `git commit`
    staged(repo)
    assert SPAN in repo.staged("orders.go")


def test_a_repository_with_no_commits(tmp_path, monkeypatch):
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    repo = GitRepo.init(tmp_path / "fresh")
    repo.write("go.mod", "module example.com/shop\n")
    repo.write("shop.go", GO_FUNC)
    repo.write("untracked.go", GO_FUNC)
    repo.add("go.mod", "shop.go")
    monkeypatch.chdir(repo.root)
    staged(repo)
    assert SPAN in repo.staged("shop.go")
    assert repo.read("untracked.go") == GO_FUNC


def test_a_repository_with_no_commits_and_nothing_staged(tmp_path, monkeypatch):
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    repo = GitRepo.init(tmp_path / "fresh")
    assert staged(repo).files_seen == 0


# --- modes other than writing ------------------------------------------------------------------


def test_check_mode_reports_the_staged_content_and_writes_nothing(repo):
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    repo.write("orders.go", GO_FUNC + G_FUNC)  # unstaged G: not what is being committed
    summary = staged(repo, output=Output.CHECK)
    assert [f.text() for f in summary.findings] == ["orders.go:5:1: F: no span"]
    assert repo.staged("orders.go") == GO_FUNC
    assert repo.read("orders.go") == GO_FUNC + G_FUNC


# --- errors -------------------------------------------------------------------------------------


def _children() -> set[int]:
    """This process's children (a zombie too: one not waited for)."""
    return set(test_writer._children(os.getpid()))


def test_outside_a_repository_is_an_error(tmp_path):
    before = _children()
    with pytest.raises(GitError, match=r"^not a git repository"), contextlib.chdir(tmp_path):
        run_staged(RewriteOptions(), RunOptions(source=Staged()))
    assert _children() <= before  # the git commands started beside rev-parse were ended and waited for


def test_an_index_file_that_is_not_an_index_is_an_error(repo, tmp_path, monkeypatch):
    bad = tmp_path / "not-an-index"
    bad.write_bytes(b"garbage\n")
    monkeypatch.setenv("GIT_INDEX_FILE", str(bad))
    before = _children()
    with pytest.raises(GitError) as error:
        staged(repo)
    assert str(error.value).startswith(f"git diff-index: {bad}: ")  # git's own words: "index file smaller than expected"...
    assert _children() <= before


def test_with_no_go_file_staged_the_cat_file_started_is_ended_at_once(repo):
    repo.write("README", "shop\n")
    repo.add("README")
    before = _children()
    index = StagedIndex(repo.root)
    assert index.files() == [gitops.StagedFile("README", repo.git("rev-parse", ":README").strip(), 0o100644)]
    assert _children() <= before


def test_a_broken_index_is_named_by_its_whole_path_from_a_subdirectory(repo):
    """The repository's own index, the hook run from a subdirectory: git's words name it as git
    was told it (the repository found first), not relative to where git looked from."""
    (repo.root / ".git" / "index").write_bytes(b"DIRC\0\0\0\2\0\0\0\5garbage")
    (repo.root / "sub").mkdir()
    with pytest.raises(GitError) as error:
        staged(repo, start=repo.root / "sub")
    assert str(error.value).startswith(f"git diff-index: {repo.root}/.git/index: "), error.value


def test_the_command_line_outside_a_repository_exits_2(tmp_path):
    proc = GitRepo(tmp_path).goinstrument("--staged")
    assert proc.returncode == 2
    assert proc.stderr == f"goinstrument: not a git repository (or any parent up to /): {tmp_path}\n"


def test_the_command_line_staged_run(repo):
    repo.write("orders.go", GO_FUNC)
    repo.write("broken.go", BROKEN)
    repo.add("orders.go", "broken.go")
    proc = repo.goinstrument("--staged")
    assert proc.returncode == 2
    assert proc.stderr.startswith("broken.go:")
    assert SPAN in repo.staged("orders.go")
    assert repo.staged("broken.go") == BROKEN


def test_a_work_tree_symlink_is_not_written_through(tmp_path):
    """Staged as a file, replaced by a link in the work tree: the index gets the spans, the link's target does not."""
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    src = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n}\n'
    (repo / "go.mod").write_text("module example.com/r\n\ngo 1.22\n")
    (repo / "b.go").write_text(src)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    outside = tmp_path / "outside.go"
    outside.write_text(src)
    (repo / "b.go").unlink()
    (repo / "b.go").symlink_to(outside)
    run_cli("--staged", cwd=repo, check=0)
    assert outside.read_text() == src
    staged = subprocess.run(["git", "show", ":b.go"], cwd=repo, capture_output=True, text=True).stdout
    assert "otel.Tracer" in staged


def test_git_dir_without_git_work_tree_takes_the_current_directory_as_the_work_tree(tmp_path):
    """As `git rev-parse --show-toplevel` says: with GIT_DIR and no GIT_WORK_TREE (nor core.worktree),
    the top of the working tree is the current directory, not the parent of GIT_DIR."""
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    other = tmp_path / "other"
    other.mkdir()
    (other / "shop.go").write_text(GO_FUNC + G_FUNC)
    (other / "go.mod").write_text(repo.read("go.mod"))
    env = git_env(GIT_DIR=str(repo.root / ".git"))
    GitRepo(other).git("add", "shop.go", env=env)
    assert GitRepo(other).git("rev-parse", "--show-toplevel", env=env).strip() == str(other)
    run_cli("--staged", cwd=other, env={"GIT_DIR": str(repo.root / ".git")}, check=0)
    assert repo.read("shop.go") == GO_FUNC  # not part of this commit's working tree: untouched
    staged = GitRepo(other).git("show", ":shop.go", env=env)
    assert SPAN in staged and 'Start(ctx, "G")' in staged
    assert (other / "shop.go").read_text() == staged


@pytest.mark.parametrize("size", [20, 32])
def test_a_tree_s_entries_are_read_whatever_bytes_their_ids_and_names_hold(size):
    """An entry is `<octal mode> <name>\\0<id>`: a name holds spaces and any bytes but NUL, an id
    any bytes (a NUL, a space, digits); one that is not a tree's is not read as one."""
    ids = [bytes([0, 32, 48, 49]) + bytes(size - 4), b"\0" * size, b" 100644 x\0".ljust(size, b"7")]
    names = [b"a b.go", "caf\u00e9".encode() + b"\xff", b"sub"]
    data = b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in zip([b"100644", b"100755", b"40000"], names, ids, strict=True))
    entries = gitops._tree_entries((b"0" * size * 2, b"tree", data))
    assert entries == {os.fsdecode(name): (oid.hex(), mode) for name, oid, mode in zip(names, ids, [0o100644, 0o100755, 0o40000], strict=True)}
    with pytest.raises(ValueError):
        gitops._tree_entries((b"0" * size * 2, b"tree", data + b"100644 half"))
