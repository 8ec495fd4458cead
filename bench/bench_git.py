#!/usr/bin/env python3
"""Benchmark goinstrument's git modes on a git repository of the Go standard library, run by hand.

    python bench/bench_git.py [--repo DIR] [--repeat N] [--json FILE] [--tmpdir DIR] [--keep]
                              [--tool-root DIR] [--python PATH] [--goinstrument-arg ARG ...]

It copies $(go env GOROOT)/src to a temp dir and commits it (or reuses --repo DIR), then
times, N times each, wall clock with Python start-up included, and the CPU time (user + system)
of the processes it started, which a loaded machine inflates far less than the wall clock:

  - `goinstrument --version`, and a bare `python -c pass` beside it,
  - `goinstrument --staged` on a commit of 5 changed .go files (the pre-commit hook's work),
  - the whole `git commit` with the installed hook, and without it (--no-verify),
  - `goinstrument --check --changed-since BASE` on a branch with 20 changed .go files.

It prints one table (min/median/max, median CPU), the ratios of rows taken in this same run (the
hook's commit over a --no-verify one, --version over bare Python: what a loaded machine leaves
comparable), and a block of targets with PASS/FAIL; the
targets also check that each run did the work it should. bench/README.md explains
the rows. Stdlib only; goinstrument runs as `python -m goinstrument` from this
working tree, with the Python that runs this script or the one --python names.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import aligned, default_corpus, log, tail, targets_table, with_bytecode, write_json  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
STAGED_FILES, CHANGED_FILES = 5, 20
STAGED_GOAL_MS, CHECK_GOAL_MS, HOOK_ADDS_GOAL_MS = 300.0, 500.0, 100.0
BRANCH = "goinstrument-bench-changed"  # the branch holding the 20 changed files
WARMUP = 1  # untimed runs before each row's repetitions
# Seconds after a served commit before the next row's: the server's next child parses, from 0.25 s
# after the run (driver/trees.py), the files it left, ~70 ms of CPU that is not to slow another
# row's commit (a developer commits seconds apart, not milliseconds).
SETTLE = 0.6

# What goinstrument leaves alone by default, mirrored here to pick files it will instrument.
SKIPPED_DIRS = ("vendor", "testdata")
GENERATED = re.compile(rb"^// Code generated .* DO NOT EDIT\.\r?$", re.M)
IMPORTS_CONTEXT = re.compile(rb'^(import\s+|\s+)"context"\s*$', re.M)  # not renamed: `context.Context` works
CLOSING_STAGED = re.compile(r"goinstrument: (\d+) of (\d+) files? changed, (\d+) spans? added")
# "N functions without a span[, M spans out of date,] in W of F files": F is the files checked.
CLOSING_CHECK = re.compile(r"goinstrument: (\d+) functions? without a span(?:, \d+ spans? out of date,)? in \d+ of (\d+) files?")
FINDING = re.compile(r"^(.+?):(\d+):(\d+): (\S+): no span$", re.M)

# Git runs with a fixed identity, no signing and no automatic gc, without touching any
# git config file (GIT_CONFIG_COUNT needs git 2.31). Variables that would point git
# elsewhere (as when this script runs from inside a hook) are dropped.
GIT_SETTINGS = {"commit.gpgsign": "false", "gc.auto": "0", "advice.detachedHead": "false"}
GIT_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


# ---------------------------------------------------------------- environment and commands


def bench_env(cache: Path, pyc: bool, tool_root: Path = REPO) -> dict:
    """For git and goinstrument alike: tool_root's goinstrument (default: this working tree's),
    a cache of our own, and Python's bytecode cached in the scratch directory (as an installed
    package has its .pyc files) unless `pyc` is false, when every run compiles goinstrument
    from source. Two checkouts compared need two `cache` directories."""
    env = {k: v for k, v in os.environ.items() if k not in GIT_DROPPED and not k.startswith("GIT_CONFIG_")}
    with_bytecode(env, cache / "pycache" if pyc else None)
    env.update(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
        GIT_CONFIG_COUNT=str(len(GIT_SETTINGS)),
        XDG_CACHE_HOME=str(cache),
        XDG_RUNTIME_DIR=str(cache / "run"),  # the hook's warm server: this run's own, stopped at the end
        GOINSTRUMENT_CACHE_DIR=str(cache / "goinstrument"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(tool_root), os.environ.get("PYTHONPATH")])),
    )
    for i, (key, value) in enumerate(GIT_SETTINGS.items()):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key, value
    for name in ("CI", "GOINSTRUMENT_SERVER", "GOINSTRUMENT_SERVER_IDLE"):  # the hook as a developer's machine runs it
        env.pop(name, None)
    (cache / "run").mkdir(mode=0o700, exist_ok=True)
    return env


def server_cpu(env: dict) -> float:
    """The CPU seconds of the children the hook's warm servers of this run have reaped (a served
    hook's work runs in a child of the server, not of the commit): each server's pid is in its lock
    file, its reaped children's time in /proc/PID/stat (cutime, cstime)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for lock in Path(env["XDG_RUNTIME_DIR"], "goinstrument").glob("*.lock"):
        try:
            pid = lock.read_text().split()[0]
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[13]) + int(fields[14])) / tick
    return total


