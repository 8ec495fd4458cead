"""`--changed-since REV`: the .go files changed between merge-base(REV, HEAD) and the working tree.

Every repository here is real, made with the git command in a temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from gitrepo import GO_FUNC, GitRepo, git_env

from goinstrument.driver.git import GitError, changed_go_files, worktree_top

GO = "package shop\n"


def changed(repo: GitRepo, rev: str = "main", *paths: str, start=None) -> list[str]:
    """The answer as paths relative to the top of the tree, for readable asserts."""
    found = changed_go_files(start or repo.root, rev, [repo.root / p for p in paths])
    assert found == sorted(found)
    assert all(p.is_absolute() for p in found)
    return [p.relative_to(repo.root.resolve()).as_posix() for p in found]


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    """main with a few committed files, and a branch `feature` checked out from it."""
    repo = GitRepo.go_module(tmp_path / "repo", {"a.go": GO, "b.go": GO, "c.go": GO, "pkg/d.go": GO, "README": "x\n"})
    repo.git("checkout", "-q", "-b", "feature")
    return repo


# --- history: what was committed on the branch since the merge-base ---------------------------


def test_nothing_changed_gives_nothing(repo):
    assert changed(repo) == []


def test_commits_on_the_branch_count(repo):
    repo.write("a.go", GO + "// edited\n")
    repo.write("pkg/new.go", GO)
    repo.commit_all("work on feature")
    assert changed(repo) == ["a.go", "pkg/new.go"]


def test_changes_on_main_after_branching_do_not_count(repo):
    repo.write("a.go", GO + "// feature\n")
    repo.commit_all("feature work")
    repo.git("checkout", "-q", "main")
    repo.write("b.go", GO + "// main moved on\n")
    repo.write("main_only.go", GO)
    repo.commit_all("main work")
    repo.git("checkout", "-q", "feature")
    assert changed(repo) == ["a.go"]


def test_merging_main_into_the_branch_moves_the_merge_base(repo):
    repo.git("checkout", "-q", "main")
    repo.write("from_main.go", GO)
    repo.commit_all("main work")
    repo.git("checkout", "-q", "feature")
    repo.write("a.go", GO + "// feature\n")
    repo.commit_all("feature work")
    repo.git("merge", "-q", "--no-edit", "main")
    assert changed(repo) == ["a.go"]


def test_the_branch_compared_with_itself_has_only_uncommitted_changes(repo):
    repo.write("a.go", GO + "// committed\n")
    repo.commit_all("feature work")
    repo.write("b.go", GO + "// not committed\n")
    assert changed(repo, "HEAD") == ["b.go"]


def test_non_go_files_are_left_out(repo):
    repo.write("README", "changed\n")
    repo.write("notes.txt", "new\n")
    repo.write("go.mod", "module example.com/other\n")
    repo.write("a.go.orig", GO)
    assert changed(repo) == []


# --- the working tree: staged, unstaged, untracked -----------------------------------------------


def test_staged_unstaged_and_untracked_changes_count(repo):
    repo.write("a.go", GO + "// staged\n")
    repo.add("a.go")
    repo.write("b.go", GO + "// unstaged\n")
    repo.write("untracked.go", GO)
    assert changed(repo) == ["a.go", "b.go", "untracked.go"]


def test_files_in_untracked_directories_are_found(repo):
    repo.write("new/deeper/x.go", GO)
    repo.write("new/y.go", GO)
    assert changed(repo) == ["new/deeper/x.go", "new/y.go"]


def test_ignored_files_are_left_out(repo):
    repo.write(".gitignore", "gen/\n*_mock.go\n")
    repo.write("gen/x.go", GO)
    repo.write("a_mock.go", GO)
    repo.write("kept.go", GO)
    assert changed(repo) == ["kept.go"]


def test_a_file_changed_and_changed_back_does_not_count(repo):
    repo.write("a.go", GO + "// for a while\n")
    repo.commit_all("feature work")
    repo.write("a.go", GO)  # the working tree holds the merge-base content again
    repo.write("b.go", GO + "// staged\n")
    repo.add("b.go")
    repo.write("b.go", GO)  # staged change undone in the working tree only
    assert changed(repo) == []


def test_a_file_staged_then_edited_counts_once(repo):
    repo.write("a.go", GO + "// staged\n")
    repo.add("a.go")
    repo.write("a.go", GO + "// staged\n// and more\n")
    assert changed(repo) == ["a.go"]


def test_intent_to_add_files_count(repo):
    repo.write("later.go", GO)
    repo.git("add", "-N", "later.go")
    assert changed(repo) == ["later.go"]


# --- renames and deletions ---------------------------------------------------------------------


def test_a_committed_rename_gives_the_new_name(repo):
    repo.git("mv", "a.go", "renamed.go")
    repo.commit_all("rename")
    assert changed(repo) == ["renamed.go"]


def test_a_staged_rename_gives_the_new_name(repo):
    repo.git("mv", "pkg/d.go", "pkg/moved.go")
    assert changed(repo) == ["pkg/moved.go"]


def test_an_unstaged_rename_gives_the_new_name(repo):
    repo.path("b.go").rename(repo.path("b2.go"))
    assert changed(repo) == ["b2.go"]


def test_deleted_files_are_left_out(repo):
    repo.git("rm", "-q", "a.go")
    repo.commit_all("committed deletion")
    repo.git("rm", "-q", "b.go")  # staged deletion
    repo.write("c.go", GO + "// modified, staged, then deleted\n")
    repo.add("c.go")
    repo.path("c.go").unlink()
    repo.path("pkg/d.go").unlink()  # unstaged deletion
    assert changed(repo) == []


def test_a_file_added_on_the_branch_then_deleted_is_left_out(repo):
    repo.write("brief.go", GO)
    repo.commit_all("add")
    repo.git("rm", "-q", "brief.go")
    repo.commit_all("remove")
    assert changed(repo) == []


def test_a_go_directory_is_not_a_file(repo):
    repo.write("weird.go/x.txt", "x\n")
    assert changed(repo) == []


def test_a_file_only_touched_does_not_count(repo):
    """Its time changed, its bytes did not: git reads it again rather than trust the index's stat data."""
    repo.write("a.go", GO + "// changed\n")
    repo.write("b.go", GO)  # rewritten with the same bytes
    os.utime(repo.path("c.go"), (1, 1))
    assert changed(repo) == ["a.go"]


