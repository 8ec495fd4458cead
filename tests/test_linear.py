"""Cost linear in the file's size: the helpers that replaced quadratic passes give what the passes gave.

No timing here: each helper is checked against the plain (quadratic) computation
it replaced, on the goldens and on random cases, and `--diff`'s own line diff
against difflib's text and against `git apply`. bench/bench_huge.py measures.
"""

from __future__ import annotations

import difflib
import importlib.util
import itertools
import random
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from goinstrument.engine.edits import DisjointRanges, Edit, Ranges
from goinstrument.engine.go.linedirectives import numbering
from goinstrument.engine.plan import Lines, render
from goinstrument.report import linediff

FIXTURES = Path(__file__).parent.parent / "fixtures"
PAIRS = sorted((p, p.with_name(p.name.replace(".input.go", ".golden.go"))) for d in ("golden", "remove") for p in (FIXTURES / d).glob("*.input.go"))


def _bench_huge():
    spec = importlib.util.spec_from_file_location("bench_huge", Path(__file__).parent.parent / "bench" / "bench_huge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_ranges_answer_as_a_scan_of_every_range_does(seed: int) -> None:
    rng = random.Random(seed)
    ranges = [(s, s + rng.randrange(0, 30)) for s in (rng.randrange(0, 200) for _ in range(rng.randrange(0, 25)))]  # overlapping, nested, empty
    inside = Ranges(ranges)
    for offset in range(-2, 240):
        assert (offset in inside) == any(start <= offset < end for start, end in ranges), (offset, ranges)


@pytest.mark.parametrize("seed", range(20))
def test_disjoint_ranges_added_between_questions_answer_as_a_scan(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(300), 40))
    pairs = list(zip(cuts[0::2], cuts[1::2], strict=True))  # disjoint, each non-empty
    rng.shuffle(pairs)
    inside, added = DisjointRanges(), []
    for start, end in pairs:
        inside.add(start, end)
        added.append((start, end))
        for offset in rng.sample(range(-2, 305), 30):
            assert (offset in inside) == any(a <= offset < b for a, b in added), (offset, added)


# plan.render: one running sum ----------------------------------------------------------------


class _Plan(NamedTuple):
    """What render reads of a plan: its start, its row, and its edits for a line."""

    start: int
    row: int
    text: bytes
    at: int

    def edits(self, line: int) -> tuple[Edit, ...]:
        return (Edit(self.at, self.at, self.text + str(line).encode()),)


def _render_by_sums(src: bytes, fixed: list[Edit], plans: list[_Plan]) -> list[Edit]:
    """render as it was: every plan sums over every edit before it."""
    edits = list(fixed)
    for plan in sorted(plans, key=lambda p: p.start):
        line = (
            plan.row + 1 + sum(e.text.count(b"\n") - src.count(b"\n", e.start, e.end) for e in edits if e.end <= plan.start and e.start < plan.start)
        )
        edits.extend(plan.edits(line))
    return edits


@pytest.mark.parametrize("seed", range(30))
def test_render_gives_each_plan_the_line_the_edits_before_it_make(seed: int) -> None:
    rng = random.Random(seed)
    src = b"".join(rng.choice([b"a", b"\n", b"bc\n"]) for _ in range(300))
    cuts = sorted(rng.sample(range(len(src) + 1), 40))
    fixed = [Edit(s, e, rng.choice([b"", b"\n", b"x\n\n"])) for s, e in zip(cuts[0::4], cuts[1::4], strict=False)]  # replacements and deletions
    fixed += [Edit(c, c, b"\n") for c in cuts[2::4]]  # insertions, some where a plan starts
    starts = sorted(set(cuts[2::2]))
    # A plan's edits lie after its start, some before the next plan, some at a later plan's start.
    plans = [_Plan(s, src.count(b"\n", 0, s), rng.choice([b"\n", b"", b"\n\n"]), rng.choice([s, *[t for t in starts if t > s][:1]])) for s in starts]
    assert render(src, fixed, plans, Lines(numbering(src), moved=True)) == _render_by_sums(src, fixed, plans)  # type: ignore[arg-type]  # a _Plan has what render reads
    rendered = render(src, fixed, plans, Lines(numbering(src), moved=False))  # type: ignore[arg-type]
    assert [e.text for e in rendered][len(fixed) :] == [p.text + str(p.row + 1).encode() for p in sorted(plans)]


# --diff: linediff -----------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=lambda p: p.name)
def test_the_diff_of_every_golden_is_no_larger_than_difflibs(before: Path, after: Path) -> None:
    """Mostly difflib's byte for byte; where the unique-line anchors find a shorter edit script
    (where difflib's junk heuristics split worse, or place a blank line elsewhere), never a longer one.
    That every diff applies is test_git_apply_of_every_diff_gives_the_output's."""
    a, b = linediff.patch_lines(before.read_text()), linediff.patch_lines(after.read_text())
    for x, y in ((a, b), (b, a)):  # --diff of instrumenting, and of --remove
        ours = "".join(linediff.unified_diff(x, y, "a/p.go", "b/p.go"))
        theirs = "".join(difflib.unified_diff(x, y, "a/p.go", "b/p.go"))
        assert ours == theirs or _changed_lines(ours) <= _changed_lines(theirs)


