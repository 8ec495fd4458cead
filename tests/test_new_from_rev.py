"""`--new-from-rev REV`: only the functions a line changed since merge-base(REV, HEAD) touches
are reported and counted, in real git repositories (committed, staged, unstaged and untracked
changes; renames; a function moved by lines inserted above it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gitrepo import GitRepo

OLD = """package shop

import "context"

func Old(ctx context.Context) error {
	return nil
}

func Other(ctx context.Context) error {
	x := 1
	_ = x
	return nil
}
"""


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    """main holds two functions without spans; the work happens on a branch."""
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": OLD})
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def check(repo: GitRepo, *args: str) -> tuple[int, dict[str, Any]]:
    proc = repo.goinstrument("--check", "--new-from-rev", "main", "--format", "json", *args)
    return proc.returncode, json.loads(proc.stdout)


def reported(document: dict[str, Any]) -> list[str]:
    return [f["function"] for f in document["findings"]]


def test_untouched_old_functions_are_not_reported(repo):
    code, document = check(repo)
    assert code == 0 and reported(document) == []
    assert document["coverage"]["functions"] == 0


def test_a_function_whose_one_body_line_changed_is_reported(repo):
    repo.write("shop.go", OLD.replace("x := 1", "x := 2"))
    code, document = check(repo)
    assert code == 1 and reported(document) == ["Other"]
    assert document["coverage"]["functions"] == 1


@pytest.mark.parametrize("path", [".", "./...", "...", "shop.go"])
def test_a_path_as_the_go_command_spells_it_limits_the_check(repo, path):
    """`./...` is the directory, recursively, as everywhere else (cold trial: it matched nothing)."""
    repo.write("shop.go", OLD.replace("x := 1", "x := 2"))
    code, document = check(repo, path)
    assert code == 1 and reported(document) == ["Other"]


def test_a_committed_change_counts_too(repo):
    repo.write("shop.go", OLD.replace("x := 1", "x := 2"))
    repo.commit_all("change")
    assert reported(check(repo)[1]) == ["Other"]


def test_a_deleted_body_line_makes_the_function_new(repo):
    repo.write("shop.go", OLD.replace("\t_ = x\n", ""))
    assert reported(check(repo)[1]) == ["Other"]


def test_a_new_function_is_reported_and_one_moved_down_by_an_insertion_above_is_not(repo):
    new = OLD.replace('import "context"\n', 'import "context"\n\nfunc New(ctx context.Context) {\n}\n')
    repo.write("shop.go", new)
    code, document = check(repo)
    assert code == 1
    assert reported(document) == ["New"]
    assert document["coverage"]["functions"] == 1


def test_an_untracked_file_is_new_throughout(repo):
    repo.write("more.go", OLD.replace("Old", "Old2").replace("Other", "Other2"))
    assert sorted(reported(check(repo)[1])) == ["Old2", "Other2"]


def test_a_renamed_files_old_lines_are_not_new(repo):
    repo.git("mv", "shop.go", "store.go")
    assert reported(check(repo)[1]) == []
    repo.commit_all("rename")
    assert reported(check(repo)[1]) == []
    repo.write("store.go", OLD.replace("x := 1", "x := 2"))
    assert reported(check(repo)[1]) == ["Other"]


def test_a_literal_is_judged_by_its_own_lines(repo):
    """A changed line in the outer function outside the literal: the outer function only."""
    outer = OLD.replace("\tx := 1\n", "\tx := 1\n\tf := func(ctx context.Context) {\n\t\t_ = ctx\n\t}\n\t_ = f\n")
    repo.write("shop.go", outer)
    repo.commit_all("literal")
    repo.git("branch", "-f", "main")
    repo.write("shop.go", outer.replace("x := 1", "x := 2"))
    assert reported(check(repo)[1]) == ["Other"]
    repo.write("shop.go", outer.replace("_ = ctx", "_ = ctx.Err()"))
    assert reported(check(repo)[1]) == ["Other", "Other.func2"]  # named as it will run: after the span's own literal


def test_the_text_coverage_line_counts_the_new_functions_only(repo):
    repo.write("shop.go", OLD.replace("x := 1", "x := 2"))
    proc = repo.goinstrument("--check", "--new-from-rev", "main", "--fail-under", "50")
    assert proc.returncode == 1
    assert "goinstrument: coverage: 0 of 1 functions taking a context have a span (0.0%)" in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--new-from-rev", "main"], "--new-from-rev narrows what --check reports; add --check"),
        (["--check", "--new-from-rev", "main", "--changed-since", "main"], "not with --changed-since"),
        (["--check", "--new-from-rev", "main", "--staged"], "not with --changed-since, --staged or -"),
    ],
)
def test_usage_errors(repo, args, message):
    proc = repo.goinstrument(*args)
    assert proc.returncode == 2 and message in proc.stderr


def test_an_unknown_revision_is_a_git_error(repo):
    proc = repo.goinstrument("--check", "--new-from-rev", "nowhere")
    assert proc.returncode == 2 and "unknown revision 'nowhere'" in proc.stderr
