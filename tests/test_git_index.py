"""The hook and the index, against real git: what the staged content is read with (the index's
siblings and go.mod), the index's lock, its entries' flags, its formats (split, sparse), filters.

Real `git commit` runs with the installed hook, or `goinstrument --staged` run by hand; what was
committed or staged is read back with git.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_hook
from gitrepo import GO_FUNC, GO_MOD, GitRepo, git_env
from test_hook import G_FUNC
from test_writer import _alive, _children, _wait_for, needs_proc

from goinstrument.driver.hook import install_hook

repo = test_hook.repo  # the fixture: a module whose committed file has no span yet, with the hook installed

ORDERS = 'package shop\n\nimport "context"\n\nfunc Order(ctx context.Context) error { return nil }\n'
PLAIN_CODES = '\t"go.opentelemetry.io/otel/codes"\n'


def committed(repo: GitRepo, proc: subprocess.CompletedProcess[str], rel: str) -> str:
    assert proc.returncode == 0, proc.stderr
    return repo.show(f"HEAD:{rel}")


# --- 1. the staged content is read with the index's siblings and go.mod ----------------------------


@pytest.mark.parametrize(
    ("sibling", "clash"),
    [("var codes = 1\n", PLAIN_CODES), ("func otel() {}\n", '\t"go.opentelemetry.io/otel"\n')],
    ids=["codes", "otel"],
)
def test_a_staged_sibling_deleted_from_the_working_tree_still_renames_the_import(repo, sibling, clash):
    """The commit holds vars.go (staged, then deleted without `git rm`): the committed orders.go must
    not import the name vars.go declares, or the committed tree would not build."""
    repo.write("vars.go", "package shop\n\n" + sibling)
    repo.write("orders.go", ORDERS)
    repo.add("vars.go", "orders.go")
    repo.path("vars.go").unlink()
    orders = committed(repo, repo.commit("orders"), "orders.go")
    assert repo.show("HEAD:vars.go") == "package shop\n\n" + sibling
    assert 'Start(ctx, "Order")' in orders
    assert clash not in orders  # imported under another name
    # The working-tree copy is read with the working tree's siblings: no vars.go there.
    assert clash in repo.read("orders.go")


@pytest.mark.slow
def test_the_committed_tree_builds_with_a_staged_sibling_deleted_from_the_working_tree(tmp_path):
    """`go build` and `go vet` of the commit itself (`git archive HEAD`), with the fixtures' go.mod."""
    from gotools import GOMOD_FIXTURE, go_bin, go_build_vet

    go_bin()
    repo = GitRepo.init(tmp_path / "repo")
    for name in ("go.mod", "go.sum"):
        repo.write(name, (GOMOD_FIXTURE / name).read_text())
    repo.write("shop/vars.go", "package shop\n\nvar codes, otel = 1, 2\n")
    repo.write("shop/orders.go", ORDERS)
    repo.git("add", "-A")
    repo.path("shop/vars.go").unlink()
    install_hook(repo.root)
    proc = repo.commit("orders")
    assert proc.returncode == 0, proc.stderr
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=repo.root, env=git_env(), capture_output=True, check=True).stdout
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    subprocess.run(["tar", "-x"], cwd=checkout, input=archive, check=True)
    assert 'Start(ctx, "Order")' in (checkout / "shop" / "orders.go").read_text()
    go_build_vet(checkout, context="the committed tree: ")


def test_a_working_tree_sibling_that_is_not_staged_does_not_rename_the_committed_import(repo):
    """The reverse: vars.go is only in the working tree (untracked): the commit does not hold it,
    so the committed orders.go imports codes under its own name; the working-tree copy does not."""
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    repo.write("vars.go", "package shop\n\nvar codes = 1\n")
    orders = committed(repo, repo.commit("orders"), "orders.go")
    assert PLAIN_CODES in orders and "codes.Error" in orders
    assert PLAIN_CODES not in repo.read("orders.go")
    assert repo.git("ls-tree", "--name-only", "HEAD") == "go.mod\norders.go\nshop.go\n"


def test_the_tracer_name_comes_from_the_staged_go_mod(repo):
    repo.write("go.mod", "module example.com/store\n\ngo 1.22\n")
    repo.write("orders.go", ORDERS)
    repo.add("go.mod", "orders.go")
    repo.write("go.mod", "module example.com/somewhere/else\n\ngo 1.22\n")  # not for this commit
    orders = committed(repo, repo.commit("renamed"), "orders.go")
    assert 'otel.Tracer("example.com/store").Start(ctx, "Order")' in orders
    assert 'otel.Tracer("example.com/somewhere/else")' in repo.read("orders.go")


