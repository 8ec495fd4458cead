#!/usr/bin/env python3
"""goinstrument before and after a change, in one table, run by hand (never part of the tests).

    python bench/compare.py --base REV [--repeat N] [--corpus DIR] [--json FILE]
                            [--jobs N] [--tmpdir DIR]

"Before" is the goinstrument package of REV, checked out in a temporary
`git worktree add --detach` (removed afterwards, on Ctrl-C and on failure too).
"After" is the goinstrument package of this working tree, uncommitted changes included.
Both run under the same Python, on the same corpus, with the same scripts (this
checkout's bench.py and bench_git.py) and the same conditions, repetitions interleaved:

  - goinstrument cold, and the no-op 2nd run with the cache (bench.py), best of N;
  - goinstrument --staged on 5 staged files (bench_git.py), median of N;
  - for "after" also the cold run with --fast: the stability check's cost is
    after cold minus after cold --fast. A tree whose goinstrument has no --fast
    gets `n/a` there, with the reason.

Cold, no-op and --staged PASS when "after" is at most 10% slower than "before".
bench/README.md explains the rows. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

# bench/ is on sys.path when this runs as a script: bench/bench_git.py and bench/bench.py.
import bench_git

import bench

REPO = bench.REPO
LIMIT = 0.10  # after may be at most 10% slower than before
WARMUP = 1  # untimed interleaved rounds before the timed ones, for every row
FAST_FLAG = "--fast"


def log(message: str) -> None:
    print(f"[compare] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the two trees


@dataclass
class Side:
    key: str  # "before" or "after"
    root: Path  # the checkout whose goinstrument package runs (first on PYTHONPATH)
    commit: str  # full commit id
    label: str  # what the heading says about it


def git_out(*args: str, cwd: Path = REPO) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`git {' '.join(args)}` exited {done.returncode}: {bench.tail(done.stderr)}")
    return done.stdout.strip()


def describe(commit: str) -> str:
    """`abc1234 "subject"`, the subject cut at 60 characters."""
    short, subject = git_out("log", "-1", "--format=%h%x00%s", commit).split("\0", 1)
    return f'{short} "{subject[:57] + "..." if len(subject) > 60 else subject}"'


def after_side() -> Side:
    head = git_out("rev-parse", "HEAD")
    dirty = git_out("status", "--porcelain", "--", "goinstrument")
    label = describe(head) + (" plus uncommitted changes to goinstrument/" if dirty else "") + f", this working tree ({REPO})"
    return Side("after", REPO, head, label)


@contextlib.contextmanager
def base_worktree(rev: str, parent: str | None) -> Iterator[Side]:
    """REV checked out in a temporary detached worktree, removed again however we leave."""
    commit = git_out("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    scratch = Path(tempfile.mkdtemp(prefix="goinstrument-compare-", dir=parent)).resolve()
    path = scratch / f"before-{commit[:12]}"
    added = False
    try:
        log(f"git worktree add --detach {path} {commit[:12]}")
        added = True  # from here on, a half-made worktree is removed too
        git_out("worktree", "add", "--quiet", "--detach", str(path), commit)
        if not (path / "goinstrument" / "__init__.py").is_file():
            raise SystemExit(f"{rev} ({commit[:12]}) has no goinstrument/__init__.py")
        yield Side("before", path, commit, describe(commit) + f", a temporary worktree of {rev}")
    finally:
        if added:
            done = subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO, capture_output=True, text=True)
            if done.returncode != 0:
                shutil.rmtree(path, ignore_errors=True)
                subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)
            log(f"removed the worktree {path}")
        shutil.rmtree(scratch, ignore_errors=True)


def check_side(side: Side) -> None:
    """Its goinstrument runs, and is imported from its own checkout (not an installed one)."""
    why = bench.goinstrument_ready(side.root)
    if why:
        raise SystemExit(f"{side.key} ({side.root}): {why}")
    origin = bench.goinstrument_origin(side.root)
    if origin != (side.root / "goinstrument").resolve():
        raise SystemExit(f"{side.key}: with {side.root} first on PYTHONPATH, goinstrument is imported from {origin}")


def fast_support(side: Side) -> str | None:
    """None if the side's goinstrument lists --fast in its --help, else why not."""
    env = bench.goinstrument_env(Path(tempfile.gettempdir()), side.root)
    done = subprocess.run([sys.executable, "-m", "goinstrument", "--help"], env=env, capture_output=True, text=True)
    if FAST_FLAG not in done.stdout.split():
        return f"goinstrument at {side.commit[:12]} has no {FAST_FLAG} flag (not in its --help)"
    return None


