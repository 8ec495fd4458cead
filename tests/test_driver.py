"""The one driver: every file through `process`, whatever its origin (working tree, staged blob) and
output (write, index, diff, findings); the stability check before every write; a batch that
survives a dead worker; skip reasons as outcomes. Run through the command line (cli.main, in this process: conftest.invoke)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli
from gitrepo import GO_FUNC, GitRepo

from goinstrument.driver import batch

SRC = 'package p\n\nimport "context"\n\nfunc {name}(ctx context.Context) {{\n\tprintln("{name}")\n}}\n'

# A backend that is not idempotent: each call renders a new number, so its code from one run is
# not recognised as its own by the next, which would add a second span.
DRIFTING_BACKEND = """
import itertools

_calls = itertools.count()


class Drifting:
    start_imports = ("log",)
    error_imports = ()
    preferred_names = {"log": ("log",)}

    def lines(self, names, tracer, span_name):
        return [f'{names.packages["log"]}.Println("enter", "{span_name}", {next(_calls)})']
"""

# A backend whose worker dies (as if killed for memory) on the function named Die.
KILLING_BACKEND = """
import os
import signal


class Killing:
    start_imports = ("log",)
    error_imports = ()
    preferred_names = {"log": ("log",)}

    def lines(self, names, tracer, span_name):
        if span_name == "Die":
            os.kill(os.getpid(), signal.SIGKILL)
        return [f'{names.packages["log"]}.Println("enter", "{span_name}")']
