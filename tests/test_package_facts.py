"""The package facts of each file kept across runs (package_scope: the names a sibling declares, the
identity prefilter's summary and comparisons, init counts, aliases), beside the file's stamp.

A run with its cache reads again only the files changed since the last: `files_read` counts the
files read for their facts. What the runs say must be what a run without the cache says.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli
from gitrepo import GitRepo

from goinstrument.driver import package_scope
from goinstrument.engine.result import Position

TARGET = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) error {\n\treturn nil\n}\n'
OTEL = "package p\n\nfunc otel() {}\n"  # our import is then named otelapi
NO_OTEL = "package p\n\nfunc otelx() {}\n"  # its size: a rewrite of OTEL in place, same size
COMPARES = 'package p\n\nimport "context"\n\nfunc same(a, b context.Context) bool { return a == b }\n'
ALIAS = "package p\n\ntype A = B\n\ntype B struct{}\n\nfunc init() {}\n"
AN_HOUR_AGO = time.time_ns() - 3600 * 10**9


def _package(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/p\n\ngo 1.22\n")
    for name, text in files.items():
        (root / name).write_text(text)
    _age(*root.iterdir())
    return root


def _age(*paths: Path) -> None:
    """Dated an hour ago (their ctime stays now: see not_racy)."""
    for path in paths:
        os.utime(path, ns=(AN_HOUR_AGO, AN_HOUR_AGO))


def _run(root: Path, cache: Path, *args: str) -> tuple[str, int]:
    """(the run's output, how many files it read for their facts)."""
    before = package_scope.files_read
    proc = run_cli("--check", "-v", *args, ".", cwd=root, env={"GOINSTRUMENT_CACHE_DIR": str(cache)})
    return proc.stdout + proc.stderr, package_scope.files_read - before


NOT_RACY_NS = -(10**12)  # package_scope's window: no file is changed within it
RACY_NS = 3600 * 10**9  # an hour, not two seconds: a loaded machine's test may take those between its write and its run


@pytest.fixture
def not_racy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a test writes are changed `now`, as far as their ctime goes (utime cannot set it back)."""
    monkeypatch.setattr(package_scope, "_RACY_NS", NOT_RACY_NS)


@pytest.fixture
def racy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a test writes are changed a moment ago however slow the test is."""
    monkeypatch.setattr(package_scope, "_RACY_NS", RACY_NS)


def test_a_second_run_reads_no_file_for_its_facts_and_says_the_same(tmp_path, not_racy):
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL, "c_test.go": COMPARES, "d.go": ALIAS})
    first, read = _run(root, tmp_path / "cache")
    assert read == 4
    assert "contexts compared by identity here" in first  # the identity fact, from c_test.go
    second, read = _run(root, tmp_path / "cache")
    assert (second, read) == (first, 0)
    fresh, _ = _run(root, tmp_path / "cache", "--no-cache")
    assert fresh == first