# ---------------------------------------------------------------- measuring, interleaved


def rounds(repeat: int) -> Iterator[tuple[bool, str, bool]]:
    """(timed, label, reversed order) per round: WARMUP untimed rounds, then `repeat` timed
    ones; every other timed round runs the jobs in reverse order, so that neither tree
    always goes first. The first timed round (and the warm-up) goes in the given order."""
    for i in range(WARMUP + repeat):
        timed = i >= WARMUP
        yield timed, f"{i - WARMUP + 1}/{repeat}" if timed else "warm-up", timed and (i - WARMUP) % 2 == 1


@dataclass
class TreeRows:
    """bench.py's rows for one side, and throw-away rows for its warm-up rounds."""

    cold: bench.Row
    noop: bench.Row
    warm_cold: bench.Row
    warm_noop: bench.Row


def run_tree_rows(
    sides: list[Side], corpus: Path, files: int, jobs: int | None, repeat: int, tmpdir: str | None
) -> tuple[dict[str, TreeRows], bench.Row, str | None]:
    """Cold and no-op for each side and cold --fast for "after", interleaved; each on a
    fresh copy of the corpus with an empty cache, as bench.py does them."""
    rows = {s.key: TreeRows(*(bench.Row(name, files=files) for name in ("goinstrument cold", "goinstrument 2nd run (no-op)") * 2)) for s in sides}
    after = next(s for s in sides if s.key == "after")
    fast = bench.Row(f"goinstrument cold {FAST_FLAG}", files=files)
    fast_why = fast_support(after)
    if fast_why:
        log(f"cold {FAST_FLAG}: n/a: {fast_why}")
    ws = bench.Workspace(corpus, tmpdir, keep=False)
    try:
        # One round: before cold + no-op, after cold + no-op, after cold --fast (reversed every other round).
        jobs_in_round = [(side, False) for side in sides] + [(after, True)]
        for timed, label, backwards in rounds(repeat):
            for side, with_fast in reversed(jobs_in_round) if backwards else jobs_in_round:
                r = rows[side.key]
                if not with_fast:
                    cold, noop = (r.cold, r.noop) if timed else (r.warm_cold, r.warm_noop)
                    bench.goinstrument_once(ws, jobs, cold, [(noop, ())], f"({side.key}) {label}", side.root)
                elif fast_why is None:
                    row = fast if timed else bench.Row(fast.name, files=files)
                    proc = bench.goinstrument_once(ws, jobs, row, [], f"({side.key}) {label}", side.root, (FAST_FLAG,))
                    if proc.returncode != 0:
                        fast_why = f"exit {proc.returncode}: {bench.tail(proc.stderr, 1)}"
                        log(f"cold {FAST_FLAG}: n/a from now on: {fast_why}")
    finally:
        ws.close()
    for r in rows.values():
        bench.tree_verdicts([r.noop])
    return rows, fast, fast_why