"""


def _module(root: Path, names: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    for name in names:
        (root / f"{name.lower()}.go").write_text(SRC.format(name=name))
    return root


def _backend(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "backends").mkdir(exist_ok=True)
    (tmp_path / "backends" / "testbackends.py").write_text(text)
    return {"PYTHONPATH": str(tmp_path / "backends")}


# --- the stability check ------------------------------------------------------------------------------


def test_the_stability_check_catches_a_backend_whose_output_a_second_run_would_change(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    env = _backend(tmp_path, DRIFTING_BACKEND)
    proc = run_cli("--backend", "testbackends:Drifting", ".", cwd=root, env=env, check=2)
    assert re.search(r"^f\.go:\d+:\d+: internal check failed: a second run would change this line again; left untouched", proc.stderr, re.M)
    assert (root / "f.go").read_text() == SRC.format(name="F")


def test_fast_skips_the_stability_check(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    env = _backend(tmp_path, DRIFTING_BACKEND)
    run_cli("--fast", "--backend", "testbackends:Drifting", ".", cwd=root, env=env, check=0)
    assert 'log.Println("enter", "F", ' in (root / "f.go").read_text()


# --- the batch ---------------------------------------------------------------------------------------


def test_a_worker_that_dies_is_a_problem_for_its_file_and_every_other_file_is_done(tmp_path):
    names = [f"F{i:02d}" for i in range(59)] + ["Die"]
    root = _module(tmp_path / "m", names)
    env = _backend(tmp_path, KILLING_BACKEND)
    proc = run_cli("--jobs", "2", "--backend", "testbackends:Killing", ".", cwd=root, env=env, check=2)
    assert "die.go:1:1: the worker process processing it died" in proc.stderr
    assert "goinstrument: 59 of 60 files changed, 59 spans added, 1 file left untouched because of errors\n" in proc.stderr
    assert (root / "die.go").read_text() == SRC.format(name="Die")
    for name in names[:-1]:
        assert f'log.Println("enter", "{name}")' in (root / f"{name.lower()}.go").read_text()


def test_a_staged_run_uses_the_worker_pool(tmp_path):
    """The same worker death in the hook: only a pool survives it (in-process, the run itself would die)."""
    names = [f"F{i:02d}" for i in range(59)] + ["Die"]
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    _module(repo.root, names)
    repo.add(".")
    env = _backend(tmp_path, KILLING_BACKEND)
    proc = run_cli("--staged", "--jobs", "2", "--backend", "testbackends:Killing", cwd=repo.root, env=env, check=2)
    assert "die.go:1:1: the worker process processing it died" in proc.stderr
    assert 'log.Println("enter", "F00")' in repo.staged("f00.go")
    assert repo.staged("die.go") == SRC.format(name="Die")


# Under batch.SERIAL_BELOW files, a batch worth two processes (batch.SHARE_FROM bytes each) is
# shared among forked children (test_batch): the same death is answered there.
PADDING = "// padding\n" * (batch.SHARE_FROM // 11 + 1)


forks = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a small batch forks on Linux only (elsewhere the run itself would die)")


@forks
def test_a_child_that_dies_in_a_small_batch_is_a_problem_for_its_file_and_every_other_file_is_done(tmp_path):
    names = ["A", "Die", "F", "G"]  # a.go first: the first file is worked in the run's own process
    root = _module(tmp_path / "m", [])
    for name in names:
        (root / f"{name.lower()}.go").write_text(SRC.format(name=name) + PADDING)
    env = _backend(tmp_path, KILLING_BACKEND)
    proc = run_cli("--jobs", "2", "--backend", "testbackends:Killing", ".", cwd=root, env=env, check=2)
    assert "die.go:1:1: the worker process processing it died" in proc.stderr
    assert "goinstrument: 3 of 4 files changed, 3 spans added, 1 file left untouched because of errors\n" in proc.stderr
    assert (root / "die.go").read_text() == SRC.format(name="Die") + PADDING
    for name in ["A", "F", "G"]:
        assert f'log.Println("enter", "{name}")' in (root / f"{name.lower()}.go").read_text()


@forks
def test_a_staged_child_that_dies_in_a_small_batch_fails_its_file_alone(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    for name in ["A", "Die", "F", "G"]:
        repo.write(f"{name.lower()}.go", SRC.format(name=name) + PADDING)
    repo.add(".")
    env = _backend(tmp_path, KILLING_BACKEND)
    proc = run_cli("--staged", "--jobs", "2", "--backend", "testbackends:Killing", cwd=repo.root, env=env, check=2)
    assert "die.go:1:1: the worker process processing it died" in proc.stderr
    assert repo.staged("die.go") == SRC.format(name="Die") + PADDING
    for name in ["A", "F", "G"]:
        assert f'log.Println("enter", "{name}")' in repo.staged(f"{name.lower()}.go")


# --- --staged through the same driver ---------------------------------------------------------------


def _staged_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    repo.write("orders.go", GO_FUNC + "\n// not staged\n")
    return repo


def test_staged_diff_prints_the_diff_of_the_staged_content_and_writes_nothing(tmp_path):
    repo = _staged_repo(tmp_path)
    proc = run_cli("--staged", "--diff", cwd=repo.root, check=0)
    assert proc.stdout.startswith("--- a/orders.go\n+++ b/orders.go\n")
    assert '+\t_, span := otel.Tracer("example.com/shop").Start(ctx, "F")' in proc.stdout
    assert "not staged" not in proc.stdout
    assert "goinstrument: 1 of 1 file would change, 1 span to add\n" in proc.stderr  # nothing was added: it would be
    assert repo.staged("orders.go") == GO_FUNC
    assert repo.read("orders.go") == GO_FUNC + "\n// not staged\n"


def test_staged_check_reports_the_staged_content(tmp_path):
    repo = _staged_repo(tmp_path)
    proc = run_cli("--staged", "--check", cwd=repo.root, check=1)
    assert proc.stdout == "orders.go:5:1: F: no span\n"
    assert repo.staged("orders.go") == GO_FUNC


def test_a_staged_run_uses_the_cache(tmp_path):
    """A blob the cache knows clean (keyed on its id) is not processed again. Proof: the drifting
    backend (with --fast) changes its own code on every run that processes the file."""
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("orders.go", SRC.format(name="F"))
    repo.add("orders.go")
    env = {**_backend(tmp_path, DRIFTING_BACKEND), "GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    args = ("--staged", "--fast", "--backend", "testbackends:Drifting")
    run_cli(*args, cwd=repo.root, env=env, check=0)
    first = repo.staged("orders.go")
    assert 'log.Println("enter", "F", ' in first
    assert run_cli(*args, cwd=repo.root, env=env, check=0).stderr == ""
    assert repo.staged("orders.go") == first
    run_cli(*args, "--no-cache", cwd=repo.root, env=env, check=0)
    assert repo.staged("orders.go") != first


def test_the_hook_says_nothing_when_there_is_nothing_to_say(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("README", "no Go here\n")
    repo.add("README")
    proc = run_cli("--staged", cwd=repo.root, check=0)
    assert (proc.stdout, proc.stderr) == ("", "")


# --- skip reasons ------------------------------------------------------------------------------------


GENERATED = '// Code generated by hand. DO NOT EDIT.\n\npackage p\n\nimport "context"\n\nfunc G(ctx context.Context) {}\n'
NEVER_BUILT = '//go:build ignore\n\npackage p\n\nimport "context"\n\nfunc I(ctx context.Context) {}\n'


def test_verbose_says_why_each_file_was_skipped_and_the_summary_counts_them(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    (root / "gen.go").write_text(GENERATED)
    (root / "ignored.go").write_text(NEVER_BUILT)
    (root / "f_test.go").write_text(SRC.format(name="T"))
    proc = run_cli("-v", "gen.go", "ignored.go", "f.go", "f_test.go", cwd=root, check=0)
    assert "gen.go: skipped: generated file\n" in proc.stderr
    assert "ignored.go: skipped: build constraint never satisfied\n" in proc.stderr
    assert "f_test.go: skipped: test file\n" in proc.stderr
    assert "goinstrument: 1 of 4 files changed, 1 span added, 3 skipped\n" in proc.stderr  # the skipped are among the files seen
    quiet = run_cli("--no-cache", ".", cwd=root, check=0)
    assert "skipped:" not in quiet.stderr
    assert "goinstrument: 0 of 3 files changed, 0 spans added, 2 skipped\n" in quiet.stderr


def test_a_one_spec_import_block_is_not_a_round_trip_failure(tmp_path):
    """`import ( "context" )` gets our imports added; --remove gives back `import "context"`, the form
    goinstrument turns into a block far more often: the round trip is not defined there (golang.org/x/net)."""
    root = _module(tmp_path / "m", [])
    (root / "a.go").write_text('package p\n\nimport (\n\t"context"\n)\n\nfunc F(ctx context.Context) {\n\tprintln()\n}\n')
    run_cli("a.go", cwd=root, check=0)
    assert 'Start(ctx, "F")' in (root / "a.go").read_text()


def test_verbose_names_every_path_rule_for_files_named_explicitly(tmp_path):
    """What discover leaves out of a named path is said too; a path that does not exist is a usage error instead."""
    root = _module(tmp_path / "m", ["F"])
    (root / "README.md").write_text("docs\n")
    (root / "vendor" / "v").mkdir(parents=True)
    (root / "vendor" / "v" / "v.go").write_text(SRC.format(name="V"))
    (root / "_hidden.go").write_text(SRC.format(name="H"))
    proc = run_cli("-v", "README.md", "vendor/v/v.go", "_hidden.go", "f.go", cwd=root, check=0)
    assert "README.md: skipped: not a .go file\n" in proc.stderr
    assert "vendor/v/v.go: skipped: inside vendor/\n" in proc.stderr
    assert "_hidden.go: skipped: name starts with . or _\n" in proc.stderr
    assert "goinstrument: 1 of 4 files changed, 1 span added, 3 skipped\n" in proc.stderr


def test_a_file_the_cache_knows_was_skipped_is_still_said_and_counted(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    (root / "gen.go").write_text(GENERATED)
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    first = run_cli("-v", ".", cwd=root, env=env, check=0)
    second = run_cli("-v", ".", cwd=root, env=env, check=0)
    assert "gen.go: skipped: generated file\n" in first.stderr
    assert "gen.go: skipped: generated file\n" in second.stderr
    assert "goinstrument: 0 of 2 files changed, 0 spans added, 1 skipped\n" in second.stderr


def test_cache_files_not_written_for_30_days_are_pruned_once_a_day(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    cache = tmp_path / "cache"
    (cache / "facts").mkdir(parents=True)
    (cache / "clean.0000dead").mkdir()
    (cache / "clean.0000beef").mkdir()
    old = time.time() - 31 * 86400
    names = [
        "clean.0000abcd.json",  # a version's before the shards
        "facts/facts.0000abcd.json",
        ".clean.0000abcd.json.123456.goinstrument",
        "clean.0000dead/00.json",  # a settings' directory whose every shard is old: it goes
        "clean.0000dead/.01.json.123456.goinstrument",
        "clean.0000beef/00.json",  # one old shard of a directory in use
        "mine.txt",
        "clean.recent.json",
        "clean.0000beef/01.json",
        "clean.0000beef/mine.txt",
    ]
    for name in names:
        (cache / name).write_text("{}")
        if "recent" not in name and "01.json" not in name and name != "clean.0000beef/mine.txt":
            os.utime(cache / name, (old, old))
    os.utime(cache / "clean.0000dead/.01.json.123456.goinstrument", (old, old))
    env = {"GOINSTRUMENT_CACHE_DIR": str(cache)}
    run_cli(".", cwd=root, env=env, check=0)
    left = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())
    assert {"mine.txt", "clean.recent.json", "clean.0000beef/01.json", "clean.0000beef/mine.txt"} <= set(left)  # not ours, not old
    gone = {"clean.0000abcd.json", "facts/facts.0000abcd.json", ".clean.0000abcd.json.123456.goinstrument", "clean.0000beef/00.json"}
    assert not (gone | {"clean.0000dead/00.json", "clean.0000dead/.01.json.123456.goinstrument"}) & set(left)
    assert not (cache / "clean.0000dead").exists()
    assert any(name.startswith("clean.") and name.endswith(".json") and "/" in name and "beef" not in name for name in left)  # this run's
    (cache / "clean.0000abcd.json").write_text("{}")
    os.utime(cache / "clean.0000abcd.json", (old, old))
    (root / "g.go").write_text(SRC.format(name="G"))
    run_cli(".", cwd=root, env=env, check=0)  # the cache written again, within the day: no prune
    assert (cache / "clean.0000abcd.json").exists()


def test_a_cache_file_in_use_is_written_again_before_a_prune_could_take_it(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli(".", cwd=root, env=env, check=0)
    (clean,) = (tmp_path / "cache").glob("clean.*/*.json")
    old = time.time() - 2 * 86400
    os.utime(clean, (old, old))
    run_cli(".", cwd=root, env=env, check=0)  # nothing to do, but the file it read is two days old
    assert clean.stat().st_mtime > time.time() - 600


def test_the_cache_file_of_the_same_settings_from_before_the_shards_goes_at_the_first_write(tmp_path, monkeypatch):
    """It is never read again (its name is the shards' directory's, plus .json): 522 KB left on
    Go's tree for 30 days (cold trial)."""
    from goinstrument.driver.cache import Cache

    monkeypatch.setenv("GOINSTRUMENT_CACHE_DIR", str(tmp_path))
    cache = Cache("the options")
    old = Path(f"{cache.directory}.json")
    old.write_text('{"key": "old", "entries": {}}')
    other = tmp_path / "clean.0000abcd.json"  # another version's, or other settings': pruned when unused for 30 days
    other.write_text("{}")
    cache.record("f.go", [1, 2])
    cache.save()
    assert not old.exists() and other.exists()
    assert Cache("the options").lookup("f.go", [1, 2]) == (True, None)
    old.write_text("{}")  # an older install of the same version number, still writing it: left to it
    again = Cache("the options")
    again.record("g.go", [3])
    again.save()
    assert old.exists()