def test_a_changed_sibling_is_read_again_and_the_others_are_not(tmp_path, not_racy):
    """Unless the change is to the names the package may declare a context: then each file is
    asked again whether it may compare one (ComparisonFacts.may_compare)."""
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL, "c.go": COMPARES.replace("a == b", "false")})
    run_cli(".", cwd=root, env={"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}, check=0)  # writes f.go
    assert 'otelapi "go.opentelemetry.io/otel"' in (root / "f.go").read_text()
    (root / "f.go").write_text(TARGET)
    (root / "c.go").write_text(COMPARES)
    _age(root / "f.go", root / "c.go")
    said, read = _run(root, tmp_path / "cache")
    assert read == 2  # f.go (written) and c.go
    assert "contexts compared by identity here" in said
    (root / "c.go").write_text("package p\n")
    _age(root / "c.go")
    said, read = _run(root, tmp_path / "cache")
    assert read == 3  # c.go, and the others asked about the names left (f.go's ctx)
    assert "contexts compared by identity here" not in said


METHOD = 'package p\n\nimport "context"\n\ntype T struct{}\n\nfunc (T) M(ctx context.Context) {}\n'
INIT = 'package p\n\nimport "context"\n\nfunc init() {\n\tgo func(ctx context.Context) {}(nil)\n}\n'


@pytest.mark.parametrize(
    ("first", "then"),
    [
        # other import names asked of every file (a record's `d`, by the set of names)
        ((), ("--backend", "datadog")),
        # a method: the package's aliases asked of every file (`a`)
        (("f.go",), ("m.go",)),
        # an init function holding a literal: every file's package clause and init count (`g`)
        (("f.go",), ("i.go",)),
    ],
    ids=["names", "aliases", "inits"],
)
def test_a_fact_added_to_the_kept_records_is_kept_too(tmp_path, not_racy, first, then):
    """A fact asked of files whose records are kept (which the last run did not need: each file
    is read for it) is saved with them: the run after reads none of them."""
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL, "c.go": "package p\n", "m.go": METHOD, "i.go": INIT})
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args: str) -> tuple[str, int]:
        before = package_scope.files_read
        proc = run_cli("--check", *(args if args and args[-1].endswith(".go") else (*args, ".")), cwd=root, env=env)
        return proc.stdout + proc.stderr, package_scope.files_read - before

    run(*first)
    said, count = run(*then)
    assert count == 5
    assert run(*then) == (said, 0)


def test_a_sibling_rewritten_under_the_same_size_and_time_is_read_again(tmp_path, not_racy):
    """Its ctime, which no tool sets back, tells: the new bytes' facts, not the kept ones."""
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL})
    cache = tmp_path / "cache"
    first, _ = _run(root, cache, "--diff")
    assert "otelapi" in first
    stat = (root / "b.go").stat()
    (root / "b.go").write_text(NO_OTEL[: len(OTEL) - 1] + "\n")
    os.utime(root / "b.go", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert ((root / "b.go").stat().st_size, (root / "b.go").stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    second, read = _run(root, cache, "--diff")
    assert read == 1
    assert "otelapi" not in second


def test_a_file_changed_within_the_racy_window_is_not_kept(tmp_path, racy):
    """A file changed less than two seconds before it was read may change again under the same
    stamp: its facts serve the run, and are worked out again by the next."""
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL})
    _run(root, tmp_path / "cache")
    _, read = _run(root, tmp_path / "cache")
    assert read == 2


def test_a_run_that_only_changed_racy_files_writes_no_facts(tmp_path, monkeypatch):
    """What a run would write leaves out a file changed a moment ago (the one a hook commits):
    where that is all that changed, the facts kept are left as they are, unwritten."""
    monkeypatch.setattr(package_scope, "_RACY_NS", NOT_RACY_NS)
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL})
    _run(root, tmp_path / "cache")
    kept = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (tmp_path / "cache" / "facts").iterdir()}
    (root / "b.go").write_text(NO_OTEL)
    monkeypatch.setattr(package_scope, "_RACY_NS", RACY_NS)  # racy now, however slow the run
    second, read = _run(root, tmp_path / "cache")
    assert read == 1 and "otelapi" not in second
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (tmp_path / "cache" / "facts").iterdir()} == kept


def test_no_cache_keeps_no_facts(tmp_path, not_racy):
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL})
    _run(root, tmp_path / "cache", "--no-cache")
    assert not (tmp_path / "cache").exists()
    _, read = _run(root, tmp_path / "cache", "--no-cache")
    assert read == 2