def test_a_file_taken_out_of_the_index_but_kept_on_disk(repo):
    """`git rm --cached`: untracked now; it counts if it no longer holds what the merge-base does."""
    repo.git("rm", "-q", "--cached", "a.go", "b.go")
    repo.write("b.go", GO + "// changed\n")
    assert changed(repo) == ["b.go"]


def test_names_that_are_not_utf8_are_found(repo):
    name = os.fsdecode(b"caf\xe9.go")
    repo.write(name, GO)
    repo.write(os.fsdecode(b"d\xffir/") + name, GO)
    repo.write("a.go", GO + "// changed\n")
    repo.add("a.go", os.fsdecode(b"d\xffir"))
    assert changed(repo) == ["a.go", name, os.fsdecode(b"d\xffir/caf\xe9.go")]


def test_a_sha256_repository(tmp_path):
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", "--object-format=sha256", str(root)], env=git_env(), check=True)
    repo = GitRepo(root)
    repo.write("a.go", GO)
    repo.write("b.go", GO)
    repo.commit_all("first")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.go", GO + "// changed\n")
    repo.git("rm", "-q", "--cached", "b.go")  # held on disk as the merge-base holds it: its SHA-256 id
    repo.write("new.go", GO)
    assert changed(repo) == ["a.go", "new.go"]


# --- restricting to paths, starting below the top ----------------------------------------------


def test_paths_restrict_the_answer(repo):
    for rel in ("a.go", "b.go", "pkg/d.go", "pkg/sub/e.go"):
        repo.write(rel, GO + "// changed\n")
    assert changed(repo, "main", "pkg") == ["pkg/d.go", "pkg/sub/e.go"]
    assert changed(repo, "main", "a.go", "pkg/sub") == ["a.go", "pkg/sub/e.go"]
    assert changed(repo, "main", "elsewhere") == []