def stop_server(env: dict) -> None:
    subprocess.run([PYTHON[0], "-m", "goinstrument.server", "--stop"], env=env, capture_output=True)


# The interpreter that runs goinstrument and, through --install-hook, the hook (--python).
PYTHON = [sys.executable]


def goinstrument_cmd(*args: str) -> list[str]:
    return [PYTHON[0], "-m", "goinstrument", *args]


def run(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` exited {done.returncode} in {cwd}:\n{tail(done.stderr or done.stdout)}")
    return done


def git(repo: Path, env: dict, *args: str, check: bool = True) -> str:
    return run(["git", *args], repo, env, check).stdout.strip()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, subprocess.CompletedProcess, float]:
    """Wall time from spawning the command to reaping it, in ms; the done process; and the CPU
    time (user + system) of the command and every process it waited for (git's hook), in ms, with
    the hook's run in a warm server's child (server_cpu) counted too."""
    cpu = _children_cpu() + server_cpu(env)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    ms = (time.perf_counter() - start) * 1000
    time.sleep(0.02)  # the server reaps its child as the client sees its end
    return ms, done, (_children_cpu() + server_cpu(env) - cpu) * 1000


def version_of(cmd: list[str], env: dict) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"


# ---------------------------------------------------------------- the repository


def outside_checkout(path: Path, what: str) -> None:
    path = path.resolve()
    if path == REPO or REPO in path.parents:
        raise SystemExit(f"{what} {path} is inside this checkout ({REPO}); put it elsewhere")


def make_repo(corpus: Path, parent: Path, env: dict) -> Path:
    """A copy of the corpus, committed in a new repository whose hooks stay in its own .git."""
    repo = parent / "src"
    start = time.perf_counter()
    log(f"copying {corpus} to {repo}")
    shutil.copytree(corpus, repo, symlinks=True)
    log("git init, add, commit (seconds to a minute)")
    git(repo, env, "init", "-q")
    git(repo, env, "config", "core.hooksPath", ".git/hooks")  # a global core.hooksPath must not get our hook
    git(repo, env, "add", ".")
    git(repo, env, "commit", "-q", "--no-verify", "-m", f"base: a copy of {corpus}")
    log(f"repository ready in {time.perf_counter() - start:.0f} s")
    return repo


def check_reused(repo: Path, env: dict) -> Path:
    """--repo DIR: the top of a clean working tree whose hooks directory is its own."""
    top = Path(git(repo, env, "rev-parse", "--show-toplevel")).resolve()
    outside_checkout(top, "--repo")
    if git(top, env, "status", "--porcelain", "--untracked-files=no"):
        raise SystemExit(f"{top} has uncommitted changes; the benchmark resets it with `git reset --hard`")
    hooks = hooks_dir(top, env)
    git_dir = Path(git(top, env, "rev-parse", "--absolute-git-dir")).resolve()
    if git_dir not in hooks.parents:
        raise SystemExit(f"{top}'s hooks directory is {hooks} (core.hooksPath), outside its .git; not installing a hook there")
    return top


def hooks_dir(repo: Path, env: dict) -> Path:
    return (repo / git(repo, env, "rev-parse", "--git-path", "hooks")).resolve()


def pick_files(repo: Path, env: dict, n: int) -> tuple[list[str], int]:
    """n tracked .go files goinstrument instruments that import "context", spread evenly
    over the sorted list of all such files; and how many such files there are."""
    candidates = []
    for rel in git(repo, env, "ls-files", "-z", "--", "*.go").split("\0"):
        parts = rel.split("/")
        if not rel or rel.endswith("_test.go") or any(p in SKIPPED_DIRS or p[:1] in "._" for p in parts):
            continue
        data = (repo / rel).read_bytes()
        if IMPORTS_CONTEXT.search(data) and not GENERATED.search(data):
            candidates.append(rel)
    candidates.sort()
    if len(candidates) < n:
        raise SystemExit(f'only {len(candidates)} .go files in {repo} import "context"; {n} are needed')
    return [candidates[i * len(candidates) // n] for i in range(n)], len(candidates)


def bench_function(number: int) -> str:
    return f"bench{number}"


def is_bench(name: str, number: int) -> bool:
    """Findings name a function `name` or `Type.name`."""
    return name == bench_function(number) or name.endswith("." + bench_function(number))


_RUNS = itertools.count()  # each staging's content new, as a developer's commit is (see modify)


def modify(repo: Path, files: dict[str, int]) -> None:
    """Append `func benchN(ctx context.Context) error { return nil }` to each file, under a comment
    that numbers the staging: every run stages blobs no earlier run saw, as a developer's commit
    does (the same bytes each time would find their facts kept by the run before: flattering)."""
    run = next(_RUNS)
    for rel, number in files.items():
        with open(repo / rel, "a") as f:
            f.write(f"\n// staging {run}\nfunc {bench_function(number)}(ctx context.Context) error {{ return nil }}\n")


def reset(repo: Path, env: dict, base: str) -> None:
    git(repo, env, "reset", "-q", "--hard", base)


def blob_ids(repo: Path, env: dict, tree: str, files: dict[str, int]) -> dict[str, str]:
    """path -> blob id, in the index (tree "") or in a commit."""
    if tree:
        listing = git(repo, env, "ls-tree", tree, "--", *files)
        return {line.split("\t", 1)[1]: line.split()[2] for line in listing.splitlines()}
    listing = git(repo, env, "ls-files", "-s", "--", *files)
    return {line.split("\t", 1)[1]: line.split()[1] for line in listing.splitlines()}


# ---------------------------------------------------------------- results


@dataclass
class Row:
    name: str
    files: int | None = None
    goal_ms: float | None = None
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # user + system of the timed runs, same order
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # runs that did not do the work they should

    def fail(self, why: str) -> None:
        if why not in self.failures:
            self.failures.append(why)
            log(f"{self.name}: {why}")

    def stat(self, how) -> float | None:
        return how(self.times_ms) if self.times_ms else None

    def add(self, ms: float, cpu_ms: float) -> None:
        self.times_ms.append(ms)
        self.cpu_ms.append(cpu_ms)

    @property
    def median_cpu(self) -> float | None:
        return statistics.median(self.cpu_ms) if self.cpu_ms else None

    @property
    def median(self) -> float | None:
        return self.stat(statistics.median)

    @property
    def result(self) -> str:
        if self.goal_ms is None:
            return ""
        return "n/a" if self.median is None else "PASS" if self.median <= self.goal_ms else "FAIL"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "files": self.files,
            "goal_ms": self.goal_ms,
            "min_ms": self.stat(min),
            "median_ms": self.median,
            "max_ms": self.stat(max),
            "result": self.result or None,
            "runs_ms": self.times_ms,
            "median_cpu_ms": self.median_cpu,
            "runs_cpu_ms": self.cpu_ms,
            "notes": self.notes,
            "failures": self.failures,
        }


# ---------------------------------------------------------------- the measurements


def repetitions(row: Row, repeat: int) -> Iterator[bool]:
    """Warm-up runs first (untimed: their times are dropped), then the timed ones."""
    for i in range(WARMUP + repeat):
        label = "warm-up" if i < WARMUP else f"{i - WARMUP + 1}/{repeat}"
        log(f"{row.name}: {label}")
        yield i >= WARMUP


def measure_startup(repo: Path, env: dict, repeat: int, bare: bool = False) -> Row:
    """`goinstrument --version`, or (bare) `python -c pass` with the same interpreter and environment."""
    if bare:
        row, cmd = Row("start-up: python -c pass (bare Python)", notes=["the interpreter alone; no target"]), [PYTHON[0], "-c", "pass"]
    else:
        row, cmd = Row("start-up: goinstrument --version", notes=["interpreter start-up + CLI import; no target"]), goinstrument_cmd("--version")
    for timed_run in repetitions(row, repeat):
        ms, done, cpu_ms = timed(cmd, repo, env)
        if done.returncode != 0:
            row.fail(f"exit {done.returncode}: {tail(done.stderr)}")
        if timed_run:
            row.add(ms, cpu_ms)
    return row


def stage(repo: Path, env: dict, base: str, files: dict[str, int]) -> dict[str, str]:
    """From the base commit: the files modified and staged; their staged blob ids."""
    reset(repo, env, base)
    modify(repo, files)
    git(repo, env, "add", "--", *files)
    return blob_ids(repo, env, "", files)


def staged_row(files: dict[str, int]) -> Row:
    return Row(f"goinstrument --staged ({len(files)} staged files)", files=len(files), goal_ms=STAGED_GOAL_MS)


def staged_once(
    repo: Path, env: dict, base: str, files: dict[str, int], row: Row, spans: set[int], timed_run: bool, extra: tuple[str, ...] = ()
) -> None:
    """One repetition of the --staged row: stage the modified files (untimed), time
    `goinstrument --staged`, check its work; the time goes into row if timed_run."""
    before = stage(repo, env, base, files)
    ms, done, cpu_ms = timed(goinstrument_cmd("--staged", *extra), repo, env)
    closing = CLOSING_STAGED.search(done.stderr)
    if done.returncode != 0 or closing is None:
        row.fail(f"exit {done.returncode}: {tail(done.stderr)}")
        return
    changed, seen, added = map(int, closing.groups())
    spans.add(added)
    after = blob_ids(repo, env, "", files)
    if (changed, seen) != (len(files), len(files)) or any(after[f] == before[f] for f in files):
        row.fail(f"not every staged file was instrumented: {closing.group(0)}")
    if git(repo, env, "diff", "--name-only"):
        row.fail("the working tree differs from the index after --staged")
    if timed_run:
        row.add(ms, cpu_ms)


def staged_notes(row: Row, spans: set[int]) -> None:
    row.notes.append(f"{'/'.join(map(str, sorted(spans)))} spans added per run; index and working tree instrumented")


def measure_staged(repo: Path, env: dict, base: str, files: dict[str, int], repeat: int, extra: tuple[str, ...] = ()) -> Row:
    row = staged_row(files)
    spans: set[int] = set()
    for timed_run in repetitions(row, repeat):
        staged_once(repo, env, base, files, row, spans, timed_run, extra)
    reset(repo, env, base)
    staged_notes(row, spans)
    return row


def commit_row(files: dict[str, int], hook: bool, served: str = "") -> Row:
    """`served`: how the hook runs, if not by its warm server as a developer's does ("no server",
    "no trees kept")."""
    name = "git commit -q --no-verify -m x (no hook)"
    if hook:
        name = "git commit -q -m x, with the hook" + (f", {served}" if served else "")
    return Row(name, files=len(files), notes=["report only, no target"])


def commit_once(repo: Path, env: dict, base: str, files: dict[str, int], row: Row, hook: bool, timed_run: bool) -> None:
    """One `git commit` of the staged files (staged untimed), with the hook or without (--no-verify),
    its work checked; the time goes into row if timed_run."""
    staged = stage(repo, env, base, files)
    ms, done, cpu_ms = timed(["git", "commit", "-q", "-m", "x"] + ([] if hook else ["--no-verify"]), repo, env)
    if done.returncode != 0:
        row.fail(f"exit {done.returncode}: {tail(done.stderr)}")
        return
    committed = blob_ids(repo, env, "HEAD", files)
    if set(git(repo, env, "diff", "--name-only", base, "HEAD").splitlines()) != set(files):
        row.fail("the commit does not hold exactly the modified files")
    elif hook and any(committed[f] == staged[f] for f in files):
        row.fail("the hook did not instrument every committed file")
    elif not hook and committed != staged:
        row.fail("without the hook, the commit differs from what was staged")
    if git(repo, env, "status", "--porcelain", "--untracked-files=no"):
        row.fail("the working tree or index differs from the commit afterwards")
    if timed_run:
        row.add(ms, cpu_ms)


def measure_commits(repo: Path, env: dict, base: str, files: dict[str, int], repeat: int) -> tuple[list[Row], Speed]:
    """The `git commit` rows, taken in turn within each repetition, each repetition starting at
    the next row: with the hook (served by its warm server, started by the warm-up run, as from a
    developer's second commit on: the same files as the commit before, edited since, whose trees
    the server kept), with the hook served by a server of its own whose runs keep no trees
    (GOINSTRUMENT_TREES=0: files it has not parsed before), with the hook and
    GOINSTRUMENT_SERVER=0 (every run a process of its own), and without it (--no-verify). A
    machine whose speed drifts meanwhile (a host shared with other machines) moves them
    together, so that the difference of the medians is the hook's. Each repetition also times
    the machine (`machine_speed`)."""
    served, fresh = commit_row(files, True), commit_row(files, True, served="no trees kept")
    unserved, plain = commit_row(files, True, served="no server"), commit_row(files, False)
    runs = [
        (served, True, env),
        (fresh, True, no_trees_env(env)),
        (unserved, True, {**env, "GOINSTRUMENT_SERVER": "0"}),
        (plain, False, env),
    ]
    for row, hook, row_env in runs:  # the warm-ups first: the first of a server starts it
        log(f"{row.name}: warm-up")
        commit_once(repo, row_env, base, files, row, hook, timed_run=False)
        if row in (served, fresh):
            time.sleep(2)  # the server the warm-up started imports and works its sample before it serves
    speed = Speed()
    for n in range(repeat):
        log(f"git commit, with the hook (its server's trees, none, no server) and with --no-verify: {n + 1}/{repeat}")
        for row, hook, row_env in runs[n % len(runs) :] + runs[: n % len(runs)]:
            commit_once(repo, row_env, base, files, row, hook, timed_run=True)
            if row in (served, fresh):  # (both: the served rows meet the machine alike)
                time.sleep(SETTLE)  # the server's next child parses what the run left before the next row's commit
        speed.task_ms.append(machine_speed(env))
    reset(repo, env, base)
    for row, hook, _ in runs:
        row.notes.append("committed files instrumented" if hook else "committed as staged")
    return [served, fresh, unserved, plain], speed


# A fixed piece of work for the interpreter, about 90 ms on the machine of bench/README.md at its
# best: timed once each repetition of the commit rows, it shows how the machine's own speed moved
# during them (a guest shares its host's cores with other machines: their load shows neither as
# load nor always as steal time here, only as slower code).
_SPEED_TASK = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(1_000_000):\n    x += i\nprint((time.perf_counter() - t) * 1000)"


def no_trees_env(env: dict) -> dict:
    """The environment of the row whose hook keeps no trees: GOINSTRUMENT_TREES=0, and a runtime
    directory of its own, so that its server is not the other row's (the variable is each run's,
    not a server's: a child of a shared server would parse the other row's trees, unused)."""
    runtime = Path(env["XDG_RUNTIME_DIR"]).with_name("run-no-trees")
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {**env, "GOINSTRUMENT_TREES": "0", "XDG_RUNTIME_DIR": str(runtime)}


def machine_speed(env: dict) -> float:
    """The ms the task took, in a process of its own (its start-up not counted)."""
    done = subprocess.run([PYTHON[0], "-c", _SPEED_TASK], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout)


@dataclass
class Speed:
    """The machine's speed through the commit rows: the task's ms, once each repetition."""

    task_ms: list[float] = field(default_factory=list)

    def summary(self) -> str:
        if not self.task_ms:
            return "machine: not timed"
        best, median = min(self.task_ms), statistics.median(self.task_ms)
        return (
            f"machine: a fixed task, timed once each repetition of the commit rows, took {best:.0f} to {max(self.task_ms):.0f} ms "
            f"(median {median:.0f}): the median repetition ran at {best / median:.0%} of the run's best speed"
        )

    def to_json(self) -> dict:
        return {"task_ms": self.task_ms}


def findings(stdout: str, repo: Path) -> set[tuple[str, int, str]]:
    """(path relative to the repository, line, function) for each finding printed."""
    return {(os.path.relpath(repo / p, repo), int(line), name) for p, line, _, name in FINDING.findall(stdout)}


def measure_check(repo: Path, env: dict, base: str, base_rev: str, files: dict[str, int], repeat: int, extra: tuple[str, ...] = ()) -> Row:
    """On a branch one commit after the base holding the modified files (committed without the hook)."""
    row = Row(f"goinstrument --check --changed-since {base_rev}", files=len(files), goal_ms=CHECK_GOAL_MS)
    reset(repo, env, base)
    git(repo, env, "checkout", "-q", "-B", BRANCH, base)
    modify(repo, files)
    git(repo, env, "add", "--", *files)
    git(repo, env, "commit", "-q", "--no-verify", "-m", f"{len(files)} changed files")
    # What to expect: the same check over the same files named on the command line.
    expected_run = run(goinstrument_cmd("--check", *extra, "--", *files), repo, env, check=False)
    expected = findings(expected_run.stdout, repo)
    missing = [n for n in files.values() if not any(is_bench(name, n) for _, _, name in expected)]
    if expected_run.returncode != 1 or missing:
        row.fail(f"--check FILES: exit {expected_run.returncode}, the bench functions of {len(missing)} files not found")
    for timed_run in repetitions(row, repeat):
        ms, done, cpu_ms = timed(goinstrument_cmd("--check", "--changed-since", base_rev, *extra), repo, env)
        got, closing = findings(done.stdout, repo), CLOSING_CHECK.search(done.stderr)
        if done.returncode != 1 or closing is None:
            row.fail(f"exit {done.returncode} (1 expected): {tail(done.stderr)}")
        elif got != expected or int(closing.group(2)) != len(files):
            row.fail(f"{closing.group(0)}; expected {len(expected)} findings in {len(files)} files")
        if timed_run:
            row.add(ms, cpu_ms)
    row.notes.append(
        f"committed on a branch, 1 commit after the base; exit 1 with {len(expected)} findings "
        f"({len(files)} added + {len(expected) - len(files)} existing functions), as --check FILES"
    )
    return row


# ---------------------------------------------------------------- report


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    header = ["what", "files", "min ms", "median ms", "max ms", "median CPU ms", "target", "result", "notes"]
    lines = [
        [
            r.name,
            "" if r.files is None else str(r.files),
            fmt_ms(r.stat(min)),
            fmt_ms(r.median),
            fmt_ms(r.stat(max)),
            fmt_ms(r.median_cpu),
            "" if r.goal_ms is None else f"<= {r.goal_ms:g} ms",
            r.result,
            "; ".join(r.notes),
        ]
        for r in rows
    ]
    return aligned([header, *lines], right={1, 2, 3, 4, 5})


def ratios(rows: dict[str, Row]) -> list[dict]:
    """Rows over rows of this same run, wall clock and CPU: what a loaded machine leaves comparable."""
    out = []
    for what, key, over in (
        ("hook commit over --no-verify commit", "commit", "commit-no-hook"),
        ("hook commit, no trees kept, over --no-verify", "commit-no-trees", "commit-no-hook"),
        ("hook commit, no server, over --no-verify", "commit-no-server", "commit-no-hook"),
        ("goinstrument --version over bare Python", "startup", "bare"),
    ):
        a, b = rows[key], rows[over]
        entry: dict = {"what": what}
        for unit, x, y in (("wall", a.median, b.median), ("cpu", a.median_cpu, b.median_cpu)):
            entry[f"{unit}_ratio"] = x / y if x is not None and y else None
            entry[f"{unit}_added_ms"] = x - y if x is not None and y is not None else None
        out.append(entry)
    return out


def ratios_table(entries: list[dict]) -> str:
    header = ["ratio (medians, this run)", "wall", "added wall ms", "CPU", "added CPU ms"]

    def x(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}x"

    lines = [[e["what"], x(e["wall_ratio"]), fmt_ms(e["wall_added_ms"]), x(e["cpu_ratio"]), fmt_ms(e["cpu_added_ms"])] for e in entries]
    return aligned([header, *lines], right={1, 2, 3, 4})


def targets(rows: dict[str, Row]) -> list[dict]:
    checks = []
    added = ratios(rows)[0]["wall_added_ms"]
    checks.append(
        {
            "target": "the hook adds to a commit, medians",
            "measured": added,
            "shown": f"{fmt_ms(added)} ms",
            "goal": f"<= {HOOK_ADDS_GOAL_MS:g} ms",
            "result": "n/a" if added is None else "PASS" if added <= HOOK_ADDS_GOAL_MS else "FAIL",
        }
    )
    fresh = ratios(rows)[1]["wall_added_ms"]
    checks.append(
        {
            "target": "the same, files its server has not parsed (no trees kept)",
            "measured": fresh,
            "shown": f"{fmt_ms(fresh)} ms",
            "goal": "report",
            "result": "",
        }
    )
    for key, label in (("staged", "goinstrument --staged, median"), ("check", "--check --changed-since, median")):
        row = rows[key]
        checks.append(
            {"target": label, "measured": row.median, "shown": f"{fmt_ms(row.median)} ms", "goal": f"<= {row.goal_ms:g} ms", "result": row.result}
        )
    for row in rows.values():  # every run did the work it should
        checks.append(
            {
                "target": f"work done: {row.name}",
                "measured": len(row.failures),
                "shown": "as expected" if not row.failures else f"{len(row.failures)} problems",
                "goal": "as expected",
                "result": "FAIL" if row.failures else "PASS",
            }
        )
    return checks


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark goinstrument's pre-commit hook and --changed-since on a git repository of the Go standard library."
    )
    p.add_argument("--corpus", type=Path, help="tree of Go source to copy into the new repository; default: $(go env GOROOT)/src")
    p.add_argument(
        "--repo",
        type=Path,
        metavar="DIR",
        help="reuse this repository (a clean working tree, e.g. one kept with --keep) instead of making one; it is reset to its HEAD afterwards",
    )
    p.add_argument("--repeat", type=int, default=7, metavar="N", help="timed repetitions per row (after one untimed warm-up); default 7")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE")
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help=(
            "run Python with PYTHONDONTWRITEBYTECODE=1, so every run compiles goinstrument from source; default: .pyc files cached in the scratch dir"
        ),
    )
    p.add_argument("--tmpdir", metavar="DIR", help="where the repository and the cache go; default: the system temp dir")
    p.add_argument("--keep", action="store_true", help="keep the repository made (pass it to --repo next time)")
    p.add_argument(
        "--tool-root",
        type=Path,
        metavar="DIR",
        help="time the goinstrument package of this checkout (its root goes first on PYTHONPATH; the hook runs it too); default: this one",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help=(
            "the Python that runs goinstrument, the hook and the bare row; default: this one. Give a venv's, made as a user "
            "installs the tool (python -m venv V; V/bin/pip install .): an interpreter whose site-packages run .pth code "
            "(an editable install's finder, a CA injector) adds that to every row"
        ),
    )
    p.add_argument(
        "--goinstrument-arg",
        action="append",
        default=[],
        metavar="ARG",
        help=(
            "an extra flag for the timed --staged and --check runs (repeatable; "
            "write --goinstrument-arg=--fast); the hook's own command is not changed"
        ),
    )
    args = p.parse_args(argv)
    if args.tool_root is not None:
        args.tool_root = args.tool_root.resolve()
        if not (args.tool_root / "goinstrument" / "__init__.py").is_file():
            p.error(f"--tool-root {args.tool_root}: no goinstrument package there")
    if args.repeat < 1:
        p.error("--repeat must be 1 or more")
    if args.python is not None:
        if not (os.path.isfile(args.python) and os.access(args.python, os.X_OK)):
            p.error(f"--python {args.python}: not an executable file")
        PYTHON[0] = os.path.abspath(args.python)
    if args.repo and args.corpus:
        p.error("--corpus makes a new repository; --repo reuses one: not both")
    return args


class Bench:
    """The scratch directory, the repository, and what to restore in it at the end."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        outside_checkout(Path(args.tmpdir or tempfile.gettempdir()), "--tmpdir")
        self.root = Path(tempfile.mkdtemp(prefix="goinstrument-bench-git-", dir=args.tmpdir)).resolve()
        (self.root / "cache").mkdir()
        self.env = bench_env(self.root / "cache", pyc=not args.no_bytecode_cache, tool_root=getattr(args, "tool_root", None) or REPO)
        self.made_in: float | None = None
        try:
            self.open_repo()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def open_repo(self) -> None:
        args = self.args
        if args.repo:
            self.repo = check_reused(args.repo, self.env)
        else:
            start = time.perf_counter()
            self.repo = make_repo((args.corpus or default_corpus()).resolve(), self.root, self.env)
            self.made_in = time.perf_counter() - start
        self.base = git(self.repo, self.env, "rev-parse", "HEAD")
        self.branch = git(self.repo, self.env, "symbolic-ref", "-q", "--short", "HEAD", check=False)
        self.hook = hooks_dir(self.repo, self.env) / "pre-commit"
        self.old_hook = self.hook.read_bytes() if self.hook.exists() else None

    def install_hook(self) -> str:
        done = run(goinstrument_cmd("--install-hook"), self.repo, self.env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"goinstrument --install-hook exited {done.returncode}: {tail(done.stderr)}")
        return tail(done.stderr, 1)

    def close(self) -> None:
        """The repository back at its base commit and branch, without our branch and hook."""
        git(self.repo, self.env, "checkout", "-q", "-f", self.branch or self.base, check=False)
        reset(self.repo, self.env, self.base)
        git(self.repo, self.env, "branch", "-q", "-D", BRANCH, check=False)
        if self.old_hook is None:
            self.hook.unlink(missing_ok=True)
        else:
            self.hook.write_bytes(self.old_hook)
        if self.args.keep and not self.args.repo:
            shutil.rmtree(self.root / "cache", ignore_errors=True)
            log(f"kept {self.repo} (reuse it with --repo {self.repo})")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def pick_changed_and_staged(repo: Path, env: dict) -> tuple[dict[str, int], dict[str, int], int]:
    """The 20 files the --check row changes and the 5 of them the --staged rows stage
    (path -> number of its bench function), and how many files were candidates."""
    picked, candidates = pick_files(repo, env, CHANGED_FILES)
    changed = {rel: i + 1 for i, rel in enumerate(picked)}
    staged = {rel: n for rel, n in list(changed.items())[:: CHANGED_FILES // STAGED_FILES]}
    return changed, staged, candidates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = os.getloadavg()
    tool_root, extra = args.tool_root or REPO, tuple(args.goinstrument_arg)
    bench = Bench(args)
    rows: dict[str, Row] = {}
    try:
        env, repo, base = bench.env, bench.repo, bench.base
        base_rev = bench.branch or base[:12]
        go_count = len(git(repo, env, "ls-files", "--", "*.go").splitlines())
        changed, staged, candidates = pick_changed_and_staged(repo, env)
        log(f"staged files: {', '.join(staged)}")
        log(f"changed files: {', '.join(changed)}")
        log(bench.install_hook())
        rows["bare"] = measure_startup(repo, env, args.repeat, bare=True)
        rows["startup"] = measure_startup(repo, env, args.repeat)
        rows["staged"] = measure_staged(repo, env, base, staged, args.repeat, extra)
        commits, speed = measure_commits(repo, env, base, staged, args.repeat)
        rows["commit"], rows["commit-no-trees"], rows["commit-no-server"], rows["commit-no-hook"] = commits
        rows["check"] = measure_check(repo, env, base, base_rev, changed, args.repeat, extra)
        goinstrument = version_of(goinstrument_cmd("--version"), env)
        python_version = f"{version_of([PYTHON[0], '--version'], env).split()[-1]} ({PYTHON[0]})"
    finally:
        for env_of_a_server in (bench.env, no_trees_env(bench.env)):
            stop_server(env_of_a_server)
        bench.close()

    checks = targets(rows)
    made = f"made in {bench.made_in:.0f} s" if bench.made_in is not None else "reused"
    print(
        f"repo {repo} ({made}): {go_count:,} tracked .go files, {candidates:,} of them instrumentable and importing "
        f'"context"; base {base[:12]}; {os.cpu_count()} CPUs (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start); '
        f"{args.repeat} timed runs per row after {WARMUP} warm-up; "
        f"{'no .pyc (PYTHONDONTWRITEBYTECODE=1)' if args.no_bytecode_cache else '.pyc cached'}; Python {python_version}; "
        f"{version_of(['git', '--version'], env)}; {goinstrument} (python -m goinstrument from {tool_root})"
        + (f"; goinstrument flags {' '.join(extra)}" if extra else "")
    )
    print()
    print(table(list(rows.values())))
    print()
    print(ratios_table(ratios(rows)))
    print(speed.summary())
    print()
    print(targets_table(checks))
    if args.json:
        report = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "repo": str(repo),
            "repo_made_in_s": bench.made_in,
            "base": base,
            "changed_since": base_rev,
            "go_files": go_count,
            "candidate_files": candidates,
            "staged_files": list(staged),
            "changed_files": list(changed),
            "cpus": os.cpu_count(),
            "load_at_start": load,
            "repeat": args.repeat,
            "warmup": WARMUP,
            "bytecode_cache": not args.no_bytecode_cache,
            "python": python_version,
            "git": version_of(["git", "--version"], env),
            "goinstrument": goinstrument,
            "tool_root": str(tool_root),
            "goinstrument_args": list(extra),
            "rows": {key: row.to_json() for key, row in rows.items()},
            "ratios": ratios(rows),
            "machine_speed": speed.to_json(),
            "targets": checks,
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