def test_a_run_reads_and_writes_only_the_cache_shards_of_the_files_it_looks_up(tmp_path, monkeypatch):
    """The hook's few files must not cost a read of every entry the repository's tree runs left."""
    from goinstrument.driver.cache import Cache

    monkeypatch.setenv("GOINSTRUMENT_CACHE_DIR", str(tmp_path))
    filled = Cache("the options")
    keys = [f"/repo/pkg{n}/f.go" for n in range(2000)]
    for key in keys:
        filled.record(key, [1, 2])
    filled.save()
    shards = sorted(filled.directory.glob("*.json"))
    assert len(shards) == Cache.SHARDS
    before = {shard: (shard.stat().st_ino, shard.stat().st_mtime_ns) for shard in shards}  # (a shard saved is a new file)
    opened: list[str] = []
    real_open = os.open

    def counted(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counted)
    hook = Cache("the options")
    assert hook.lookup(keys[7], [1, 2]) == (True, None)
    assert hook.lookup(keys[8], [1, 3]) == (False, None)
    hook.record(keys[8], [1, 3])
    monkeypatch.setattr(os, "open", real_open)
    assert len(opened) == 2 and all(path.startswith(str(filled.directory)) for path in opened)
    hook.save()
    changed = [shard for shard in shards if (shard.stat().st_ino, shard.stat().st_mtime_ns) != before[shard]]
    assert changed == [Path(hook._path(hook._shard(keys[8])[0]))]
    again = Cache("the options")
    assert again.lookup(keys[8], [1, 3]) == (True, None) and again.lookup(keys[9], [1, 2]) == (True, None)