def run_staged(
    sides: list[Side], corpus: Path, repeat: int, tmpdir: str | None, fast_why: str | None
) -> tuple[dict[str, bench_git.Row], bench_git.Row, dict[str, Any]]:
    """bench_git.py's --staged row for each side, and `--staged --fast` for "after" (unless
    fast_why says why not), interleaved, in one repository made from the corpus. Each side
    has its own cache directory (goinstrument's cache, XDG_CACHE_HOME and the .pyc prefix),
    so neither reads what the other wrote."""
    args = bench_git.parse_args(["--corpus", str(corpus), "--repeat", str(repeat), *(["--tmpdir", tmpdir] if tmpdir else [])])
    scratch = bench_git.Bench(args)
    rows: dict[str, bench_git.Row] = {}
    try:
        repo, base = scratch.repo, scratch.base
        _, staged, candidates = bench_git.pick_changed_and_staged(repo, scratch.env)
        log(f"staged files: {', '.join(staged)}")
        envs: dict[str, dict[str, str]] = {}
        for side in sides:
            cache = scratch.root / f"cache-{side.key}"
            cache.mkdir()
            envs[side.key] = bench_git.bench_env(cache, pyc=True, tool_root=side.root)
        rows = {s.key: bench_git.staged_row(staged) for s in sides}
        fast = bench_git.staged_row(staged)
        fast.name = f"{fast.name} {FAST_FLAG}"
        spans: dict[str, set[int]] = {s.key: set() for s in sides}
        jobs_in_round = [(side, False) for side in sides] + ([(sides[-1], True)] if fast_why is None else [])
        for timed, label, backwards in rounds(repeat):
            for side, with_fast in reversed(jobs_in_round) if backwards else jobs_in_round:
                row, extra = (fast, (FAST_FLAG,)) if with_fast else (rows[side.key], ())
                log(f"{row.name} ({side.key}) {label}")
                bench_git.staged_once(repo, envs[side.key], base, staged, row, spans[side.key], timed, extra)
        bench_git.reset(repo, scratch.env, base)
        for side in sides:
            bench_git.staged_notes(rows[side.key], spans[side.key])
    finally:
        scratch.close()
    return rows, fast, {"staged_files": list(staged), "candidate_files": candidates}


# ---------------------------------------------------------------- the table


@dataclass
class Line:
    """One row of the comparison: figures in ms, or None where there are none."""

    name: str
    statistic: str  # "best" or "median"
    before: float | None
    after: float | None
    limit: float | None = LIMIT  # None: report only
    problems: list[str] = field(default_factory=list)  # a side did not do the work it should
    notes: list[str] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        return (self.after - self.before) / self.before if self.before and self.after is not None else None

    @property
    def result(self) -> str:
        if self.limit is None:
            return ""
        if self.problems:
            return "INVALID"
        if self.change is None:
            return "n/a"
        return "PASS" if self.change <= self.limit else "FAIL"

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.name,
            "statistic": self.statistic,
            "before_ms": self.before,
            "after_ms": self.after,
            "change": self.change,
            "limit": self.limit,
            "result": self.result or None,
            "problems": self.problems,
            "notes": self.notes,
        }


def spread(times: list[float]) -> str:
    """How far the slowest run is above the fastest: a feel for the noise."""
    return f"+{(max(times) - min(times)) / min(times):.0%}" if len(times) > 1 and min(times) > 0 else "-"


def tree_line(name: str, before: bench.Row, after: bench.Row) -> Line:
    """bench.py rows: best of N, in ms; a non-zero exit or a changed tree makes it INVALID."""
    walls_ms = [r.wall * 1000 if r.wall is not None else None for r in (before, after)]
    line = Line(name, "best", walls_ms[0], walls_ms[1])
    for key, row in (("before", before), ("after", after)):
        bad = [n for n in row.notes if n.startswith("exit ") or n == "TREE CHANGED"]
        line.problems += [f"{key}: {n}" for n in bad]
    walls = {key: [run["wall"] * 1000 for run in row.runs] for key, row in (("before", before), ("after", after))}
    line.notes.append(f"spread {spread(walls['before'])} / {spread(walls['after'])}")
    if before.changed is not None and after.changed is not None and before.changed != after.changed:
        line.notes.append(f"files changed: {before.changed} before, {after.changed} after")
    return line


