"""The Go standard library as a large real corpus (DESIGN §9).

Every .go file under $(go env GOROOT)/src, tests included, is copied and
instrumented. Files that were gofmt-clean stay gofmt-clean, every output
re-parses without new syntax errors, and a second run changes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import nothing_changed, run_cli

from goinstrument.engine.go import syntax

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("test_corpus"),
]  # one worker of pytest-xdist runs them all (scripts/test's --dist loadgroup): the module's shared fixture is built once


def _goroot_src() -> Path:
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(goroot, "src")


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.go") if p.is_file()}


def _gofmt_dirty(paths: list[Path]) -> set[str]:
    dirty: set[str] = set()
    for i in range(0, len(paths), 500):
        proc = subprocess.run(["gofmt", "-l", *map(str, paths[i : i + 500])], capture_output=True, text=True)
        dirty.update(line for line in proc.stdout.splitlines() if line)
    return dirty


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    original = _goroot_src()
    copy = tmp_path_factory.mktemp("goroot") / "src"
    shutil.copytree(original, copy, symlinks=True)
    return original, copy


def test_standard_library(corpus, tmp_path):
    original, copy = corpus
    before = _digests(copy)
    first = run_cli("--tests", "--no-cache", "--jobs", "2", copy)
    # Files Go itself cannot build (testdata is skipped) may still be reported; nothing else.
    assert first.returncode in (0, 2), first.stderr
    after = _digests(copy)
    changed = sorted(name for name in after if after[name] != before[name])
    spans = sum((copy / n).read_bytes().count(b"defer span") for n in changed)
    print(f"\nstandard library: {len(before)} files, {len(changed)} instrumented, {first.stderr.strip().splitlines()[-1]}")
    assert len(changed) > 100 and spans > 500

    was_dirty = {str(Path(p).relative_to(original)) for p in _gofmt_dirty([original / n for n in changed])}
    now_dirty = {str(Path(p).relative_to(copy)) for p in _gofmt_dirty([copy / n for n in changed])}
    assert now_dirty <= was_dirty, f"no longer gofmt-clean: {sorted(now_dirty - was_dirty)[:20]}"

    new_errors = [
        n
        for n in changed
        if syntax.parse((copy / n).read_bytes()).root_node.has_error and not syntax.parse((original / n).read_bytes()).root_node.has_error
    ]
    assert new_errors == []

    second = run_cli("--tests", "--no-cache", "--jobs", "2", copy)
    assert _digests(copy) == after, "a second run changed files"
    assert nothing_changed(second.stderr), second.stderr