def test_a_staged_package_s_facts_are_kept_by_blob_id(tmp_path):
    """The hook's package is the index's: its blobs' facts are kept by their ids (never racy), and
    a sibling staged anew is read again, the others not."""
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": "package p\n", "c.go": COMPARES})
    repo.write("f.go", TARGET + "\nfunc G(ctx context.Context) {}\n")
    repo.add("f.go")
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}

    def staged() -> tuple[str, int]:
        before = package_scope.files_read
        proc = run_cli("--staged", "--diff", cwd=repo.root, env=env, check=0)
        return proc.stdout, package_scope.files_read - before

    first, read = staged()
    assert read == 2 and '"go.opentelemetry.io/otel"' in first  # b.go and c.go: f.go's blob, processed, is at hand
    assert staged() == (first, 0)
    repo.write("b.go", OTEL)
    repo.add("b.go")
    second, read = staged()
    assert read == 1  # the blob whose facts are missing, not the package's others
    assert 'otelapi "go.opentelemetry.io/otel"' in second
    assert staged() == (second, 0)
    repo.write("f.go", TARGET + "\nfunc H(ctx context.Context) {}\n")  # the next commit: a new blob
    repo.add("f.go")
    third, read = staged()
    assert read == 0  # the blob processed is at hand, the others' facts are kept
    assert 'otelapi "go.opentelemetry.io/otel"' in third and "func H" in third
    repo.write("b.go", "package p\n")  # not staged: the index's b.go still declares otel
    assert staged() == (third, 0)


@pytest.mark.parametrize("kept", ["{not json", '{"key": 1}', "[]"])
def test_a_facts_file_that_is_not_ours_costs_a_read_only(tmp_path, not_racy, kept):
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL})
    first, _ = _run(root, tmp_path / "cache")
    for path in (tmp_path / "cache" / "facts").iterdir():
        path.write_text(kept)
    second, read = _run(root, tmp_path / "cache")
    assert (second, read) == (first, 2)


@pytest.mark.parametrize("entry", [1, None, [], ["stamp"], [[1, 2, 3, 4], "record"], [[1, 2, 3, 4], {}, "more"]])
def test_a_kept_entry_that_is_not_a_stamp_and_a_record_costs_a_read_only(tmp_path, not_racy, entry):
    root = _package(tmp_path / "m", {"f.go": TARGET, "b.go": OTEL})
    first, _ = _run(root, tmp_path / "cache")
    for path in (tmp_path / "cache" / "facts").iterdir():
        kept = json.loads(path.read_text())
        kept["files"] = dict.fromkeys(kept["files"], entry)
        path.write_text(json.dumps(kept))
    second, read = _run(root, tmp_path / "cache")
    assert (second, read) == (first, 2)


def test_a_package_whose_names_are_not_utf8_keeps_its_facts(tmp_path, not_racy):
    root = Path(os.fsdecode(bytes(tmp_path) + b"/pk\xe9"))
    _package(root, {"f.go": TARGET, os.fsdecode(b"b\xff.go"): OTEL})
    first, read = _run(root, tmp_path / "cache")
    assert read == 2 and "internal error" not in first
    assert _run(root, tmp_path / "cache") == (first, 0)


# The hook's working-tree copy of a staged file holding the staged bytes is spared (its outcome is
# the blob's) where each sibling on disk holds its staged blob: known from the blob id kept with the
# sibling's facts, by its stamp, not from reading (and hashing) the package again.

_opened: list[str] | None = None  # the files opened while a test counts them
_listed: list[str] | None = None  # the directories listed while a test counts them


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _opened is not None and isinstance(args[0], (str, bytes)):
        _opened.append(os.fsdecode(args[0]))
    if event == "os.scandir" and _listed is not None and isinstance(args[0], (str, bytes)):
        _listed.append(os.path.abspath(os.fsdecode(args[0])))


sys.addaudithook(_audit)


def _hook(repo: GitRepo, cache: Path, staged: str, *args: str) -> list[str]:
    """`--staged` (the hook) run on f.go staged with `staged`; the files of the package it opened,
    as often as it opened them."""
    global _opened
    repo.write("f.go", staged)
    repo.add("f.go")
    _opened = []
    try:
        run_cli("--staged", "--jobs", "1", *args, cwd=repo.root, env={"GOINSTRUMENT_CACHE_DIR": str(cache)}, check=0)
        return sorted(os.path.basename(p) for p in _opened if os.path.dirname(os.path.abspath(p)) == str(repo.root))
    finally:
        _opened = None