EXCLUSIONS = """package shop

import "context"

//go:nosplit
func Fast(ctx context.Context) int {
	return 1
}
"""
COMPARES = """package shop

import (
	"context"
	"testing"
)

func TestSame(t *testing.T) {
	var seen context.Context
	if seen != context.Background() {
		t.Skip()
	}
}
"""


def test_what_v_says_of_a_file_the_cache_knows_is_said_again(tmp_path):
    """Exclusions and the package's notes, on a hit as on the run that filled the cache (cold trial)."""
    root = _module(tmp_path / "m", [])
    (root / "fast.go").write_text(EXCLUSIONS)
    (root / "same_test.go").write_text(COMPARES)
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    first = run_cli("-v", ".", cwd=root, env=env, check=0)
    second = run_cli("-v", ".", cwd=root, env=env, check=0)
    assert "fast.go:6:1: Fast: excluded (marked //go:nosplit)" in first.stderr.splitlines()
    assert "same_test.go:10:5: contexts compared by identity here; spans in this package keep ctx" in first.stderr.splitlines()
    assert second.stderr == first.stderr
    (root / "fast.go").write_text(EXCLUSIONS.replace("//go:nosplit\n", ""))  # changed: processed, and said, afresh
    third = run_cli("-v", ".", cwd=root, env=env, check=0)
    assert "Fast: excluded" not in third.stderr and "1 of 1 file changed" in third.stderr, third.stderr