def staged_line(before: bench_git.Row, after: bench_git.Row) -> Line:
    name = before.name.replace("goinstrument --staged", "goinstrument --staged hook")
    line = Line(name, "median", before.median, after.median)
    line.problems += [f"before: {f}" for f in before.failures] + [f"after: {f}" for f in after.failures]
    line.notes.append(f"spread {spread(before.times_ms)} / {spread(after.times_ms)}")
    spans = [r.notes[0].split(" spans added")[0] if r.notes else "?" for r in (before, after)]
    if spans[0] != spans[1]:
        line.notes.append(f"spans added per run: {spans[0]} before, {spans[1]} after")
    return line


def fast_lines(
    name: str, statistic: str, checked_ms: float | None, fast_ms: float | None, why: str | None, what: str, before_ms: float | None = None
) -> list[Line]:
    """A row run with --fast ("after" only), and the stability check's cost: the row as run
    (`checked_ms`) minus the row with --fast. `what` names the row in the cost line."""
    fast_ms = None if why else fast_ms
    fast_line = Line(name, statistic, None, fast_ms, limit=None)
    cost = Line(
        f"stability check ({what} - {what} {FAST_FLAG})",
        statistic,
        None,
        None if checked_ms is None or fast_ms is None else checked_ms - fast_ms,
        limit=None,
    )
    if why:
        fast_line.notes.append(f"n/a: {why}")
        cost.notes.append(f"n/a: needs {FAST_FLAG}")
    else:
        fast_line.notes.append(
            "after only" + (f"; {(fast_ms - before_ms) / before_ms:+.1%} on before's {what}" if fast_ms is not None and before_ms else "")
        )
        if cost.after is not None and checked_ms:
            cost.notes.append(f"{cost.after / checked_ms:+.1%} of after {what}; report only")
    return [fast_line, cost]


def best_ms(row: bench.Row) -> float | None:
    return row.wall * 1000 if row.wall is not None else None


def ms(value: float | None, signed: bool = False) -> str:
    return "n/a" if value is None else f"{value:+,.0f} ms" if signed else f"{value:,.0f} ms"