def test_a_hook_run_without_the_cache_reads_each_sibling_once(tmp_path):
    """No facts kept: the read of the index's blobs (each from its working-tree file) tells whether
    the package on disk is the index's; its siblings are not read again for their blob ids."""
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL, "c.go": "package p\n"})
    opened = _hook(repo, tmp_path / "cache", TARGET + "\nfunc G(ctx context.Context) {}\n", "--no-cache")
    assert (opened.count("b.go"), opened.count("c.go")) == (1, 1)
    assert 'otelapi "go.opentelemetry.io/otel"' in repo.staged("f.go") and repo.read("f.go") == repo.staged("f.go")
    assert not (tmp_path / "cache").exists()


def _second_commit(text: str) -> str:
    return text + "\nfunc H(ctx context.Context) {}\n"


def test_a_hook_run_reads_no_sibling_unchanged_since_the_last(tmp_path, not_racy):
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL, "c.go": "package p\n"})
    assert {"b.go", "c.go"} <= set(_hook(repo, tmp_path / "cache", TARGET + "\nfunc G(ctx context.Context) {}\n"))
    opened = _hook(repo, tmp_path / "cache", _second_commit(repo.read("f.go")))
    assert "b.go" not in opened and "c.go" not in opened and "f.go" in opened
    assert 'otelapi "go.opentelemetry.io/otel"' in repo.staged("f.go") and "func H" in repo.staged("f.go")
    assert repo.read("f.go") == repo.staged("f.go") and repo.status() == "M  f.go\n"


def _sibling_changed_on_disk(repo: GitRepo, cache: Path, change: Callable[[], None]) -> None:
    """b.go declares otel in the index, not on disk: the committed f.go imports otel as otelapi, the
    working-tree copy under its own name."""
    _hook(repo, cache, TARGET + "\nfunc G(ctx context.Context) {}\n")
    change()
    _hook(repo, cache, _second_commit(TARGET))
    assert 'otelapi "go.opentelemetry.io/otel"' in repo.staged("f.go")
    assert '\t"go.opentelemetry.io/otel"\n' in repo.read("f.go") and "func H" in repo.read("f.go")


def _same_stamp_but_ctime(repo: GitRepo) -> None:
    """b.go rewritten under its size and time: only its ctime (which no tool sets back) tells."""
    stat = repo.path("b.go").stat()
    repo.write("b.go", NO_OTEL[: len(OTEL) - 1] + "\n")
    os.utime(repo.path("b.go"), ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_sibling_edited_and_not_staged_is_not_taken_for_its_blob(tmp_path, not_racy):
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL})
    _sibling_changed_on_disk(repo, tmp_path / "cache", lambda: _same_stamp_but_ctime(repo))


def test_a_sibling_marked_assume_unchanged_is_looked_at_all_the_same(tmp_path, not_racy):
    """Git takes its word for it (`git diff-files` lists no change): the bytes on disk decide."""
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL})
    repo.git("update-index", "--assume-unchanged", "b.go")
    _sibling_changed_on_disk(repo, tmp_path / "cache", lambda: _same_stamp_but_ctime(repo))
    assert repo.git("ls-files", "-v", "b.go") == "h b.go\n"  # still marked


def test_a_sibling_changed_within_the_racy_window_is_read_again(tmp_path, racy):
    """Written less than two seconds before the run (as racy as git's index entries can be): its
    blob id is not kept, the next run reads it again."""
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL})
    _hook(repo, tmp_path / "cache", TARGET + "\nfunc G(ctx context.Context) {}\n")
    assert "b.go" in _hook(repo, tmp_path / "cache", _second_commit(repo.read("f.go")))


# The server's warm-up (zygote._warm_engine, package_scope.warm): the patterns a run compiles where
# first used that depend on no repository are compiled once in the server, not in each run it forks.

