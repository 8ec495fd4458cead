"""`--install-hook` and the hook at work: real `git commit` runs in real repositories.

The hook runs `python -m goinstrument --staged` with the Python that installed it;
the commit object is read back with `git show HEAD:path`.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

import pytest
from gitrepo import GO_FUNC, GitRepo, git_env

from goinstrument.driver.git import GitError
from goinstrument.driver.hook import HOOKS, MARKER, SERVED, build_client, hook_script, install_hook

SPAN = 'otel.Tracer("example.com/shop").Start(ctx, "F")'
G_FUNC = "\nfunc G(ctx context.Context) (int, error) { return 0, nil }\n"
BROKEN = 'package shop\n\nimport "context"\n\nfunc H(ctx context.Context) error { return nil\n'
FOREIGN = "#!/bin/sh\necho somebody else's hook\n"


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    """A module whose committed file has no span yet, with the hook installed."""
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    install_hook(repo.root)
    return repo


def hook_of(repo: GitRepo, name: str = "pre-commit") -> Path:
    return repo.root / ".git" / "hooks" / name


def installed(repo: GitRepo, verb: str = "installed") -> str:
    return "\n".join([*(f"{verb} the {name} hook: {hook_of(repo, name)}" for name in HOOKS), native_line()])


def native_line() -> str:
    """install_hook's last line: the hooks' native client (tests/test_hookclient.py)."""
    client, why = build_client()
    return f"the hooks hand their runs to goinstrument's server through {client}" if client else f"the hooks run Python's client: {why}"


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]


# --- installing ---------------------------------------------------------------------------------


def test_install_writes_an_executable_hook_running_goinstrument_staged(tmp_path):
    repo = GitRepo.init(tmp_path / "repo")
    message = install_hook(repo.root)
    assert message == installed(repo)
    for name in HOOKS:
        text = hook_of(repo, name).read_text()
        assert text.startswith("#!/bin/sh\n") and MARKER in text
        assert f"python={sys.executable}\n" in text and f'"$python" -P -c {shlex.quote(SERVED)} --staged' in text
        assert hook_of(repo, name).stat().st_mode & stat.S_IXUSR


def test_installing_twice_is_harmless(repo):
    before = hook_of(repo).read_text()
    again = [*(f"the {name} hook is already installed: {hook_of(repo, name)}" for name in HOOKS), native_line()]
    assert install_hook(repo.root) == "\n".join(again)
    assert hook_of(repo).read_text() == before


def test_our_own_older_hook_is_updated(repo):
    hook_of(repo).write_text(hook_script("/an/older/python"))
    assert "goinstrument --staged --check" in hook_of(repo, "pre-merge-commit").read_text()
    assert install_hook(repo.root).splitlines()[0] == f"updated the pre-commit hook: {hook_of(repo)}"
    assert hook_of(repo).read_text() == hook_script(client=build_client()[0])


def test_a_foreign_hook_is_not_replaced(repo):
    hook_of(repo).write_text(FOREIGN)
    with pytest.raises(GitError) as error:
        install_hook(repo.root)
    assert str(error.value) == (
        f"{hook_of(repo)} exists and was not written by goinstrument; --install-hook --force keeps it"
        " and runs it after goinstrument's hook (as pre-commit.goinstrument-chained)"
    )
    assert hook_of(repo).read_text() == FOREIGN


def test_force_keeps_a_foreign_hook_and_chains_it(repo):
    hook_of(repo).write_text(FOREIGN)
    message = install_hook(repo.root, force=True)
    chained = hook_of(repo, "pre-commit.goinstrument-chained")
    assert message.splitlines()[0] == f"installed the pre-commit hook; the one that was there runs after it, as {chained}: {hook_of(repo)}"
    assert chained.read_text() == FOREIGN
    assert MARKER in hook_of(repo).read_text()
    again = install_hook(repo.root, force=True)  # idempotent: nothing chained twice
    assert again.splitlines()[0] == f"the pre-commit hook is already installed (then {chained}): {hook_of(repo)}"
    assert chained.read_text() == FOREIGN
    assert sorted(p.name for p in hook_of(repo).parent.glob("pre-commit*") if not p.name.endswith(".sample")) == [
        "pre-commit",
        "pre-commit.goinstrument-chained",
    ]


def test_a_second_foreign_hook_does_not_overwrite_the_chained_one(repo):
    hook_of(repo).write_text(FOREIGN)
    install_hook(repo.root, force=True)
    hook_of(repo).write_text("#!/bin/sh\necho yet another\n")
    with pytest.raises(GitError, match="exists too: merge them into one by hand"):
        install_hook(repo.root, force=True)
    assert hook_of(repo, "pre-commit.goinstrument-chained").read_text() == FOREIGN


def test_core_hooks_path_is_honoured(tmp_path):
    repo = GitRepo.init(tmp_path / "repo")
    repo.git("config", "core.hooksPath", "tools/githooks")
    install_hook(repo.root)
    assert MARKER in repo.path("tools/githooks/pre-commit").read_text()
    assert not hook_of(repo).exists()
    elsewhere = tmp_path / "shared-hooks"
    repo.git("config", "core.hooksPath", str(elsewhere))
    install_hook(repo.path("tools"))
    assert MARKER in (elsewhere / "pre-commit").read_text()


def test_a_linked_worktree_installs_into_the_main_repository(repo, tmp_path):
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    hook_of(repo).unlink()
    install_hook(tmp_path / "wt")
    assert MARKER in hook_of(repo).read_text()


def test_install_outside_a_repository_is_an_error(tmp_path):
    with pytest.raises(GitError, match=r"^not a git repository"):
        install_hook(tmp_path)


def test_the_command_line_installs_and_refuses(tmp_path):
    repo = GitRepo.init(tmp_path / "repo")
    proc = repo.goinstrument("--install-hook")
    assert (proc.returncode, proc.stderr) == (0, "".join(f"goinstrument: {line}\n" for line in installed(repo).splitlines()))
    hook_of(repo).write_text(FOREIGN)
    proc = repo.goinstrument("--install-hook")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"goinstrument: {hook_of(repo)} exists and was not written by goinstrument; --install-hook --force keeps it"
        " and runs it after goinstrument's hook (as pre-commit.goinstrument-chained)\n"
    )
    proc = repo.goinstrument("--install-hook", "--force")
    assert proc.returncode == 0
    assert MARKER in hook_of(repo).read_text()


# --- the hook at work: the commit holds the spans ------------------------------------------------


def test_commit_all_commits_the_spans(repo):
    repo.write("shop.go", GO_FUNC + G_FUNC)
    proc = repo.commit("add G", "-a")
    assert proc.returncode == 0, proc.stderr
    committed = repo.show("HEAD:shop.go")
    assert SPAN in committed and 'Start(ctx, "G")' in committed
    assert repo.read("shop.go") == committed
    assert repo.status() == ""


def test_a_plain_commit_of_staged_files_commits_the_spans(repo):
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    proc = repo.commit("orders")
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.show("HEAD:orders.go")
    assert repo.status() == ""


def test_commit_with_paths_commits_the_spans_and_leaves_the_index_clean(repo):
    """`git commit PATH` commits a temporary index; the real one must follow or the spans would look unstaged-away."""
    repo.write("orders.go", GO_FUNC)
    repo.write("other.go", GO_FUNC)
    repo.add("orders.go", "other.go")
    repo.write("shop.go", GO_FUNC + G_FUNC)
    proc = repo.commit("only shop.go", "shop.go")
    assert proc.returncode == 0, proc.stderr
    assert 'Start(ctx, "G")' in repo.show("HEAD:shop.go")
    assert repo.git("ls-tree", "--name-only", "HEAD") == "go.mod\nshop.go\n"
    assert repo.status() == "A  orders.go\nA  other.go\n"  # still staged, for the next commit
    assert repo.read("shop.go") == repo.show("HEAD:shop.go")


def test_a_partially_staged_file_keeps_its_unstaged_hunk(repo):
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("shop.go")
    repo.write("shop.go", GO_FUNC + G_FUNC + "\n// work in progress\n")
    proc = repo.commit("add G")
    assert proc.returncode == 0, proc.stderr
    committed = repo.show("HEAD:shop.go")
    assert 'Start(ctx, "G")' in committed and "work in progress" not in committed
    assert repo.staged_diff() == ""
    assert changed_lines(repo.unstaged_diff()) == ["+", "+// work in progress"]
    assert repo.read("shop.go") == committed + "\n// work in progress\n"


def test_the_first_commit_of_a_repository(tmp_path):
    repo = GitRepo.init(tmp_path / "fresh")
    install_hook(repo.root)
    repo.write("go.mod", "module example.com/shop\n")
    repo.write("shop.go", GO_FUNC)
    repo.add("go.mod", "shop.go")
    proc = repo.commit("first")
    assert proc.returncode == 0, proc.stderr
    assert SPAN in repo.show("HEAD:shop.go")
    assert repo.status() == ""


def test_with_autocrlf_the_index_gets_lf_and_the_working_tree_keeps_crlf(repo):
    """The staged blob and the working-tree file are rewritten each from its own bytes."""
    repo.git("config", "core.autocrlf", "true")
    repo.write("orders.go", GO_FUNC.replace("\n", "\r\n"))
    repo.add("orders.go")
    proc = repo.commit("orders")
    assert proc.returncode == 0, proc.stderr
    committed = repo.git("cat-file", "blob", "HEAD:orders.go")
    assert SPAN in committed and "\r" not in committed
    work = repo.path("orders.go").read_bytes()
    assert SPAN.encode() in work and work.count(b"\r\n") == work.count(b"\n")
    assert repo.status() == ""


def test_commit_all_in_a_linked_worktree(repo, tmp_path):
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    side = GitRepo(tmp_path / "wt")
    side.write("shop.go", GO_FUNC + G_FUNC)
    proc = side.commit("add G", "-a")
    assert proc.returncode == 0, proc.stderr
    assert 'Start(ctx, "G")' in side.show("HEAD:shop.go")
    assert side.status() == ""


def test_a_commit_from_a_subdirectory(repo):
    repo.write("pkg/orders.go", GO_FUNC)
    repo.add("pkg/orders.go")
    proc = repo.run("git", "-C", "pkg", "commit", "-q", "-m", "from below")
    assert proc.returncode == 0, proc.stderr
    assert 'otel.Tracer("example.com/shop/pkg")' in repo.show("HEAD:pkg/orders.go")


def test_a_file_that_does_not_parse_stops_the_commit(repo):
    repo.write("broken.go", BROKEN)
    repo.write("orders.go", GO_FUNC)
    repo.add("broken.go", "orders.go")
    before = repo.head()
    proc = repo.commit("broken")
    assert proc.returncode != 0
    assert "broken.go:" in proc.stderr
    stops = "goinstrument: the commit stops here (see above); commit again once that is dealt with, or skip the hook: git commit --no-verify\n"
    assert proc.stderr.endswith(stops)  # git says nothing of a hook's failure
    assert repo.head() == before
    assert repo.staged("broken.go") == BROKEN and repo.read("broken.go") == BROKEN
    assert 'Start(ctx, "F")' in repo.staged("orders.go")  # the rest of the batch went on: staged with its span


def test_a_commit_without_go_files_is_untouched(repo):
    repo.write("README.md", "hello\n")
    repo.add("README.md")
    proc = repo.commit("docs")
    assert proc.returncode == 0, proc.stderr
    assert repo.status() == ""
    assert repo.show("HEAD:shop.go") == GO_FUNC


# --- the hook script itself ---------------------------------------------------------------------


def test_a_goinstrument_module_at_the_top_of_the_repository_does_not_hijack_the_hook(repo):
    repo.write("goinstrument.py", "raise SystemExit('the wrong goinstrument')\n")
    repo.write("shop.go", GO_FUNC + G_FUNC)
    proc = repo.commit("add G", "-a")
    assert proc.returncode == 0, proc.stderr
    assert 'Start(ctx, "G")' in repo.show("HEAD:shop.go")


def test_without_its_python_the_hook_falls_back_to_goinstrument_on_path(repo, tmp_path):
    hook_of(repo).write_text(hook_script("/no/such/python"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "goinstrument"  # what `pip install` puts on PATH, for this checkout
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m goinstrument "$@"\n')
    launcher.chmod(0o755)
    repo.write("shop.go", GO_FUNC + G_FUNC)
    env = git_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    proc = repo.commit("add G", "-a", env=env)
    assert proc.returncode == 0, proc.stderr
    assert 'Start(ctx, "G")' in repo.show("HEAD:shop.go")


@pytest.mark.parametrize(("status", "says"), [(2, True), (130, False), (143, False), (1, False)])
def test_the_hook_says_the_commit_stops_where_a_file_or_git_failed(repo, tmp_path, status, says):
    """git says nothing of a hook's failure: the hook does, for goinstrument's exit 2 only (an
    interrupt's shell may go on after it: no advice then)."""
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho fake >&2\nexit {status}\n")
    fake.chmod(0o755)
    hook_of(repo).write_text(hook_script(str(fake)))
    proc = repo.commit("add", "-a", "--allow-empty")
    assert proc.returncode != 0
    assert ("goinstrument: the commit stops here (see above)" in proc.stderr) is says, proc.stderr


def test_with_no_goinstrument_anywhere_the_hook_says_so(repo):
    hook_of(repo).write_text(hook_script("/no/such/python"))
    proc = repo.commit("add", "-a", "--allow-empty", env=git_env(PATH="/usr/bin:/bin"))
    assert proc.returncode != 0
    assert "goinstrument hook: neither /no/such/python nor goinstrument on PATH" in proc.stderr


# --- hooks that live with others ----------------------------------------------------------------

MARKING = '#!/bin/sh\necho "$0 $# $(cat)" >> "$(git rev-parse --git-dir)/marker"\n'


def test_a_chained_hook_still_runs_after_ours_on_every_commit(repo):
    """The hook that was there runs after goinstrument's, with its arguments and stdin; installing twice chains once."""
    hook_of(repo).write_text(MARKING)
    hook_of(repo).chmod(0o755)
    install_hook(repo.root, force=True)
    install_hook(repo.root, force=True)
    repo.write("shop.go", GO_FUNC + G_FUNC)
    proc = repo.commit("add G", "-a")
    assert proc.returncode == 0, proc.stderr
    assert 'Start(ctx, "G")' in repo.show("HEAD:shop.go")  # ours ran
    assert repo.path(".git/marker").read_text() == ".git/hooks/pre-commit.goinstrument-chained 0 \n"  # then the old one, once


def test_a_failing_chained_hook_stops_the_commit(repo):
    hook_of(repo).write_text("#!/bin/sh\necho no >&2\nexit 3\n")
    hook_of(repo).chmod(0o755)
    install_hook(repo.root, force=True)
    repo.write("shop.go", GO_FUNC + G_FUNC)
    proc = repo.commit("add G", "-a")
    assert proc.returncode != 0 and "no" in proc.stderr
    assert "G" not in repo.show("HEAD:shop.go")


def test_a_clean_merge_runs_our_pre_merge_commit_hook(repo):
    """git runs pre-merge-commit, not pre-commit, for a merge it commits itself: the merge commit holds the spans."""
    repo.git("checkout", "-q", "-b", "side")
    repo.write("orders.go", GO_FUNC.replace("func F", "func Order"))
    repo.commit_all("orders, committed without the hook")
    repo.git("checkout", "-q", "main")
    repo.write("README.md", "shop\n")
    repo.commit_all("docs")
    proc = repo.run("git", "merge", "-q", "--no-edit", "side")
    # git writes the merge's tree before the hook runs: the hook can only stop it, and say how to go on.
    assert proc.returncode != 0
    assert "orders.go:5:1: Order: no span" in proc.stdout + proc.stderr
    assert "run git commit to complete the merge: the pre-commit hook adds them" in proc.stderr
    assert repo.git("rev-list", "--count", "HEAD").strip() == "2"  # no merge commit yet
    proc = repo.commit("merge side", "--no-edit")
    assert proc.returncode == 0, proc.stderr
    assert len(repo.git("rev-list", "--parents", "-n", "1", "HEAD").split()) == 3  # the merge commit
    assert 'Start(ctx, "Order")' in repo.show("HEAD:orders.go")
    assert repo.status() == ""


def test_a_clean_merge_of_instrumented_code_goes_through(repo):
    repo.git("checkout", "-q", "-b", "side")
    repo.write("orders.go", GO_FUNC.replace("func F", "func Order"))
    repo.add("orders.go")
    assert repo.commit("orders").returncode == 0  # through the hook: with its span
    repo.git("checkout", "-q", "main")
    repo.write("README.md", "shop\n")
    repo.commit_all("docs")
    proc = repo.run("git", "merge", "-q", "--no-edit", "side")
    assert proc.returncode == 0, proc.stderr
    assert len(repo.git("rev-list", "--parents", "-n", "1", "HEAD").split()) == 3