def _changed_lines(diff: str) -> int:
    return sum(1 for line in diff.splitlines()[2:] if line[:1] in "+-")


def _mutated(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    out = list(lines)
    for _ in range(rng.randrange(0, 12)):
        at = rng.randrange(0, len(out) + 1)
        kind = rng.randrange(4)
        if kind == 0:
            out[at:at] = [rng.choice([b"\n", b"}\n", b"\tx := 1\n", b"// new\n"]) for _ in range(rng.randrange(1, 4))]
        elif kind == 1:
            del out[at : at + rng.randrange(1, 4)]
        elif kind == 2 and at < len(out):
            out[at] = b"\tchanged()\n"
        else:
            out[at:at] = out[max(0, at - 5) : at]  # repeated lines: no unique anchor near them
    return out


def test_git_apply_of_every_diff_gives_the_output(tmp_path: Path) -> None:
    """Every golden both ways and random edits of them (moved, repeated, deleted lines, a
    missing final line break): `git apply` of the diff turns each `before` into its `after`."""
    rng = random.Random(18)
    cases: list[tuple[bytes, bytes]] = []
    for before, after in PAIRS:
        a, b = before.read_bytes(), after.read_bytes()
        cases += [(a, b), (b, a)]
        for _ in range(3):
            lines = a.splitlines(keepends=True)
            cases.append((a, b"".join(_mutated(rng, lines)).rstrip(b"\n") if rng.random() < 0.2 else b"".join(_mutated(rng, lines))))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    patch = []
    for n, (a, b) in enumerate(cases):
        (tmp_path / f"f{n}.go").write_bytes(a)
        if a != b:
            patch.append(linediff.file_patch(f"f{n}.go", a, b))
    (tmp_path / "all.patch").write_text("".join(patch))
    subprocess.run(["git", "apply", "--whitespace=nowarn", "all.patch"], cwd=tmp_path, check=True, capture_output=True)
    for n, (_, b) in enumerate(cases):
        assert (tmp_path / f"f{n}.go").read_bytes() == b, n


def test_a_big_file_is_cut_into_small_gaps_before_difflib_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quadratic part (difflib's search) only ever sees the lines between two anchors."""
    src = _bench_huge().generate(200_000).decode()
    out = src.replace(") {\n", ') {\n\t_, span := otel.Tracer("huge").Start(ctx, "f")\n\tdefer span.End()\n')
    seen: list[int] = []

    class Spy(difflib.SequenceMatcher[str]):
        def __init__(self, isjunk: None, a: list[str], b: list[str]) -> None:
            seen.append(len(a) + len(b))
            super().__init__(isjunk, a, b)

    monkeypatch.setattr(difflib, "SequenceMatcher", Spy)
    a, b = linediff.patch_lines(src), linediff.patch_lines(out)
    blocks = linediff.matching_blocks(a, b)
    assert sum(size for _, _, size in blocks) == len(a)  # only insertions: every old line matched
    assert seen and max(seen) < 20  # thousands of lines in all, a handful per gap
    monkeypatch.undo()
    head_a, head_b = a[:600], b[: b.index(a[599]) + 1]  # as much as difflib's own search takes in a moment
    assert linediff.matching_blocks(head_a, head_b) == [
        tuple(m) for m in difflib.SequenceMatcher(None, head_a, head_b, autojunk=False).get_matching_blocks()
    ]


def test_an_unchanged_file_has_no_diff() -> None:
    assert linediff.file_patch("p.go", b"package p\n", b"package p\n") == ""
    assert list(linediff.unified_diff([], [], "a", "b")) == []


def test_longest_increasing_chain() -> None:
    assert linediff._longest_increasing([(0, 3), (1, 1), (2, 2), (3, 0), (4, 4)]) == [(1, 1), (2, 2), (4, 4)]
    assert linediff._longest_increasing([]) == []
    rng = random.Random(3)
    for _ in range(50):
        seconds = rng.sample(range(40), rng.randrange(0, 15))
        chain = linediff._longest_increasing(list(enumerate(seconds)))
        assert all(x[1] < y[1] for x, y in itertools.pairwise(chain))
        best = [1] * len(seconds)  # the O(n^2) longest increasing subsequence, for its length
        for i in range(len(seconds)):
            best[i] = 1 + max((best[k] for k in range(i) if seconds[k] < seconds[i]), default=0)
        assert len(chain) == max(best, default=0)