def render(lines: list[Line]) -> str:
    table = [["row", "statistic", "before", "after", "change", "limit", "result", "notes"]]
    for line in lines:
        report_only = line.limit is None
        signed = line.name.startswith("stability")
        table.append(
            [
                line.name,
                line.statistic,
                "" if report_only else ms(line.before),
                ms(line.after, signed),
                "" if line.change is None else f"{line.change:+.1%}",
                "report" if report_only else f"{line.limit:+.0%}",
                line.result,
                "; ".join(line.problems + line.notes),
            ]
        )
    return bench.aligned(table, right={2, 3, 4, 5})


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="goinstrument before (REV) and after (this working tree): cold, no-op and --staged in one table, plus the stability check's cost."
    )
    p.add_argument("--base", required=True, metavar="REV", help="the revision whose goinstrument is 'before' (checked out in a temporary worktree)")
    p.add_argument("--repeat", type=int, default=5, metavar="N", help="timed runs per row and side, after 1 untimed warm-up round; default 5")
    p.add_argument(
        "--corpus", type=Path, metavar="DIR", help="the Go tree to copy for every run and to commit for --staged; default: $(go env GOROOT)/src"
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    p.add_argument(
        "--jobs", type=int, metavar="N", help="passed to goinstrument as --jobs N for the cold and no-op rows; default: its own (the CPU count)"
    )
    p.add_argument("--tmpdir", metavar="DIR", help="where the worktree, the copies and the repository go; default: the system temp dir")
    args = p.parse_args(argv)
    if args.repeat < 1 or (args.jobs is not None and args.jobs < 1):
        p.error("--repeat and --jobs must be 1 or more")
    return args


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def emit(text: str) -> None:
    """All of stdout at once; a reader that stops early (`| head`) is no error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_interrupt)  # so that the worktree is removed then too
    corpus = (args.corpus or bench.default_corpus()).resolve()
    sources = bench.go_files(corpus)
    files, size = len(sources), sum(p.stat().st_size for p in sources)
    load = os.getloadavg()
    after = after_side()
    with base_worktree(args.base, args.tmpdir) as before:
        sides = [before, after]
        for side in sides:
            check_side(side)
        tree_rows, fast, fast_why = run_tree_rows(sides, corpus, files, args.jobs, args.repeat, args.tmpdir)
        staged_fast_why = fast_support(after)
        staged_rows, staged_fast, staged_info = run_staged(sides, corpus, args.repeat, args.tmpdir, staged_fast_why)
    load_end = os.getloadavg()

    lines = [
        tree_line("goinstrument cold", tree_rows["before"].cold, tree_rows["after"].cold),
        tree_line("goinstrument 2nd run (no-op, cache)", tree_rows["before"].noop, tree_rows["after"].noop),
        staged_line(staged_rows["before"], staged_rows["after"]),
        *fast_lines(fast.name, "best", best_ms(tree_rows["after"].cold), best_ms(fast), fast_why, "cold", best_ms(tree_rows["before"].cold)),
        *fast_lines(
            staged_fast.name.replace("goinstrument --staged", "goinstrument --staged hook"),
            "median",
            staged_rows["after"].median,
            staged_fast.median if staged_fast.times_ms and not staged_fast.failures else None,
            staged_fast_why or "; ".join(staged_fast.failures) or None,
            "--staged",
            staged_rows["before"].median,
        ),
    ]
    cpus = os.cpu_count() or 1
    go = bench.version_of(["go", "version"])
    verdicts = [line.result for line in lines if line.limit is not None]
    overall = "PASS" if all(v == "PASS" for v in verdicts) else "FAIL"
    text = "\n".join(
        [
            f"before: {before.label}",
            f"after:  {after.label}",
            f"machine: {cpus} CPUs, load {load[0]:.2f} at start, {load_end[0]:.2f} at end; Python {platform.python_version()}; {go}",
            render(lines),
            "",
            f"overall: {overall} (cold, no-op and --staged: after at most {LIMIT:.0%} slower than before)",
            f"corpus {corpus}: {files:,} .go files, {size / bench.MB:.0f} MB; "
            f"goinstrument --jobs {args.jobs or f'default ({cpus})'} for cold and no-op",
            f"--staged: {len(staged_info['staged_files'])} staged files in a git repository "
            f"of the corpus ({staged_info['candidate_files']} candidates), one cache per side",
            f"{args.repeat} timed run{'s' if args.repeat > 1 else ''} per row and side after {WARMUP} warm-up round (which also "
            f"fills each side's .pyc cache, as an install would); before and after interleaved, the order reversed every other round;",
            "best = fastest run (as bench.py), median = median run (as bench_git.py); spread = slowest over fastest run, before / after",
            "",
        ]
    )
    emit(text)
    if args.json:
        bench.write_json(
            args.json,
            {
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "before": {"rev": args.base, "commit": before.commit, "label": before.label},
                "after": {"commit": after.commit, "label": after.label, "root": str(after.root)},
                "corpus": str(corpus),
                "go_files": files,
                "go_bytes": size,
                "cpus": cpus,
                "load_at_start": load,
                "load_at_end": load_end,
                "python": platform.python_version(),
                "go": go,
                "repeat": args.repeat,
                "warmup": WARMUP,
                "jobs": args.jobs,
                "limit": LIMIT,
                "overall": overall,
                "staged_files": staged_info["staged_files"],
                "rows": [line.to_json() for line in lines],
                "runs": {
                    **{f"{key} {name}": row.to_json() for key, r in tree_rows.items() for name, row in (("cold", r.cold), ("no-op", r.noop))},
                    "after cold --fast": {**fast.to_json(), "unavailable": fast_why},
                    **{f"{key} --staged": row.to_json() for key, row in staged_rows.items()},
                },
            },
        )
    return 0 if overall == "PASS" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; temporary worktree and copies removed")
        sys.exit(130)
