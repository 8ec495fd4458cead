"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit against this checkout.

pre-commit installs the package with pip into a virtualenv of its own, from a git
repository holding the hooks file. The checkout is snapshotted into such a repository
once per session (the working tree as it is, committed or not), and the virtualenv is
kept in one PRE_COMMIT_HOME for the session; `pre-commit try-repo` always installs
afresh into a store of its own, so it is used where the issue asks for it and
`pre-commit run` with a pinned config everywhere else.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from gitrepo import CHECKOUT, GO_FUNC, GO_MOD, GitRepo, checkout_files, git_env

pytestmark = pytest.mark.xdist_group(
    "test_precommit"
)  # one worker of pytest-xdist runs them all (scripts/test's --dist loadgroup): the module's shared fixture is built once

SPAN = 'otel.Tracer("example.com/shop").Start(ctx, "F")'
G_FUNC = "\nfunc G(ctx context.Context) (int, error) { return 0, nil }\n"
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "goinstrument")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory) -> GitRepo:
    """This checkout's package and hooks file, committed in a repository of their own."""
    repo = GitRepo.init(tmp_path_factory.mktemp("hook-repo"))
    for rel in checkout_files(*PACKAGE_FILES):
        repo.write(rel, (CHECKOUT / rel).read_bytes())
    repo.commit_all("snapshot of the goinstrument checkout")
    return repo


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit_env(home: Path | None = None) -> dict[str, str]:
    """No PYTHONPATH: the hook must run the goinstrument pre-commit installed, not this checkout."""
    env = git_env()
    env.pop("PYTHONPATH")
    if home is not None:
        env["PRE_COMMIT_HOME"] = str(home)
    return env


@pytest.fixture
def shop(tmp_path, hook_repo) -> GitRepo:
    """A Go module whose committed file has no span, with a pre-commit config naming both hooks."""
    repo = GitRepo.init(tmp_path / "shop")
    repo.write("go.mod", GO_MOD)
    repo.write("shop.go", GO_FUNC)
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {hook_repo.root}\n  rev: {hook_repo.head()}\n  hooks:\n  - id: goinstrument\n  - id: goinstrument-check\n",
    )
    repo.commit_all("first")
    return repo


