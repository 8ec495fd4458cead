"""Every pair of rewrite options gives a stable, building result on the fixtures module.

The options are factors with a few values each; `ROWS` is a pairwise
covering of them (every value of one factor meets every value of every other
in some row, where the two can go together), built greedily and checked by a
fast test. Each row instruments a copy of fixtures/gomod in process
(`goinstrument.cli.main`), which must exit 0; a second run must change
nothing; `go build ./...` and `go vet ./...` must pass, and the output must
be gofmt-clean (except with `--line-directives`, whose output is for builds
only, not to be committed). And a setting changed over the instrumented
module updates every span: the same tree as instrumenting with it at once.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import nothing_changed
from gotools import GOMOD_FIXTURE, copy_module, digest_changes, go_build_vet, gofmt_l, run_go, tree_digest

from goinstrument import cli

DD_TRACE_GO = "github.com/DataDog/dd-trace-go/v2@v2.12.0"  # as tests/test_backends.py

# factor -> its values, each the flags it adds (the first: the default)
FACTORS: dict[str, list[tuple[str, ...]]] = {
    "attributes": [(), ("--attributes", "args"), ("--attributes", "results"), ("--attributes", "code"), ("--attributes", "args,results,code")],
    "line-directives": [(), ("--line-directives",)],
    "http-handlers": [(), ("--http-handlers",)],
    "backend": [(), ("--backend", "datadog")],
    "span-name": [(), ("--span-name", "{package}.{type}.{func}")],
    "min-statements": [(), ("--min-statements", "2")],
    "literals": [(), ("--no-literals",)],
    "name-results": [(), ("--no-name-results",)],
    "all": [(), ("--no-all",)],
    "tests": [(), ("--tests",)],
}
NAMES = list(FACTORS)


def _allowed(row: dict[str, int]) -> bool:
    """Datadog renders no attributes: asking for them is a usage error, not a combination."""
    return not (row.get("backend") == 1 and row.get("attributes", 0) != 0)


def _pairs() -> set[tuple[str, int, str, int]]:
    """Every pair of values of two factors that can go together."""
    return {
        (a, i, b, j)
        for a, b in itertools.combinations(NAMES, 2)
        for i in range(len(FACTORS[a]))
        for j in range(len(FACTORS[b]))
        if _allowed({a: i, b: j})
    }


def _covered(row: dict[str, int]) -> set[tuple[str, int, str, int]]:
    return {(a, row[a], b, row[b]) for a, b in itertools.combinations(NAMES, 2)}


def _covering() -> list[dict[str, int]]:
    """A small set of rows covering every pair, built greedily (deterministic): each row starts
    from a pair not yet covered and takes, factor by factor, the value covering the most new pairs."""
    left = _pairs()
    rows: list[dict[str, int]] = []
    while left:
        a, i, b, j = min(left, key=lambda p: (NAMES.index(p[0]), NAMES.index(p[2]), p[1], p[3]))
        row = {a: i, b: j}
        for name in NAMES:
            if name in row:
                continue
            options = [v for v in range(len(FACTORS[name])) if _allowed({**row, name: v})]
            row[name] = max(options, key=lambda v: (sum(1 for p in left if _in(p, {**row, name: v})), -v))
        rows.append(row)
        left -= _covered(row)
    return rows


def _in(pair: tuple[str, int, str, int], row: dict[str, int]) -> bool:
    a, i, b, j = pair
    return row.get(a) == i and row.get(b) == j


ROWS = _covering()


def _flags(row: dict[str, int]) -> list[str]:
    return [flag for name in NAMES for flag in FACTORS[name][row[name]]]


def _id(row: dict[str, int]) -> str:
    return "+".join(f"{name}{row[name]}" for name in NAMES if row[name]) or "defaults"


def test_the_rows_cover_every_pair():
    covered = set().union(*(_covered(row) for row in ROWS))
    assert _pairs() <= covered
    assert all(_allowed(row) for row in ROWS)
    assert len(ROWS) <= 14  # one go build and vet each: keep the matrix to a few minutes


def _run(flags: list[str], root: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.chdir(root)
    code = cli.main([*flags, "--no-cache", "."])
    return code, capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_every_pair_of_options_builds_and_is_stable(row, tmp_path, monkeypatch, capsys):
    flags = _flags(row)
    what = " ".join(flags) or "(defaults)"
    copy = copy_module(GOMOD_FIXTURE, tmp_path)
    code, err = _run(flags, copy, monkeypatch, capsys)
    assert code == 0, f"{what}: exit {code}\n{err}"
    once = tree_digest(copy)
    code, err = _run(flags, copy, monkeypatch, capsys)
    assert code == 0, f"{what}, second run: exit {code}\n{err}"
    assert digest_changes(once, tree_digest(copy)) == [], f"{what}: a second run changed files\n{err}"
    assert nothing_changed(err), err
    if "datadog" in flags:
        for args in (["get", DD_TRACE_GO], ["mod", "tidy"]):  # the requirements of what the output imports
            proc = run_go(args, copy)
            assert proc.returncode == 0, proc.stderr
    go_build_vet(copy, context=f"{what}: ")
    if "--line-directives" not in flags:  # build-time output is not meant to be committed
        assert gofmt_l(copy) == [], what


@pytest.mark.slow
def test_changing_attributes_on_an_instrumented_module(tmp_path, monkeypatch, capsys):
    """Turned on over the instrumented fixtures module, `--attributes` gives what instrumenting with it at
    once gives (and builds); turned off again, what the first run gave. `--check` reports the change."""
    fresh = copy_module(GOMOD_FIXTURE, tmp_path, "fresh")
    assert _run(["--attributes", "args,results,code"], fresh, monkeypatch, capsys)[0] == 0
    work = copy_module(GOMOD_FIXTURE, tmp_path, "work")
    assert _run([], work, monkeypatch, capsys)[0] == 0
    plain = tree_digest(work)
    monkeypatch.chdir(work)
    assert cli.main(["--check", "--attributes", "args,results,code", "."]) == 1
    assert "span is out of date (attributes)" in capsys.readouterr().out
    assert _run(["--attributes", "args,results,code"], work, monkeypatch, capsys)[0] == 0
    assert digest_changes(tree_digest(fresh), tree_digest(work)) == []
    go_build_vet(work, context="--attributes turned on: ")
    assert _run([], work, monkeypatch, capsys)[0] == 0
    assert digest_changes(plain, tree_digest(work)) == []