_PROBE = """
import importlib, json, sys
from re import _compiler
from goinstrument import zygote
from goinstrument.driver import package_scope
from goinstrument.engine.result import Position

for name in zygote.WARM:
    importlib.import_module(name)
if sys.argv[1] == "warm":
    zygote._warm_engine()
left = {  # what the warm-up left that a repository's run would key by a path, a directory, a blob
    "caches": [f.__name__ for f in (package_scope._kept, package_scope.package_declarations, package_scope.context_comparison,
        package_scope._index_read, package_scope.package_aliases, package_scope._go_files, package_scope._literal_numbers,
        package_scope.package_iterators) if f.cache_info().currsize],
    "state": [package_scope._last_read[0], package_scope.files_read, package_scope._facts_home, sorted(package_scope._touched)],
}
compiled = []  # (the function of ours that compiled a pattern) during the run
original = _compiler.compile


def compile(pattern, flags=0):
    frame = sys._getframe(1)
    while frame is not None and "goinstrument" not in frame.f_code.co_filename:
        frame = frame.f_back
    compiled.append(frame.f_code.co_name if frame is not None else "")
    return original(pattern, flags)


_compiler.compile = compile
import goinstrument.cli
try:
    goinstrument.cli.main(["--staged", "--jobs", "1"])
except SystemExit:
    pass
print(json.dumps({"left": left, "compiled": compiled}), file=sys.stderr)
"""

_WARMED = {"_may_declare", "_gate"}


def test_the_server_s_warm_up_spares_each_run_the_patterns_no_repository_decides(tmp_path):
    """A staged file of a package using the usual names (ctx, _, the otel backend's `errors`): a
    run forked from a warm server compiles none of those patterns, which a run without the
    warm-up compiles; the warm-up keeps nothing of a path or repository."""
    import json
    import subprocess

    from conftest import REPO

    sibling = (
        'package p\n\nimport (\n\t"context"\n\t"errors"\n)\n\n'
        'func same(ctx context.Context, _ context.Context) bool {\n\treturn ctx == nil && errors.New("") != nil\n}\n'
    )
    said = {}
    for mode in ("warm", "cold"):
        repo = GitRepo.go_module(tmp_path / mode, {"f.go": TARGET, "b.go": sibling})
        repo.write("f.go", TARGET + "\nfunc G(ctx context.Context) {}\n")
        repo.add("f.go")
        env = {**os.environ, "PYTHONPATH": str(REPO), "GOINSTRUMENT_CACHE_DIR": str(tmp_path / f"cache-{mode}")}
        proc = subprocess.run([sys.executable, "-c", _PROBE, mode], cwd=repo.root, env=env, capture_output=True, text=True, check=True)
        said[mode] = json.loads(proc.stderr.splitlines()[-1])
        assert "otel" in repo.staged("f.go")
    assert set(said["cold"]["compiled"]) >= _WARMED  # what the test is about: the run compiles them
    assert not _WARMED & set(said["warm"]["compiled"])
    assert said["warm"]["left"]["caches"] == [] and said["warm"]["left"]["state"] == ["", 0, None, []]


def test_a_blob_id_added_to_a_kept_record_is_kept_too(tmp_path, not_racy):
    """The siblings' facts kept by a run on the working tree, without their blob ids: the hook's
    first run reads them for their ids, and keeps these, the next reads none of them."""
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL, "c.go": "package p\n"})
    cache = tmp_path / "cache"
    repo.write("f.go", TARGET + "\nfunc G(ctx context.Context) {}\n")
    repo.add("f.go")
    run_cli("--check", ".", cwd=repo.root, env={"GOINSTRUMENT_CACHE_DIR": str(cache)})
    global _opened
    _opened = []
    try:
        run_cli("--staged", "--jobs", "1", cwd=repo.root, env={"GOINSTRUMENT_CACHE_DIR": str(cache)}, check=0)
        assert {"b.go", "c.go"} <= {os.path.basename(p) for p in _opened}
    finally:
        _opened = None
    opened = _hook(repo, cache, _second_commit(repo.read("f.go")))
    assert "b.go" not in opened and "c.go" not in opened