def try_repo(repo: GitRepo, hook_repo: GitRepo, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    return repo.run("pre-commit", "try-repo", str(hook_repo.root), hook, *args, env=pre_commit_env())


def run(repo: GitRepo, home: Path, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    return repo.run("pre-commit", "run", hook, *args, env=pre_commit_env(home))


def test_the_hooks_file_is_a_valid_manifest():
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(CHECKOUT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- pre-commit try-repo against the checkout -------------------------------------------------


def test_try_repo_fixer_fails_on_an_uninstrumented_file_and_passes_after_git_add(shop, hook_repo):
    proc = try_repo(shop, hook_repo, "goinstrument", "--files", "shop.go")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "files were modified by this hook" in proc.stdout
    assert SPAN in shop.read("shop.go")
    assert shop.staged("shop.go") == GO_FUNC  # the fixer never touches the index
    shop.add("shop.go")
    proc = try_repo(shop, hook_repo, "goinstrument", "--files", "shop.go")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


def test_try_repo_check_fails_then_passes_once_instrumented(shop, hook_repo):
    """The check reports what the commit changes (`--new-from-rev HEAD`): G, new, and not F, untouched."""
    proc = try_repo(shop, hook_repo, "goinstrument-check", "--files", "shop.go")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shop.write("shop.go", GO_FUNC + G_FUNC)
    proc = try_repo(shop, hook_repo, "goinstrument-check", "--files", "shop.go")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "shop.go:7:1: G: no span" in proc.stdout and "F: no span" not in proc.stdout
    assert shop.read("shop.go") == GO_FUNC + G_FUNC  # the check writes nothing
    assert shop.goinstrument("shop.go").returncode == 0
    proc = try_repo(shop, hook_repo, "goinstrument-check", "--files", "shop.go")
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- pre-commit run with a config pinned to the checkout ---------------------------------------


CONSTS = "\nconst (\n\ta = 1\n\tb = 2\n\tc = 3\n\td = 4\n)\n"
WIP = CONSTS.replace("\td = 4\n", "\td = 4\n\te = 5 // work in progress\n")


def test_a_partially_staged_file_loses_no_change(shop, pre_commit_home):
    shop.write("shop.go", GO_FUNC + G_FUNC + CONSTS)
    shop.add("shop.go")
    shop.write("shop.go", GO_FUNC + G_FUNC + WIP)
    proc = run(shop, pre_commit_home, "goinstrument")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "files were modified by this hook" in proc.stdout
    work = shop.read("shop.go")
    assert SPAN in work and 'Start(ctx, "G")' in work
    assert work.endswith(WIP)
    assert shop.staged("shop.go") == GO_FUNC + G_FUNC + CONSTS  # the index is the user's to change
    assert "+\te = 5 // work in progress" in shop.unstaged_diff()


def test_when_the_fixes_touch_the_unstaged_hunk_pre_commit_keeps_the_users_version(shop, pre_commit_home):
    """The unstaged line sits right under G, whose span changes the lines around it: pre-commit rolls the fix back."""
    shop.write("shop.go", GO_FUNC + G_FUNC)
    shop.add("shop.go")
    shop.write("shop.go", GO_FUNC + G_FUNC + "// work in progress\n")
    proc = run(shop, pre_commit_home, "goinstrument")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Stashed changes conflicted with hook auto-fixes... Rolling back fixes..." in proc.stdout + proc.stderr
    assert shop.read("shop.go") == GO_FUNC + G_FUNC + "// work in progress\n"
    assert shop.staged("shop.go") == GO_FUNC + G_FUNC


def test_the_check_hook_only_looks_at_the_files_it_is_given(shop, pre_commit_home):
    shop.write("other.go", GO_FUNC.replace("func F", "func Other"))
    shop.write("README.md", "docs\n")
    shop.add("README.md")
    proc = run(shop, pre_commit_home, "goinstrument-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # no staged .go file: nothing to check
    assert "(no files to check)" in proc.stdout


def test_a_commit_through_pre_commit_install(shop, pre_commit_home):
    """The user's flow: the commit is stopped, the fixes are reviewed and added, the commit goes through."""
    env = pre_commit_env(pre_commit_home)
    assert shop.run("pre-commit", "install", env=env).returncode == 0
    shop.write("orders.go", GO_FUNC.replace("func F", "func Order"))
    shop.add("orders.go")
    proc = shop.commit("orders", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Start(ctx, "Order")' in shop.read("orders.go")
    shop.add("orders.go")
    proc = shop.commit("orders", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Start(ctx, "Order")' in shop.show("HEAD:orders.go")
    assert shop.status() == ""


def test_a_file_named_like_an_option_is_a_file(shop, pre_commit_home):
    """The hooks end the options (`args: [--]`): pre-commit appends `-x.go` after them."""
    shop.write("-x.go", GO_FUNC.replace("func F", "func X"))
    shop.git("add", "--", "-x.go")
    proc = run(shop, pre_commit_home, "goinstrument-check", "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "-x.go:5:1: X: no span" in proc.stdout
    assert "unrecognized arguments" not in proc.stdout + proc.stderr
    env = pre_commit_env(pre_commit_home)
    assert shop.run("pre-commit", "install", env=env).returncode == 0
    proc = shop.commit("a file named like an option", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Start(ctx, "X")' in shop.read("-x.go")
    shop.git("add", "--", "-x.go")
    proc = shop.commit("a file named like an option", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Start(ctx, "X")' in shop.show("HEAD:-x.go")


# --- the documented examples, as a user copies them ----------------------------------------------


def _run_documented_config(page: str, rev: str, tmp_path: Path, hook_repo: GitRepo, pre_commit_home: Path) -> None:
    """The .pre-commit-config.yaml of a page, its repo: pointed at hook_repo and its rev: placeholder
    replaced by `rev`: pre-commit resolves it and the hook instruments."""
    example = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", (CHECKOUT / page).read_text(), re.DOTALL)
    assert example is not None, page
    config = re.sub(r"repo: \S+.*", f"repo: {hook_repo.root}", example.group(1))
    config = re.sub(r"rev: COMMIT_SHA", f"rev: {rev}", config)
    assert f"rev: {rev}" in config
    repo = GitRepo.init(tmp_path / "shop")
    repo.write("go.mod", GO_MOD)
    repo.write("shop.go", GO_FUNC)
    repo.write(".pre-commit-config.yaml", config)
    repo.commit_all("first")
    proc = repo.run("pre-commit", "run", "goinstrument", "--all-files", env=pre_commit_env(pre_commit_home))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "files were modified by this hook" in proc.stdout
    assert SPAN in repo.read("shop.go")


def test_the_readme_config_works_pinned_to_a_commit(tmp_path, hook_repo, pre_commit_home):
    """The README's .pre-commit-config.yaml, as it works today in a clone without tags: rev: a commit."""
    _run_documented_config("README.md", hook_repo.head(), tmp_path, hook_repo, pre_commit_home)


def test_the_release_config_works_against_the_release_tag(tmp_path, hook_repo, pre_commit_home):
    """docs/releasing.md's .pre-commit-config.yaml, against a copy of this checkout tagged as the
    release step says (annotated tag v + the version in pyproject.toml). (test_release keeps that
    rev: and the version in step.)"""
    version = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]["version"]
    hook_repo.git("tag", "-f", "-a", f"v{version}", "-m", f"goinstrument {version}")
    _run_documented_config("docs/releasing.md", f"v{version}", tmp_path, hook_repo, pre_commit_home)


def test_goinstruments_git_hook_chains_the_frameworks(shop, pre_commit_home):
    """`pre-commit install`, then `goinstrument --install-hook --force`: on a commit goinstrument's
    hook instruments and re-stages, then the framework's hook (kept beside it) runs its hooks."""
    env = pre_commit_env(pre_commit_home)
    assert shop.run("pre-commit", "install", env=env).returncode == 0
    proc = shop.goinstrument("--install-hook")
    assert proc.returncode == 2 and "--install-hook --force keeps it" in proc.stderr
    proc = shop.goinstrument("--install-hook", "--force")
    assert proc.returncode == 0, proc.stderr
    hooks = shop.path(".git/hooks")
    assert "pre-commit" in (hooks / "pre-commit.goinstrument-chained").read_text()  # the framework's, kept
    assert shop.goinstrument("--install-hook", "--force").returncode == 0  # idempotent
    assert "pre-commit" in (hooks / "pre-commit.goinstrument-chained").read_text()
    shop.write("orders.go", GO_FUNC.replace("func F", "func Order"))
    shop.add("orders.go")
    proc = shop.commit("orders", env={**env, "PYTHONPATH": str(CHECKOUT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"goinstrument \(check\)\.+Passed", proc.stderr), proc.stderr  # the framework ran (git shows hooks on stderr)
    assert 'Start(ctx, "Order")' in shop.show("HEAD:orders.go")  # goinstrument's hook ran first
    assert shop.status() == ""