def test_init_functions_are_counted_in_the_staged_siblings(repo):
    """A literal in `func init` is named init.N.func1, N counting the package's init functions in
    the files compiled before it: those of the commit, not of the working tree."""
    repo.write("a.go", "package shop\n\nfunc init() {}\n")
    literal = (
        'package shop\n\nimport "context"\n\nvar run func(context.Context) error\n\n'
        "func init() {\n\trun = func(ctx context.Context) error { return nil }\n}\n"
    )
    repo.write("b.go", literal)
    repo.add("a.go", "b.go")
    repo.path("a.go").unlink()
    b = committed(repo, repo.commit("init"), "b.go")
    assert 'Start(ctx, "init.1.func1")' in b
    assert 'Start(ctx, "init.0.func1")' in repo.read("b.go")


# --- 3. the index's lock: a concurrent `git add` is not undone ------------------------------------


def _hook_run(repo: GitRepo, pause: str, **extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`goinstrument --staged` started, paused at `pause` (gitops' test pause) once it gets there."""
    flag = repo.root.parent / f"paused-{pause}"
    env = git_env(GOINSTRUMENT_TEST_INDEX_PAUSE=f"{pause}:{flag}", **extra)
    proc = subprocess.Popen(
        [sys.executable, "-m", "goinstrument", "--staged"], cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never paused"
        time.sleep(0.02)
    return proc, flag


def _resume(proc: subprocess.Popen[bytes], flag: Path) -> tuple[int, str]:
    flag.unlink()
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def _read_before(proc: subprocess.Popen[bytes], pause: str) -> None:
    """At the `prepared` pause (the engine's window): once the entries to update were read (its
    `git ls-files` ended), so that what the test does next comes after the read."""
    if pause == "prepared":
        _wait_for(lambda: not any(b"ls-files" in _cmdline(pid) for pid in _children(proc.pid)))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()  # empty for a zombie: a process ended
    except OSError:
        return b""


# Where the hook is paused while another terminal stages: `prepared`, while the files are worked out,
# the entries to update read already; `read`, as the update is about to lock the index.
WINDOWS = ["prepared", "read"]


@needs_proc
@pytest.mark.parametrize("pause", WINDOWS)
def test_a_git_add_while_the_hook_runs_is_kept(repo, pause):
    repo.write("orders.go", ORDERS)
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("orders.go", "shop.go")
    proc, flag = _hook_run(repo, pause)
    _read_before(proc, pause)
    # In another terminal, meanwhile: a new file staged, and orders.go staged again.
    repo.write("other.go", "package shop\n")
    repo.write("orders.go", ORDERS + "\n// saved again\n")
    repo.add("other.go", "orders.go")
    code, err = _resume(proc, flag)
    assert code == 2, err  # the commit stops: orders.go would be committed without its span
    assert repo.staged("other.go") == "package shop\n"
    assert repo.staged("orders.go") == ORDERS + "\n// saved again\n"  # what they staged, not our older version
    assert repo.read("orders.go") == ORDERS + "\n// saved again\n"
    assert "orders.go:1:1: staged again while the hook ran; left as staged: commit again\n" in err
    assert 'Start(ctx, "G")' in repo.staged("shop.go")  # the rest is staged as usual
    assert repo.read("shop.go") == repo.staged("shop.go")


def test_the_index_is_locked_from_its_reading_to_its_writing(repo):
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    proc, flag = _hook_run(repo, "locked")
    assert (repo.root / ".git" / "index.lock").exists()
    repo.write("other.go", "package shop\n")
    refused = repo.run("git", "add", "other.go")
    assert refused.returncode != 0 and "index.lock" in refused.stderr  # git waits for no one: it says so
    code, err = _resume(proc, flag)
    assert code == 0, err
    assert not (repo.root / ".git" / "index.lock").exists()
    assert 'Start(ctx, "Order")' in repo.staged("orders.go")
    repo.add("other.go")  # and now it goes through
    assert repo.staged("other.go") == "package shop\n"


def test_with_the_lock_held_no_git_command_runs(repo, tmp_path):
    """The staged files' entries (ids, modes, flags) are read, and a copy of the index updated by
    `git update-index`, before the lock: under it, where the index is still the file they were
    read from, the copy is put in its place, and no git command runs."""
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    trace = tmp_path / "trace"
    proc, flag = _hook_run(repo, "locked", GIT_TRACE=str(trace))
    before = len(_commands(trace))
    assert {"ls-files", "update-index"} <= set(_commands(trace)[:before])
    code, err = _resume(proc, flag)
    assert code == 0, err
    assert _commands(trace)[before:] == []
    assert 'Start(ctx, "Order")' in repo.staged("orders.go")
    assert sorted(p.name for p in (repo.root / ".git").iterdir() if "lock" in p.name or "goinstrument" in p.name) == []


def _commands(trace: Path) -> list[str]:
    """The git commands GIT_TRACE saw run, in order (their first word)."""
    return [line.split("trace: built-in: git ")[1].split()[0] for line in trace.read_text().splitlines() if "trace: built-in: git " in line]


@needs_proc
@pytest.mark.parametrize("pause", WINDOWS)
def test_a_flag_set_while_the_hook_runs_is_kept(repo, pause):
    """The entries read before the lock are not the index's any more: read again under it."""
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    proc, flag = _hook_run(repo, pause)
    _read_before(proc, pause)
    repo.git("update-index", "--assume-unchanged", "orders.go")
    code, err = _resume(proc, flag)
    assert code == 0, err
    assert 'Start(ctx, "Order")' in repo.staged("orders.go")
    assert repo.git("ls-files", "-v", "orders.go") == "h orders.go\n"


@needs_proc
def test_where_the_copy_of_the_index_cannot_be_updated_the_index_is_updated_under_its_lock(repo):
    """The `git update-index` waiting on the copy of the index dies (killed, its own lock file left
    behind): the update is done as before, under the index's lock; the copy and its lock go."""
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    proc, flag = _hook_run(repo, "prepared")
    (updating,) = [pid for pid in _children(proc.pid) if b"update-index" in _cmdline(pid)]
    os.kill(updating, signal.SIGKILL)
    code, err = _resume(proc, flag)
    assert code == 0, err
    assert 'Start(ctx, "Order")' in repo.staged("orders.go") and repo.read("orders.go") == repo.staged("orders.go")
    assert sorted(p.name for p in (repo.root / ".git").iterdir() if "lock" in p.name or "goinstrument" in p.name) == []
    repo.git("fsck", "--strict")


@needs_proc
def test_a_hook_run_terminated_while_the_files_are_worked_out_leaves_nothing_behind(repo):
    """SIGTERM in the engine's window: the git commands started for the index's update (one
    waits on its input) end with the run; no lock, no blob file, the index as it was."""
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    proc, flag = _hook_run(repo, "prepared")
    started = _children(proc.pid)
    assert any(b"hash-object" in _cmdline(pid) for pid in started), "no git command waiting for the blobs"
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    flag.unlink()
    assert proc.returncode == 143 and err == b"", err.decode()
    _wait_for(lambda: not any(_alive(pid) for pid in started), timeout=10)
    assert repo.staged("orders.go") == ORDERS and repo.read("orders.go") == ORDERS
    assert sorted(p.name for p in (repo.root / ".git").iterdir() if "lock" in p.name or "goinstrument" in p.name) == []


@pytest.mark.parametrize("locked", [False, True], ids=["index-free", "index-locked-too"])
def test_blobs_that_cannot_be_written_leave_the_index_as_it_was(repo, locked):
    """The blobs are written beside the index's update: the updated index is put in place only once
    they are. Here no loose object can be written (each fan-out directory is a file; the objects
    are read from a pack). With the index locked by someone else as well, the blobs' failure is
    the one said, as when they were written before the lock was asked for."""
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    repo.git("repack", "-q", "-a", "-d")
    repo.git("prune-packed")
    for n in range(256):
        (repo.root / ".git" / "objects" / f"{n:02x}").write_bytes(b"")
    if locked:
        (repo.root / ".git" / "index.lock").write_bytes(b"")
    proc = repo.goinstrument("--staged")
    if locked:
        (repo.root / ".git" / "index.lock").unlink()
    assert proc.returncode == 2 and "goinstrument: git hash-object: " in proc.stderr, proc.stderr
    assert repo.staged("orders.go") == ORDERS and repo.read("orders.go") == ORDERS
    assert repo.status() == "A  orders.go\n"
    assert sorted(p.name for p in (repo.root / ".git").iterdir() if "lock" in p.name or "goinstrument" in p.name) == []


def test_a_lock_held_by_someone_else_is_waited_for_then_reported(repo):
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    (repo.root / ".git" / "index.lock").write_bytes(b"")
    proc = repo.goinstrument("--staged")
    assert proc.returncode == 2
    assert "index.lock exists; another git process seems to be running" in proc.stderr
    assert repo.staged("orders.go") == ORDERS  # nothing written: neither the index nor the working tree
    assert repo.read("orders.go") == ORDERS


# --- 4. entries keep their flags -------------------------------------------------------------------


def test_a_sparse_checkout_keeps_its_out_of_cone_files(tmp_path):
    """A staged change to an out-of-cone file (skip-worktree: `git reset --soft` over a commit that
    changed it) is re-staged with its flag: it does not show as deleted, nor travel through stash."""
    repo = GitRepo.go_module(tmp_path / "repo", {"a/a.go": GO_FUNC.replace("shop", "a"), "b/b.go": GO_FUNC.replace("shop", "b")})
    repo.write("b/b.go", GO_FUNC.replace("shop", "b") + G_FUNC)
    repo.commit_all("G")
    repo.git("sparse-checkout", "set", "a")
    repo.git("reset", "-q", "--soft", "HEAD~1")
    assert not repo.path("b/b.go").exists()
    assert repo.git("ls-files", "-t", "b/b.go") == "S b/b.go\n"
    install_hook(repo.root)
    b = committed(repo, repo.commit("G again"), "b/b.go")
    assert 'Start(ctx, "G")' in b
    assert repo.git("ls-files", "-t", "b/b.go") == "S b/b.go\n"
    assert repo.status() == ""
    assert "No local changes to save" in repo.git("stash")


def test_assume_unchanged_and_intent_to_add_are_kept(repo):
    repo.write("shop.go", GO_FUNC + G_FUNC)
    repo.add("shop.go")
    repo.git("update-index", "--assume-unchanged", "shop.go")
    repo.write("later.go", ORDERS)
    repo.git("add", "-N", "later.go")
    shop = committed(repo, repo.commit("G"), "shop.go")
    assert 'Start(ctx, "G")' in shop
    assert repo.git("ls-files", "-v", "shop.go") == "h shop.go\n"
    assert repo.status() == " A later.go\n"  # still intent-to-add: not committed, not staged
    assert repo.git("ls-tree", "--name-only", "HEAD") == "go.mod\nshop.go\n"


def test_a_commits_first_server_span_tells_a_tidy_module_to_tidy_again(tmp_path):
    """The cold trial's commit: a module requiring otel, tidy (trace `// indirect`), commits its first
    handler with http-handlers on; the server span imports trace, and the hook says to tidy."""
    tidy = GO_MOD + "\nrequire go.opentelemetry.io/otel v1.30.0\n\nrequire go.opentelemetry.io/otel/trace v1.30.0 // indirect\n"
    repo = GitRepo.go_module(tmp_path / "repo", {"go.mod": tidy, ".goinstrument.toml": "http-handlers = true\n"})
    install_hook(repo.root)
    repo.write("h.go", 'package shop\n\nimport "net/http"\n\nfunc Serve(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(204)\n}\n')
    repo.add("h.go")
    repo.write("h.go", "package shop\n\nfunc Unfinished( {\n")  # the staged handler's imports decide, not these (a cold review)
    proc = repo.commit("handler")
    assert proc.stderr == (
        "goinstrument: example.com/shop: go.mod requires go.opentelemetry.io/otel/trace only as indirect; run: go mod tidy\n"
        "goinstrument: 1 of 1 file changed, 1 span added\n"
    )
    assert "trace.WithSpanKind(trace.SpanKindServer)" in committed(repo, proc, "h.go")


# --- 5. every index format git writes --------------------------------------------------------------


@pytest.mark.parametrize("how", [[], ["-a"], ["shop.go"]], ids=["staged", "commit -a", "commit PATH"])
@pytest.mark.parametrize("index", ["split", "sparse"])
def test_split_and_sparse_indexes_commit(tmp_path, index, how):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC, "b/b.go": GO_FUNC.replace("shop", "b")})
    if index == "split":
        repo.git("update-index", "--split-index")
    else:
        repo.git("sparse-checkout", "init", "--cone", "--sparse-index")
        repo.git("sparse-checkout", "set", "a")
        assert not repo.path("b/b.go").exists()
    install_hook(repo.root)
    repo.write("shop.go", GO_FUNC + G_FUNC)
    if not how:
        repo.add("shop.go")
    proc = repo.commit("G", *how)
    # The summary, and the reminder that this module's go.mod does not require otel yet.
    assert proc.stderr == (
        "goinstrument: example.com/shop: go.mod does not require go.opentelemetry.io/otel; run: go get go.opentelemetry.io/otel && go mod tidy\n"
        "goinstrument: 1 of 1 file changed, 2 spans added\n"
    )
    assert 'Start(ctx, "G")' in committed(repo, proc, "shop.go")
    assert repo.read("shop.go") == repo.show("HEAD:shop.go")
    assert repo.status() == ""
    assert repo.run("git", "fsck", "--no-progress").returncode == 0


# --- 7. clean filters: the blob is not the Go source ----------------------------------------------


def test_a_file_under_a_clean_filter_is_left_alone(repo):
    repo.git("config", "filter.gz.clean", "gzip -cn")
    repo.git("config", "filter.gz.smudge", "gzip -dc")
    repo.write(".gitattributes", "secret.go filter=gz\n")
    repo.write("secret.go", ORDERS)
    repo.write("orders.go", ORDERS.replace("Order", "Other"))
    repo.add(".gitattributes", "secret.go", "orders.go")
    proc = repo.goinstrument("--staged", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "secret.go: skipped: git filter 'gz' applies\n" in proc.stderr
    assert "goinstrument: 1 of 2 files changed, 1 span added, 1 skipped\n" in proc.stderr
    assert repo.read("secret.go") == ORDERS
    blob = subprocess.run(["git", "cat-file", "blob", ":secret.go"], cwd=repo.root, env=git_env(), capture_output=True, check=True)
    assert gzip.decompress(blob.stdout) == ORDERS.encode()  # still the filter's output of the file
    proc = repo.commit("secret")
    assert proc.returncode == 0, proc.stderr
    assert repo.status() == ""
    assert 'Start(ctx, "Other")' in repo.show("HEAD:orders.go")


# --- 8. any repository git makes: SHA-256 ids, names that are not UTF-8, objects borrowed ---------


def _module_repo(root: Path, *init: str) -> GitRepo:
    """A module with its first commit (made with `git init INIT...`), the hook installed."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", *init, str(root)], env=git_env(), check=True)
    repo = GitRepo(root)
    repo.write("go.mod", "module example.com/shop\n\ngo 1.22\n")
    repo.write("shop.go", GO_FUNC)
    repo.commit_all("first")
    install_hook(repo.root)
    return repo


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_a_commit_in_a_repository_of_either_object_format(tmp_path, object_format):
    """Ids are the repository's (64 hex digits in a SHA-256 one): the blobs staged are written with
    them, the index's trees and blobs read by them, a working-tree file known to hold its blob."""
    repo = _module_repo(tmp_path / "repo", f"--object-format={object_format}")
    repo.write("api/go.mod", "module example.com/api\n\ngo 1.22\n")
    repo.write("api/vars.go", "package api\n\nvar codes = 1\n")
    repo.write("api/held.go", "package api\n\nvar otelcodes = 1\n")  # the blob the working-tree file holds
    repo.commit_all("api")
    repo.write("api/vars.go", "package api\n")  # the commit keeps its `codes`: read from the blob
    repo.write("api/orders.go", ORDERS.replace("package shop", "package api"))
    repo.add("api/orders.go")
    orders = committed(repo, repo.commit("orders"), "api/orders.go")
    assert 'otel.Tracer("example.com/api").Start(ctx, "Order")' in orders  # the go.mod the index's tree holds
    assert PLAIN_CODES not in orders and '\totelcodes1 "go.opentelemetry.io/otel/codes"\n' in orders
    assert len(repo.head()) == (64 if object_format == "sha256" else 40)
    repo.git("fsck", "--strict")
    assert repo.status() == " M api/orders.go\n M api/vars.go\n"  # the working-tree copy, read with its own siblings


def test_names_that_are_not_utf8(tmp_path):
    """Git names are bytes: a directory and files whose names are not UTF-8 are staged, read as
    siblings and restaged under their own names."""
    repo = _module_repo(tmp_path / "repo")
    directory, name, sibling = os.fsdecode(b"p\xffkg"), os.fsdecode(b"caf\xe9.go"), os.fsdecode(b"v\xe9rs.go")
    repo.write(f"{directory}/{sibling}", "package pkg\n\nvar codes = 1\n")
    repo.write(f"{directory}/{name}", ORDERS.replace("package shop", "package pkg"))
    repo.add(directory)
    repo.path(f"{directory}/{sibling}").unlink()  # the commit's copy: read from its blob
    proc = repo.commit("names")
    assert proc.returncode == 0, proc.stderr
    committed_file = subprocess.run(["git", "show", f"HEAD:{directory}/{name}"], cwd=repo.root, env=git_env(), capture_output=True, check=True)
    assert b'Start(ctx, "Order")' in committed_file.stdout and PLAIN_CODES.encode() not in committed_file.stdout
    assert repo.path(f"{directory}/{name}").read_bytes() != committed_file.stdout  # its own siblings: no `codes` there
    assert b'Start(ctx, "Order")' in repo.path(f"{directory}/{name}").read_bytes()


def test_a_clone_borrowing_its_objects_from_another_repository(tmp_path):
    """`git clone --shared`: the committed blobs live in the other repository's objects (alternates),
    where the hook reads a sibling the working tree no longer holds."""
    source = _module_repo(tmp_path / "source")
    source.write("vars.go", "package shop\n\nvar codes = 1\n")
    source.commit_all("vars")
    subprocess.run(["git", "clone", "-q", "--shared", str(source.root), str(tmp_path / "clone")], env=git_env(), check=True)
    repo = GitRepo(tmp_path / "clone")
    assert repo.git("count-objects").startswith("0 objects")  # every object is borrowed
    install_hook(repo.root)
    repo.write("vars.go", "package shop\n")
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    orders = committed(repo, repo.commit("orders"), "orders.go")
    assert 'Start(ctx, "Order")' in orders and PLAIN_CODES not in orders


def test_a_hook_run_starts_one_git_process_of_each_kind(repo, tmp_path):
    """Each git process costs milliseconds: the repository is found once, every blob and tree is
    read by one `git cat-file --batch`, the blobs staged are written by one `git hash-object`."""
    repo.write("vars.go", "package shop\n\nvar codes = 1\n")
    repo.write("api/go.mod", "module example.com/api\n\ngo 1.22\n")
    repo.write("api/vars.go", "package api\n\nvar otel = 1\n")
    repo.commit_all("siblings")
    repo.write("vars.go", "package shop\n")  # the siblings to read from their blobs
    repo.write("api/vars.go", "package api\n")
    repo.write("orders.go", ORDERS)
    repo.write("api/orders.go", ORDERS.replace("package shop", "package api"))
    repo.write("api/more.go", ORDERS.replace("package shop", "package api").replace("Order", "More"))
    repo.add("orders.go", "api/orders.go", "api/more.go")
    trace = tmp_path / "trace"
    proc = repo.goinstrument_process("--staged", env=git_env(GIT_TRACE=str(trace)))
    assert proc.returncode == 0 and "3 of 3 files changed" in proc.stderr, proc.stderr
    assert sorted(_commands(trace)) == sorted(["rev-parse", "diff-index", "config", "cat-file", "hash-object", "ls-files", "update-index"])
    assert PLAIN_CODES not in repo.staged("orders.go") and '\totelapi "go.opentelemetry.io/otel"\n' in repo.staged("api/orders.go")


def test_objects_go_where_git_object_directory_says(repo, tmp_path):
    """A quarantine (what git sets up for pre-receive): GIT_OBJECT_DIRECTORY takes the blobs
    written, the repository's own objects are read through GIT_ALTERNATE_OBJECT_DIRECTORIES."""
    repo.write("vars.go", "package shop\n\nvar codes = 1\n")
    repo.commit_all("vars")
    repo.write("vars.go", "package shop\n")  # the committed sibling: read from the repository's objects
    repo.write("orders.go", ORDERS)
    repo.add("orders.go")
    quarantine = tmp_path / "quarantine"
    quarantine.mkdir()
    env = git_env(GIT_OBJECT_DIRECTORY=str(quarantine), GIT_ALTERNATE_OBJECT_DIRECTORIES=str(repo.root / ".git" / "objects"))
    proc = repo.goinstrument_process("--staged", env=env)
    assert proc.returncode == 0, proc.stderr
    staged = repo.git("rev-parse", ":orders.go").strip()
    assert repo.run("git", "cat-file", "-e", staged).returncode != 0  # not in the repository's own objects
    shown = repo.git("cat-file", "blob", staged, env=env)
    assert 'Start(ctx, "Order")' in shown and PLAIN_CODES not in shown