def test_what_v_says_after_a_run_that_rewrote_the_file_is_where_it_now_is(tmp_path):
    """A run that rewrites a file moves its lines: -v then says what a run without the cache
    says, at the positions of the file as written (cold trial: the cache gave those read)."""
    root = _module(tmp_path / "m", [])
    (root / "fast.go").write_text(EXCLUSIONS.replace("//go:nosplit", "func Slow(ctx context.Context) int {\n\treturn 2\n}\n\n//go:nosplit"))
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli(".", cwd=root, env=env, check=0)  # writes Slow's span: Fast moves down
    cached = run_cli("-v", ".", cwd=root, env=env, check=0)
    fresh = run_cli("-v", "--no-cache", ".", cwd=root, env=env, check=0)
    assert "fast.go:16:1: Fast: excluded (marked //go:nosplit)" in fresh.stderr.splitlines(), fresh.stderr
    assert cached.stderr == fresh.stderr
    assert run_cli("-v", ".", cwd=root, env=env, check=0).stderr == fresh.stderr  # and recorded again, where it is


SIBLING = """package shop

import "context"

func B(ctx context.Context) error {
	return nil
}
"""
COMPARING = """package shop

import "context"

func A(ctx, o context.Context) bool {
	x := 1
	_ = x
	return ctx == o
}
"""