def test_starting_in_a_subdirectory_still_sees_the_whole_tree(repo):
    repo.write("a.go", GO + "// changed\n")
    repo.write("pkg/d.go", GO + "// changed\n")
    assert changed(repo, start=repo.path("pkg")) == ["a.go", "pkg/d.go"]


# --- which revisions may be named ---------------------------------------------------------------


def test_a_commit_id_full_or_short(repo):
    first = repo.head()
    repo.write("a.go", GO + "// changed\n")
    repo.commit_all("feature work")
    assert changed(repo, first) == ["a.go"]
    assert changed(repo, first[:8]) == ["a.go"]
    assert changed(repo, "HEAD~1") == ["a.go"]


def test_lightweight_and_annotated_tags(repo):
    repo.git("tag", "v1")
    repo.git("tag", "-a", "-m", "release", "v1-annotated")
    repo.write("b.go", GO + "// after the release\n")
    repo.commit_all("after")
    assert changed(repo, "v1") == ["b.go"]
    assert changed(repo, "v1-annotated") == ["b.go"]
    assert changed(repo, "refs/tags/v1-annotated") == ["b.go"]


def test_a_remote_branch(tmp_path):
    origin = GitRepo.init(tmp_path / "origin.git", bare=True)
    upstream = GitRepo.go_module(tmp_path / "upstream", {"a.go": GO, "b.go": GO})
    upstream.git("remote", "add", "origin", str(origin.root))
    upstream.git("push", "-q", "origin", "main")
    clone = GitRepo(tmp_path / "clone")
    upstream.git("clone", "-q", str(origin.root), str(clone.root))
    clone.git("config", "user.name", "Test")
    clone.git("config", "user.email", "test@example.com")
    clone.git("checkout", "-q", "-b", "feature")
    clone.write("a.go", GO + "// feature\n")
    clone.commit_all("feature work")
    # main moves on upstream; the clone fetches it: the merge-base stays where it was.
    upstream.write("b.go", GO + "// upstream\n")
    upstream.commit_all("upstream work")
    upstream.git("push", "-q", "origin", "main")
    clone.git("fetch", "-q", "origin")
    assert changed(clone, "origin/main") == ["a.go"]
    assert changed(clone, "refs/remotes/origin/main") == ["a.go"]


def test_several_merge_bases_take_one(repo):
    """Criss-cross merges leave two merge-bases (where `git diff --merge-base` gives up): one is taken."""
    repo.write("a.go", GO + "// feature\n")
    repo.commit_all("feature work")
    repo.git("checkout", "-q", "main")
    repo.write("b.go", GO + "// main\n")
    repo.commit_all("main work")
    repo.git("branch", "-q", "main-tip")
    repo.git("merge", "-q", "--no-edit", "feature")
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "main-tip")
    repo.write("c.go", GO + "// after the merges\n")
    repo.commit_all("more feature work")
    assert len(repo.git("merge-base", "--all", "main", "HEAD").split()) == 2
    assert changed(repo) in (["a.go", "c.go"], ["b.go", "c.go"])  # against one merge-base or the other


# --- a repository with no commits ---------------------------------------------------------------


def test_with_no_commits_every_tracked_and_untracked_file_is_new(tmp_path):
    repo = GitRepo.init(tmp_path / "fresh")
    repo.write(".gitignore", "ignored.go\n")
    repo.write("staged.go", GO)
    repo.add("staged.go")
    repo.write("dir/untracked.go", GO)
    repo.write("ignored.go", GO)
    repo.write("notes.txt", "x\n")
    assert changed(repo, "main") == ["dir/untracked.go", "staged.go"]
    assert changed(repo, "origin/main") == ["dir/untracked.go", "staged.go"]  # nothing to compare with
    assert changed(repo, "main", "dir") == ["dir/untracked.go"]


# --- what cannot be answered ------------------------------------------------------------------


@pytest.mark.parametrize("rev", ["no-such-branch", "origin/main", "v9.9", "0123456789abcdef", "main..feature", ""])
def test_an_unknown_revision_is_an_error(repo, rev):
    with pytest.raises(GitError) as error:
        changed_go_files(repo.root, rev, [])
    assert str(error.value) == f"unknown revision {rev!r}: not a branch, remote branch, tag or commit here"