def test_the_identity_facts_added_to_kept_records_are_kept_too(tmp_path, not_racy):
    """Whether a file may compare contexts, its names, its comparisons (behaviour.ComparisonFacts),
    worked out for records kept without them, are saved with them."""
    from conftest import _forget_caches

    root = _package(tmp_path / "m", {"f.go": TARGET, "c.go": COMPARES})
    package_scope.keep_facts(str(tmp_path / "facts"))

    def kept() -> dict[str, list[str]]:
        """The parts of each record kept; then a run afresh (as a process of its own starts)."""
        _forget_caches()
        package_scope.keep_facts(str(tmp_path / "facts"))
        (facts,) = (tmp_path / "facts").iterdir()
        return {name: sorted(record) for name, (_, record) in json.loads(facts.read_text())["files"].items()}

    try:
        assert package_scope.package_aliases(str(root)) == ()
        package_scope.save_facts()
        assert kept() == {"c.go": ["a"], "f.go": ["a"]}
        assert package_scope.context_comparison(str(root)) == ("c.go", Position(5, 47))
        package_scope.save_facts()
        assert kept() == {"c.go": ["a", "b"], "f.go": ["a", "b"]}
    finally:
        _forget_caches()


def test_the_commit_of_one_file_of_a_package_writes_no_facts_where_the_others_are_kept(tmp_path, not_racy):
    """The staged blob a hook's run processes, and its working-tree copy, are rewritten by the run
    (the next commit stages another blob): their records alone are no reason to write the facts."""
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "b.go": OTEL, "c.go": "package p\n"})
    cache = tmp_path / "cache"
    _hook(repo, cache, TARGET + "\nfunc G(ctx context.Context) {}\n")
    kept = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (cache / "facts").iterdir()}
    assert len(kept) == 2  # the index's directory, the working tree's
    for n in range(2):
        opened = _hook(repo, cache, repo.read("f.go") + f"\nfunc H{n}(ctx context.Context) {{}}\n")
        assert "b.go" not in opened and "c.go" not in opened
        assert 'otelapi "go.opentelemetry.io/otel"' in repo.staged("f.go") and f"func H{n}" in repo.staged("f.go")
        assert repo.read("f.go") == repo.staged("f.go")
        assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (cache / "facts").iterdir()} == kept


def test_a_commit_of_two_files_of_a_package_looks_at_its_directory_once(tmp_path, not_racy):
    """Whether the package on disk holds the index's blobs is the run's answer, as its other facts
    are: the second staged file's working-tree copy is told it without listing the directory again."""
    global _listed
    repo = GitRepo.go_module(tmp_path / "repo", {"f.go": TARGET, "g.go": TARGET.replace("func F", "func G"), "b.go": OTEL})
    cache = tmp_path / "cache"
    _hook(repo, cache, TARGET + "\nfunc H(ctx context.Context) {}\n")  # the facts kept
    repo.write("f.go", repo.read("f.go") + "\nfunc I(ctx context.Context) {}\n")
    repo.write("g.go", repo.read("g.go") + "\nfunc J(ctx context.Context) {}\n")
    repo.add("f.go", "g.go")
    _listed = []
    try:
        run_cli("--staged", "--jobs", "1", cwd=repo.root, env={"GOINSTRUMENT_CACHE_DIR": str(cache)}, check=0)
        assert _listed.count(str(repo.root)) == 1
    finally:
        _listed = None
    for name, function in (("f.go", "func I"), ("g.go", "func J")):
        assert function in repo.staged(name) and repo.read(name) == repo.staged(name)


def test_the_server_s_warm_up_works_out_every_platforms_tags(tmp_path):
    """What the first build constraint a run judges needs (buildtags.platforms), no repository's:
    worked out in the server, once, not in each run it forks."""
    import subprocess

    from conftest import REPO

    probe = (
        "from goinstrument import zygote\nfrom goinstrument.engine.go import buildtags\n"
        "zygote._warm_engine()\nprint(buildtags.platforms.cache_info().currsize)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1"]