def test_a_package_note_at_a_line_a_run_moved_is_not_served_from_a_siblings_entry(tmp_path):
    """The identity note points into a.go; b.go's entry keeps it too. A run that rewrites a.go
    moves that line: -v then says it once, where it now is (review: b.go's hit said the old line)."""
    root = _module(tmp_path / "m", [])
    (root / "b.go").write_text(SIBLING)
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli(".", cwd=root, env=env, check=0)  # b.go gets its span
    (root / "a.go").write_text(COMPARING)
    run_cli(".", cwd=root, env=env, check=0)  # a.go rewritten, b.go a hit then recorded
    fresh = run_cli("-v", "--no-cache", ".", cwd=root, env=env, check=0)
    assert fresh.stderr.count("contexts compared by identity here") == 1, fresh.stderr
    assert run_cli("-v", ".", cwd=root, env=env, check=0).stderr == fresh.stderr


def test_the_json_document_keeps_the_notes_of_a_file_the_run_rewrote(tmp_path):
    """Notes are in every JSON document, not only under -v (review: a hit gave "notes": [])."""
    root = _module(tmp_path / "m", [])
    (root / "a.go").write_text(COMPARING)
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli(".", cwd=root, env=env, check=0)
    fresh = json.loads(run_cli("--format", "json", "--no-cache", ".", cwd=root, env=env, check=0).stdout)["notes"]
    assert len(fresh) == 1
    assert json.loads(run_cli("--format", "json", ".", cwd=root, env=env, check=0).stdout)["notes"] == fresh