def test_a_branch_only_a_remote_has_is_named_in_the_error(repo, tmp_path):
    """A fresh clone of a feature branch has main only as origin/main (cold trial): the error says so."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "feature", str(repo.root), str(clone)], check=True, env=git_env())
    with pytest.raises(GitError) as error:
        changed_go_files(clone, "main", [])
    assert str(error.value) == "unknown revision 'main': not a branch, remote branch, tag or commit here; did you mean origin/main?"
    with pytest.raises(GitError) as error:
        changed_go_files(clone, "ma*", [])
    assert str(error.value) == "unknown revision 'ma*': not a branch, remote branch, tag or commit here"


def test_a_revision_that_is_not_a_commit_is_an_error(repo):
    with pytest.raises(GitError, match=r"^'HEAD\^\{tree\}' does not name a commit$"):
        changed_go_files(repo.root, "HEAD^{tree}", [])


def test_unrelated_histories_are_an_error(repo):
    repo.git("checkout", "-q", "--orphan", "elsewhere")
    repo.git("rm", "-q", "-r", "--cached", ".")
    repo.write("z.go", GO)
    repo.commit_all("a root of its own")
    with pytest.raises(GitError) as error:
        changed_go_files(repo.root, "main", [])
    assert str(error.value) == "'main' and HEAD have no common ancestor (unrelated histories)"


def test_a_shallow_clone_hints_at_fetching_history(tmp_path):
    upstream = GitRepo.go_module(tmp_path / "upstream", {"a.go": GO})
    upstream.git("checkout", "-q", "-b", "feature")
    for n in range(3):
        upstream.write("a.go", GO + f"// {n}\n")
        upstream.commit_all(f"feature {n}")
    upstream.git("checkout", "-q", "main")
    upstream.write("b.go", GO)
    upstream.commit_all("main moves on")
    clone = GitRepo(tmp_path / "clone")
    upstream.git("clone", "-q", "--depth=1", "--no-single-branch", f"file://{upstream.root}", str(clone.root))
    clone.git("checkout", "-q", "feature")
    with pytest.raises(GitError, match=r"shallow clone: fetch the whole history \(actions/checkout: fetch-depth: 0\)$"):
        changed_go_files(clone.root, "origin/main", [])


def test_outside_a_repository_is_an_error(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError) as error:
        changed_go_files(tmp_path / "plain", "main", [])
    assert str(error.value) == f"not a git repository (or any parent up to /): {tmp_path / 'plain'}"


def test_a_bare_repository_is_an_error(tmp_path):
    bare = GitRepo.init(tmp_path / "bare.git", bare=True)
    with pytest.raises(GitError, match=r"is a bare repository: there is no working tree to instrument$"):
        changed_go_files(bare.root, "main", [])


# --- the command line ---------------------------------------------------------------------------


def test_check_changed_since_reports_only_changed_files(repo):
    repo.write("a.go", GO_FUNC)
    repo.write("untouched_on_branch.go", GO_FUNC)
    repo.commit_all("feature: one function without a span")
    repo.git("checkout", "-q", "main")
    repo.write("main_only.go", GO_FUNC)
    repo.commit_all("main: another")
    repo.git("checkout", "-q", "feature")
    repo.git("rm", "-q", "untouched_on_branch.go")
    proc = repo.goinstrument("--check", "--changed-since", "main")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "a.go:5:1: F: no span\n"


def test_ci_check_as_github_annotations_and_json(repo):
    """What a pull-request job runs: paths relative to the top of the tree, where GitHub expects them."""
    repo.write("pkg/a.go", GO_FUNC)
    repo.commit_all("feature: one function without a span")
    proc = repo.goinstrument("--check", "--changed-since", "main", "--format", "github")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "::error file=pkg/a.go,line=5,col=1,title=goinstrument::F: no span\n"
    proc = repo.goinstrument("--check", "--changed-since", "main", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"] == [{"path": "pkg/a.go", "line": 5, "col": 1, "function": "F", "message": "no span"}]


def test_changed_since_rewrites_only_changed_files(repo):
    repo.write("committed.go", GO_FUNC)
    repo.commit_all("feature: a function without a span, committed")
    repo.write("a.go", GO_FUNC)
    repo.write("pkg/untracked.go", GO_FUNC.replace("func F", "func G"))
    proc = repo.goinstrument("--changed-since", "HEAD")
    assert proc.returncode == 0, proc.stderr
    assert "otel.Tracer(" in repo.read("a.go")
    assert "otel.Tracer(" in repo.read("pkg/untracked.go")
    assert repo.read("committed.go") == GO_FUNC
    proc = repo.goinstrument("--check", "--changed-since", "HEAD")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_changed_since_from_a_subdirectory_of_a_repository_under_a_hidden_directory(tmp_path):
    """Skip rules apply inside the repository: `.config/` above it does not hide its files."""
    repo = GitRepo.go_module(tmp_path / ".config" / "repo", {"shop.go": GO})
    repo.write("top.go", GO_FUNC)
    repo.write("pkg/below.go", GO_FUNC)
    proc = GitRepo(repo.path("pkg")).goinstrument("--check", "--changed-since", "HEAD")
    assert proc.returncode == 1, proc.stderr
    lines = sorted(proc.stdout.splitlines(), key=len)
    assert len(lines) == 2
    assert lines[0] == "below.go:5:1: F: no span"
    assert lines[1].endswith("top.go:5:1: F: no span")  # ../top.go or the whole path: outside the current directory


def test_the_command_line_in_a_repository_with_no_commits_checks_everything(tmp_path):
    repo = GitRepo.init(tmp_path / "fresh")
    repo.write("go.mod", "module example.com/shop\n")
    repo.write("staged.go", GO_FUNC)
    repo.add("staged.go")
    repo.write("untracked.go", GO_FUNC.replace("func F", "func U"))
    proc = repo.goinstrument("--check", "--changed-since", "origin/main")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "staged.go:5:1: F: no span\nuntracked.go:5:1: U: no span\n"


def test_worktree_top_is_the_top_from_anywhere_inside(repo):
    assert worktree_top(repo.path("pkg")) == repo.root.resolve()
    assert worktree_top(repo.path("a.go")) == repo.root.resolve()


@pytest.mark.parametrize(
    ("rev", "message"),
    [
        ("nope", "goinstrument: unknown revision 'nope': not a branch, remote branch, tag or commit here\n"),
        ("HEAD^{tree}", "goinstrument: 'HEAD^{tree}' does not name a commit\n"),
    ],
)
def test_the_command_line_says_what_is_wrong_and_exits_2(repo, rev, message):
    proc = repo.goinstrument("--check", "--changed-since", rev)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message)


def test_the_command_line_outside_a_repository_exits_2(tmp_path):
    outside = GitRepo(tmp_path)
    proc = outside.goinstrument("--changed-since", "main")
    assert proc.returncode == 2
    assert proc.stderr == f"goinstrument: not a git repository (or any parent up to /): {tmp_path}\n"


def test_the_command_line_with_unrelated_histories_exits_2(repo):
    repo.git("checkout", "-q", "--orphan", "elsewhere")
    repo.commit_all("a root of its own")
    proc = repo.goinstrument("--check", "--changed-since", "main")
    assert proc.returncode == 2
    assert proc.stderr == "goinstrument: 'main' and HEAD have no common ancestor (unrelated histories)\n"


@pytest.mark.parametrize("variable", ["GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"])
def test_the_callers_pathspec_variables_do_not_change_what_counts(repo, monkeypatch, variable):
    """Our `*.go` pathspecs mean what git's default says: with GIT_LITERAL_PATHSPECS=1 passed on,
    `*.go` matched only a file named `*.go` and the check found nothing (review)."""
    repo.write("pkg/new.go", GO)
    repo.write("untracked/u.go", GO)
    repo.git("add", "pkg/new.go")
    repo.commit_all("a package file")
    monkeypatch.setenv(variable, "1")
    assert changed(repo) == ["pkg/new.go", "untracked/u.go"]
