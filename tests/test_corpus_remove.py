"""--remove over the Go standard library (DESIGN §9).

A copy of $(go env GOROOT)/src, tests included, is instrumented and then
`--remove`d. Every file whose instrumentation changed no signature and opened
up no one-line body (judged by comparing the syntax trees of the original and
the instrumented file, see test_remove.undo_blockers) must come back byte for
byte. With --no-name-results fewer signatures change, so more files take
the round trip. The rest must parse, stay gofmt-clean if they were, and a second
--remove changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import nothing_changed, run_cli
from gotools import go_env, gofmt_bin
from test_remove import undo_blockers

from goinstrument.engine.go import syntax

pytestmark = pytest.mark.slow


def _gofmt_dirty(paths: list[Path]) -> set[Path]:
    dirty: set[Path] = set()
    for i in range(0, len(paths), 500):
        proc = subprocess.run([gofmt_bin(), "-l", *map(str, paths[i : i + 500])], capture_output=True, text=True)
        dirty.update(Path(line) for line in proc.stdout.splitlines() if line)
    return dirty


def _sources(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*.go") if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("flags", [(), ("--no-name-results",)], ids=["default", "no-name-results"])
def test_standard_library_comes_back_after_remove(tmp_path, flags):
    original = Path(go_env("GOROOT"), "src")
    copy = tmp_path / "src"
    shutil.copytree(original, copy, symlinks=True)
    before = _sources(copy)
    first = run_cli("--tests", "--no-cache", "--jobs", "2", "-q", *flags, copy)
    assert first.returncode in (0, 2), first.stderr  # testdata Go itself cannot build may be reported
    instrumented = {name: data for name, data in _sources(copy).items() if data != before[name]}
    assert len(instrumented) > 100

    removed = run_cli("--remove", "--tests", "--no-cache", "--jobs", "2", copy)
    assert removed.returncode in (0, 2), removed.stderr
    after = _sources(copy)
    untouched = [n for n in before if n not in instrumented and after[n] != before[n]]
    assert untouched == [], f"--remove changed files instrumenting had not: {untouched[:10]}"

    blockers: Counter[str] = Counter()
    identical, differing = 0, []
    for name, data in instrumented.items():
        reasons = undo_blockers(before[name], data)
        if reasons:
            blockers.update({r.split(": ")[-1] for r in reasons})
        elif after[name] == before[name]:
            identical += 1
        else:
            differing.append(str(name))
    blocked = len(instrumented) - identical - len(differing)
    print(
        f"\nstandard library ({' '.join(flags) or 'defaults'}): {len(before)} files, {len(instrumented)} instrumented; "
        f"{identical} byte-identical after --remove, {blocked} not undoable by design "
        f"({', '.join(f'{n} {r}' for r, n in blockers.most_common())})"
    )
    assert differing == [], f"{len(differing)} undoable files did not come back: {differing[:10]}"
    assert identical > 50

    new_errors = [str(n) for n in instrumented if syntax.parse(after[n]).root_node.has_error and not syntax.parse(before[n]).root_node.has_error]
    assert new_errors == []
    was_dirty = {p.relative_to(original) for p in _gofmt_dirty([original / n for n in instrumented])}
    now_dirty = {p.relative_to(copy) for p in _gofmt_dirty([copy / n for n in instrumented])}
    assert now_dirty <= was_dirty, f"no longer gofmt-clean: {sorted(map(str, now_dirty - was_dirty))[:20]}"

    second = run_cli("--remove", "--tests", "--no-cache", "--jobs", "2", copy)
    assert _sources(copy) == after, "a second --remove changed files"
    assert nothing_changed(second.stderr), second.stderr