def test_what_v_says_of_a_staged_blob_the_cache_knows_is_said_again(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("fast.go", EXCLUSIONS)
    repo.add("fast.go")
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    first = run_cli("--staged", "-v", cwd=repo.root, env=env, check=0)
    again = run_cli("--staged", "-v", cwd=repo.root, env=env, check=0)
    assert "fast.go:6:1: Fast: excluded (marked //go:nosplit)\n" in first.stderr
    assert again.stderr == first.stderr


def test_what_v_says_of_a_staged_blob_the_hook_rewrote_is_where_it_now_is(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("fast.go", EXCLUSIONS.replace("//go:nosplit", "func Slow(ctx context.Context) int {\n\treturn 2\n}\n\n//go:nosplit"))
    repo.add("fast.go")
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli("--staged", cwd=repo.root, env=env, check=0)  # stages Slow's span: Fast moves down
    cached = run_cli("--staged", "-v", cwd=repo.root, env=env, check=0)
    fresh = run_cli("--staged", "-v", "--no-cache", cwd=repo.root, env=env, check=0)
    assert "fast.go:16:1: Fast: excluded (marked //go:nosplit)\n" in fresh.stderr
    assert cached.stderr == fresh.stderr


def test_a_staged_blob_the_cache_knows_was_skipped_is_still_said(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("gen.go", GENERATED.replace("package p", "package shop"))
    repo.add("gen.go")
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli("--staged", cwd=repo.root, env=env, check=0)
    again = run_cli("--staged", "-v", cwd=repo.root, env=env, check=0)
    assert "gen.go: skipped: generated file\n" in again.stderr


# --- found by a cold review -------------------------------------------------------------------------


def test_one_file_named_twice_is_processed_once(tmp_path):
    root = _module(tmp_path / "m", ["F"])
    (root / "link.go").symlink_to("f.go")
    proc = run_cli("f.go", str(root / "f.go"), "./f.go", "link.go", cwd=root, check=0)
    assert "goinstrument: 1 of 1 file changed, 1 span added\n" in proc.stderr
    assert (root / "f.go").read_text().count('Start(ctx, "F")') == 1


def test_a_working_tree_copy_that_is_a_pipe_is_a_warning_not_a_hang(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("orders.go", GO_FUNC)
    repo.add("orders.go")
    (repo.root / "orders.go").unlink()
    os.mkfifo(repo.root / "orders.go")
    proc = run_cli("--staged", cwd=repo.root, check=0)
    assert "orders.go:1:1: warning: the working-tree copy: is not a regular file" in proc.stderr
    assert 'Start(ctx, "F")' in repo.staged("orders.go")


def test_a_problem_in_the_staged_content_says_so(tmp_path):
    """Its line and column are the staged content's; the working tree may hold something else."""
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": GO_FUNC})
    repo.write("orders.go", GO_FUNC + "\nfunc Broken( {\n")
    repo.add("orders.go")
    repo.write("orders.go", GO_FUNC)
    proc = run_cli("--staged", cwd=repo.root, check=2)
    assert "orders.go:7:14: syntax error: expected ')', found '{'; left untouched (the staged content)" in proc.stderr


def test_git_dir_and_git_work_tree_name_the_repository(tmp_path):
    """A bare repository with a separate work tree (the dotfiles pattern), as git itself honours them."""
    bare, work = tmp_path / "dotfiles.git", tmp_path / "home"
    work.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    (work / "go.mod").write_text("module example.com/shop\n")
    (work / "shop.go").write_text(GO_FUNC)
    env = {"GIT_DIR": str(bare), "GIT_WORK_TREE": str(work)}
    subprocess.run(["git", "add", "go.mod", "shop.go"], cwd=work, check=True, env={**os.environ, **env})
    run_cli("--staged", cwd=work, env=env, check=0)
    staged = subprocess.run(["git", "show", ":shop.go"], cwd=work, capture_output=True, text=True, env={**os.environ, **env})
    assert 'Start(ctx, "F")' in staged.stdout


def test_the_cache_sees_a_sibling_file_change_that_renames_our_import(tmp_path):
    """A file's output depends on its package's other files: one that comes to declare `otel`
    makes the next run (cache and all) re-alias our import in the files it left clean before."""
    root = _module(tmp_path / "m", ["F"])
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli(".", cwd=root, env=env, check=0)
    assert '\t"go.opentelemetry.io/otel"\n' in (root / "f.go").read_text()
    assert "goinstrument: 0 of 1 file changed, 0 spans added\n" in run_cli(".", cwd=root, env=env, check=0).stderr
    (root / "b.go").write_text("package p\n\nfunc otel() {}\n")
    run_cli(".", cwd=root, env=env, check=0)
    assert 'otelapi "go.opentelemetry.io/otel"' in (root / "f.go").read_text()


def test_a_cache_file_written_for_other_options_is_not_used(tmp_path, monkeypatch):
    """Cache files are named by a 32-bit checksum of the options; the file holds the options in
    full, so a name two option sets share costs time, never a file wrongly skipped."""
    from goinstrument.driver.cache import Cache

    monkeypatch.setenv("GOINSTRUMENT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("goinstrument.driver.cache.zlib.crc32", lambda data: 7)  # every name the same
    assert Cache("the options").directory == Cache("other options").directory
    mine = Cache("the options")
    mine.record("f.go", [1, 2])
    mine.save()
    assert Cache("the options").lookup("f.go", [1, 2]) == (True, None)
    assert Cache("other options").lookup("f.go", [1, 2]) == (False, None)


def test_a_file_the_cache_knows_clean_is_not_processed_again(tmp_path):
    """The drifting backend (with --fast) changes its own code whenever the file is processed."""
    root = _module(tmp_path / "m", ["F", "G"])
    env = {**_backend(tmp_path, DRIFTING_BACKEND), "GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    args = ("--fast", "--backend", "testbackends:Drifting", ".")
    run_cli(*args, cwd=root, env=env, check=0)
    first = (root / "f.go").read_text()
    assert "goinstrument: 0 of 2 files changed, 0 spans added\n" in run_cli(*args, cwd=root, env=env, check=0).stderr
    assert (root / "f.go").read_text() == first
    (root / "g.go").write_text(SRC.format(name="G") + "\n// edited\n")  # a sibling changed: f.go is looked at again
    run_cli(*args, cwd=root, env=env, check=0)
    assert (root / "f.go").read_text() != first
