#!/usr/bin/env python3
"""Benchmark goinstrument on the Go standard library, run by hand (never part of the tests).

    python bench/bench.py [--corpus DIR] [--jobs N] [--repeat N] [--json FILE]
                          [--skip-go-instrument] [--go-instrument-serial]
                          [--go-instrument-bin PATH | --go-instrument-standin]
                          [--tool-root DIR] [--goinstrument-arg ARG ...]

Every measurement gets its own fresh copy of the corpus (default: $(go env GOROOT)/src)
and runs as a subprocess, so interpreter and process start-up count alike everywhere.
It prints one table (wall time, files/s, peak memory of the whole process tree) and a
block of targets with PASS/FAIL. bench/README.md explains the rows. Stdlib only, plus
tree-sitter and tree-sitter-go for the floor.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000  # memory is reported in MB (10^6 bytes), as the 300 MB target says
SAMPLE_EVERY = 0.02  # seconds between two samples of the process tree's RSS
GO_INSTRUMENT = "github.com/nikolaydubina/go-instrument@latest"

# Target: (label, goal text, test on the measured value).
SPEEDUP_GOAL, FLOOR_GOAL, NOOP_GOAL, MEMORY_GOAL_MB = 10.0, 1.5, 0.30, 300.0

# The floor: the least any tree-sitter based tool must do. One process reads every .go
# file and parses those that mention "context". Run with `python -c`, argv[1] = corpus.
FLOOR_CODE = r"""
import os, sys
from tree_sitter import Language, Parser
import tree_sitter_go
parser = Parser(Language(tree_sitter_go.language()))
files = parsed = 0
for root, dirs, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".go"):
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            files += 1
            if b"context" in data:
                parser.parse(data)
                parsed += 1
print(files, parsed)
"""

# Used only with --go-instrument-standin, where go-instrument itself cannot be installed.
# Not go-instrument's code: a stdlib-only program doing the same work per file with the
# same flags (gofmt the source, parse with comments, add a span to every function with a
# `ctx context.Context` parameter, re-parse, print, write the file back even if unchanged).
STANDIN_GO = r"""package main

import (
	"bytes"
	"flag"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"strconv"
)

func takesContext(t *ast.FuncType) bool {
	for _, f := range t.Params.List {
		sel, ok := f.Type.(*ast.SelectorExpr)
		if !ok || len(f.Names) != 1 || f.Names[0].Name != "ctx" {
			continue
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "context" && sel.Sel.Name == "Context" {
			return true
		}
	}
	return false
}

func spanName(file *ast.File, fn *ast.FuncDecl) string {
	owner := file.Name.Name
	if fn.Recv != nil && len(fn.Recv.List) > 0 {
		t := fn.Recv.List[0].Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		if id, ok := t.(*ast.Ident); ok {
			owner = id.Name
		}
	}
	return owner + "." + fn.Name.Name
}

func main() {
	filename := flag.String("filename", "", "go file to instrument")
	app := flag.String("app", "app", "name of application")
	write := flag.Bool("w", false, "overwrite original file")
	flag.Bool("all", true, "instrument all by default (accepted, always on)")
	flag.Parse()
	if *filename == "" {
		log.Fatalln("missing arg: file name")
	}
	src, err := os.ReadFile(*filename)
	if err != nil {
		log.Fatal(err)
	}
	if src, err = format.Source(src); err != nil {
		log.Fatalf("can not format input file: %s", err)
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, *filename, src, parser.ParseComments)
	if err != nil {
		log.Fatalf("can not parse input file: %s", err)
	}
	offsets := []int{fset.Position(file.Name.End()).Offset}
	inserts := []string{"\n\nimport \"go.opentelemetry.io/otel\"\n"}
	for _, d := range file.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil && takesContext(fn.Type) {
			offsets = append(offsets, fset.Position(fn.Body.Lbrace).Offset+1)
			inserts = append(inserts, "\nctx, span := otel.Tracer("+strconv.Quote(*app)+
				").Start(ctx, "+strconv.Quote(spanName(file, fn))+")\ndefer span.End()\n")
		}
	}
	if len(offsets) > 1 {
		var patched bytes.Buffer
		last := 0
		for i, off := range offsets {
			patched.Write(src[last:off])
			patched.WriteString(inserts[i])
			last = off
		}
		patched.Write(src[last:])
		if file, err = parser.ParseFile(fset, *filename, patched.Bytes(), parser.ParseComments); err != nil {
			log.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := format.Node(&out, fset, file); err != nil {
		log.Fatal(err)
	}
	if !*write {
		os.Stdout.Write(out.Bytes())
	} else if err := os.WriteFile(*filename, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
"""


# ---------------------------------------------------------------- measuring one process tree


def _parent_links() -> dict[int, list[int]]:
    """pid -> child pids, from the ppid field of every /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split(b" ", 2)[1])  # after "(comm) state "
        children.setdefault(ppid, []).append(int(entry))
    return children


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0  # gone, or a zombie (no VmRSS line)


def tree_rss_kb(root: int) -> int:
    """Summed RSS of root's descendants (not root itself: the launcher), in kB."""
    children, total = _parent_links(), 0
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo.extend(children.get(pid, ()))
    return total


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the launcher proc and every descendant of it, and reap the launcher.
    They are stopped first, until no new one appears, so none can start another."""
    stopped: set[int] = set()
    while True:
        children, todo, found = _parent_links(), [proc.pid], []
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, ()))
        new = [pid for pid in found if pid not in stopped]
        if not new:
            break
        for pid in new:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


class TreeSampler(threading.Thread):
    """Samples tree_rss_kb(root) every SAMPLE_EVERY seconds and keeps the maximum."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peak_kb, self.samples = root, 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.root))
            self.samples += 1
            self.done.wait(SAMPLE_EVERY)


# Every measured command runs under this small launcher (python -S: ~8 MB), which times
# fork-to-reap and reports getrusage(RUSAGE_CHILDREN).ru_maxrss for that one command.
# Why not fork from here: Linux carries the RSS high-water mark of the process that
# calls exec into the new program's ru_maxrss, and this script is ~30 MB by then, so
# every command, `true` included, would report at least that.
LAUNCHER = r"""
import os, resource, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
wall = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    f.write(f"{wall} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {code}")
sys.exit(code if 0 <= code < 256 else 255)
"""


@dataclass
class Proc:
    wall: float  # seconds, from fork to reaping of the command (launcher start-up excluded)
    peak_tree_kb: int  # sampled: summed RSS of the command and all its descendants
    maxrss_kb: int  # kernel: getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest single process
    returncode: int
    samples: int
    stdout: str
    stderr: str


def measure(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None, stdin: Path | None = None) -> Proc:
    """Run cmd to completion under LAUNCHER, sampling the RSS of its process tree."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as figures:
        stdin_file = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115 - closed in the finally below
        try:
            launcher = [sys.executable, "-S", "-c", LAUNCHER, figures.name, *cmd]
            proc = subprocess.Popen(launcher, env=env, cwd=cwd, stdin=stdin_file, stdout=out, stderr=err)
            sampler = TreeSampler(proc.pid)
            sampler.start()
            try:
                proc.wait()
            except BaseException:  # Ctrl-C, or SIGTERM turned into an exception: leave nothing running
                kill_tree(proc)
                raise
        finally:
            if stdin:
                stdin_file.close()
        sampler.done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        try:
            wall, maxrss, code = figures.read().split()
        except ValueError:
            raise SystemExit(f"could not run {cmd}: launcher exit {proc.returncode}\n{tail(stderr)}") from None
        return Proc(float(wall), sampler.peak_kb, int(maxrss), int(code), sampler.samples, stdout, stderr)


# ---------------------------------------------------------------- corpus, copies and hashes


def go_files(root: Path) -> list[Path]:
    found = []
    for dirpath, _, names in os.walk(root):
        found.extend(Path(dirpath, n) for n in names if n.endswith(".go"))
    return sorted(found)


def tree_hashes(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file (symlinks: of their target text)."""
    hashes = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                data = os.readlink(path).encode()
            else:
                with open(path, "rb") as f:
                    data = f.read()
            hashes[os.path.relpath(path, root)] = hashlib.sha256(data).hexdigest()
    return hashes


def tree_digest(hashes: dict[str, str]) -> str:
    h = hashlib.sha256()
    for path in sorted(hashes):
        h.update(f"{path}\0{hashes[path]}\n".encode())
    return h.hexdigest()


def files_changed(before: dict[str, str], after: dict[str, str]) -> int:
    """Files modified, added or removed."""
    return sum(before.get(p) != after.get(p) for p in before.keys() | after.keys())


class Workspace:
    """A scratch directory for pristine copies of the corpus and empty cache dirs."""

    def __init__(self, corpus: Path, parent: str | None, keep: bool, pyc: bool = True):
        self.corpus, self.keep = corpus, keep
        self.root = Path(tempfile.mkdtemp(prefix="goinstrument-bench-", dir=parent))
        self.count = 0
        # Python's bytecode, kept for the whole run as an installed package keeps its .pyc files
        # (None: PYTHONDONTWRITEBYTECODE=1, every run compiles goinstrument from source).
        self.pycache: Path | None = self.root / "pycache" if pyc else None

    def fresh(self, what: str) -> Path:
        self.count += 1
        path = self.root / f"{self.count:02d}-{what}"
        log(f"copying {self.corpus} to {path}")
        shutil.copytree(self.corpus, path, symlinks=True)
        return path

    def empty_dir(self, what: str) -> Path:
        self.count += 1
        path = self.root / f"{self.count:02d}-{what}"
        path.mkdir()
        return path

    def drop(self, path: Path) -> None:
        if not self.keep:
            shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        if self.keep:
            log(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- results


@dataclass
class Row:
    name: str
    wall: float | None = None
    files: int = 0
    peak_tree_mb: float | None = None
    maxrss_mb: float | None = None
    changed: int | None = None
    notes: list[str] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)

    @property
    def files_per_s(self) -> float | None:
        return self.files / self.wall if self.wall else None

    @property
    def peak_mb(self) -> float | None:
        """The sampler can miss a short spike; the kernel's single-process max cannot."""
        values = [v for v in (self.peak_tree_mb, self.maxrss_mb) if v is not None]
        return max(values) if values else None

    def add(self, proc: Proc) -> None:
        """Fold one run in: best wall time, worst memory."""
        self.runs.append({k: v for k, v in asdict(proc).items() if k not in ("stdout", "stderr")})
        self.wall = proc.wall if self.wall is None else min(self.wall, proc.wall)
        self.peak_tree_mb = max(self.peak_tree_mb or 0, proc.peak_tree_kb * 1024 / MB)
        self.maxrss_mb = max(self.maxrss_mb or 0, proc.maxrss_kb * 1024 / MB)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "wall_s": self.wall,
            "files": self.files,
            "files_per_s": self.files_per_s,
            "peak_tree_mb": self.peak_tree_mb,
            "maxrss_mb": self.maxrss_mb,
            "changed_files": self.changed,
            "notes": self.notes,
            "runs": self.runs,
        }


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------- the measurements


def goinstrument_cmd(copy: Path, jobs: int | None, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "goinstrument", *extra]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    return [*cmd, str(copy)]


def with_bytecode(env: dict, pycache: Path | None) -> dict:
    """`env` with Python's bytecode cached under `pycache` (as an installed package has its .pyc
    files), or, when it is None, never written: every run compiles from source."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def goinstrument_env(cache_home: Path, tool_root: Path = REPO, pycache: Path | None = None) -> dict:
    """goinstrument from tool_root (a checkout: its root goes first on PYTHONPATH), with
    its cache under cache_home, and Python's bytecode cached under `pycache` (the prefix
    mirrors each source's absolute path, so checkouts compared do not share their .pyc),
    or, when it is None, never written: every run compiles from source."""
    env = with_bytecode(dict(os.environ), pycache)
    env.pop("GOINSTRUMENT_CACHE_DIR", None)  # it would win over XDG_CACHE_HOME
    env["XDG_CACHE_HOME"] = str(cache_home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tool_root), env.get("PYTHONPATH")]))
    return env


def goinstrument_ready(tool_root: Path = REPO) -> str | None:
    """None when `python -m goinstrument --help` works, else why not."""
    env = goinstrument_env(Path(tempfile.gettempdir()), tool_root)
    done = subprocess.run([sys.executable, "-m", "goinstrument", "--help"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return f"`python -m goinstrument --help` exited {done.returncode}: {tail(done.stderr or done.stdout)}"
    return None


def goinstrument_origin(tool_root: Path) -> Path | None:
    """The directory the goinstrument package is imported from under tool_root's environment."""
    env = goinstrument_env(Path(tempfile.gettempdir()), tool_root)
    code = "import goinstrument, os; print(os.path.dirname(os.path.abspath(goinstrument.__file__)))"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True)
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 and done.stdout.strip() else None


def note_exit(row: Row, proc: Proc) -> None:
    if proc.returncode != 0:
        note = f"exit {proc.returncode}"
        if note not in row.notes:
            row.notes.append(note)
            log(f"{row.name}: exit {proc.returncode}\n{tail(proc.stderr)}")


def goinstrument_once(
    ws: Workspace,
    jobs: int | None,
    cold: Row,
    second: list[tuple[Row, tuple[str, ...]]],
    label: str,
    tool_root: Path = REPO,
    extra: tuple[str, ...] = (),
) -> Proc:
    """One repetition: a cold run on a fresh copy with an empty cache, folded into `cold`,
    then each (row, flags) of `second` on its output with the same cache. `extra` goes to
    every command. Returns the cold run's process (its stderr says why it failed, if it did)."""
    copy, cache = ws.fresh("goinstrument"), ws.empty_dir("xdg-cache")
    try:
        env = goinstrument_env(cache, tool_root, ws.pycache)
        before = tree_hashes(copy)
        log(f"{cold.name} run {label}")
        first = measure(goinstrument_cmd(copy, jobs, *extra), env=env, cwd=ws.root)
        cold.add(first)
        note_exit(cold, first)
        after_cold = tree_hashes(copy)
        cold.changed = files_changed(before, after_cold)
        for row, flags in second:
            log(f"{row.name} {label}")
            proc = measure(goinstrument_cmd(copy, jobs, *extra, *flags), env=env, cwd=ws.root)
            row.add(proc)
            note_exit(row, proc)
            after = tree_hashes(copy)
            changed = files_changed(after_cold, after)
            row.changed = max(row.changed or 0, changed)
            if changed:
                log(f"{row.name} CHANGED {changed} files: " + ", ".join(sorted(p for p in after if after[p] != after_cold.get(p))[:5]))
                after_cold = after
    finally:
        ws.drop(copy)
        ws.drop(cache)
    return first


def tree_verdicts(rows: list[Row]) -> None:
    """The 2nd runs' notes: `tree unchanged`, or `TREE CHANGED` (a bug)."""
    for row in rows:
        verdict = "tree unchanged" if not row.changed else "TREE CHANGED"
        if verdict not in row.notes:
            row.notes.append(verdict)


WARM_UP_SOURCE = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) error {\n\treturn ctx.Err()\n}\n'


def warm_up(ws: Workspace, tool_root: Path = REPO) -> None:
    """One untimed run over one small file that gets a span, so every module a run imports is
    compiled into the workspace's .pyc cache before the first timed run (without the cache, a
    no-op: every run compiles anyway)."""
    if ws.pycache is None:
        return
    module, cache = ws.empty_dir("warm-up"), ws.empty_dir("warm-up-cache")
    (module / "p.go").write_text(WARM_UP_SOURCE)
    subprocess.run(goinstrument_cmd(module, None), env=goinstrument_env(cache, tool_root, ws.pycache), capture_output=True)
    ws.drop(module)
    ws.drop(cache)


def run_goinstrument(ws: Workspace, files: int, jobs: int | None, repeat: int, tool_root: Path = REPO, extra: tuple[str, ...] = ()) -> list[Row]:
    """Cold run on a pristine copy, then the no-op run on its output with the same cache,
    then a run with --no-cache on the same output (does the rewrite itself change nothing?)."""
    cold = Row("goinstrument cold", files=files)
    noop = Row("goinstrument 2nd run (no-op)", files=files)
    nocache = Row("goinstrument 2nd run, --no-cache", files=files)
    warm_up(ws, tool_root)
    for i in range(repeat):
        goinstrument_once(ws, jobs, cold, [(noop, ()), (nocache, ("--no-cache",))], f"{i + 1}/{repeat}", tool_root, extra)
    tree_verdicts([noop, nocache])
    cold.notes.append(f"jobs {jobs or os.cpu_count()}")
    return [cold, noop, nocache]


def run_floor(ws: Workspace, files: int, repeat: int) -> Row:
    """Best of N too, so that the cold / floor ratio compares like with like."""
    row = Row("floor: read all + tree-sitter parse", files=files)
    copy = ws.fresh("floor")  # the floor writes nothing: one copy serves every repeat
    for i in range(repeat):
        log(f"floor {i + 1}/{repeat}")
        proc = measure([sys.executable, "-c", FLOOR_CODE, str(copy)], cwd=ws.root)
        row.add(proc)
        note_exit(row, proc)
    if proc.returncode == 0:
        seen, parsed = proc.stdout.split()
        row.notes.append(f"1 process, {parsed} of {seen} parsed")
    ws.drop(copy)
    return row


def bench_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "goinstrument-bench")


def install_go_instrument(gobin: Path) -> tuple[Path | None, str]:
    binary = gobin / "go-instrument"
    if binary.exists():
        return binary, ""
    gobin.mkdir(parents=True, exist_ok=True)
    log(f"go install {GO_INSTRUMENT}")
    env = dict(os.environ, GOBIN=str(gobin))
    done = subprocess.run(["go", "install", GO_INSTRUMENT], env=env, cwd=gobin, capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1].strip() if done.stderr.strip() else f"exit {done.returncode}"
        log(f"go install {GO_INSTRUMENT} failed:\n{tail(done.stderr, 3)}")
        return None, f"not installed, go install failed: {reason[:70]}"
    return binary, ""


def build_standin(cache: Path) -> tuple[Path | None, str]:
    src = cache / "standin"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text("module goinstrumentbench/standin\n\ngo 1.21\n")
    (src / "main.go").write_text(STANDIN_GO)
    binary = cache / "bin" / "go-instrument-standin"
    log("building the go-instrument stand-in")
    env = dict(os.environ, GOTOOLCHAIN="local")
    done = subprocess.run(["go", "build", "-o", str(binary), "."], cwd=src, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        log(f"building the stand-in failed:\n{tail(done.stderr, 3)}")
        return None, "building the stand-in failed"
    return binary, ""


def go_instrument_argv(binary: Path) -> tuple[list[str] | None, str]:
    """The per-file command line, from the flags its -h lists (the file name goes last)."""
    done = subprocess.run([str(binary), "-h"], capture_output=True, text=True)
    flags = set(re.findall(r"^\s+-([\w-]+)", done.stderr + done.stdout, re.M))
    file_flag = next((f for f in ("filename", "file") if f in flags), None)
    if file_flag is None or "w" not in flags:
        return None, f"{binary} -h lists no -filename/-file or no -w flag: {sorted(flags)}"
    argv = [str(binary)]
    app_flag = next((f for f in ("app", "tracer-name") if f in flags), None)
    if app_flag:
        argv += [f"-{app_flag}", "app"]
    return [*argv, "-w", f"-{file_flag}"], ""


def run_go_instrument(ws: Workspace, files: int, binary: Path, label: str, jobs: int) -> Row:
    row = Row(f"{label} (pool of {jobs})" if jobs > 1 else f"{label} (serial)", files=files)
    argv, why = go_instrument_argv(binary)
    if argv is None:
        row.notes.append(why)
        return row
    copy = ws.fresh("go-instrument")
    listing = ws.root / "go-instrument-files"
    listing.write_bytes(b"".join(bytes(p) + b"\0" for p in go_files(copy)))
    before = tree_hashes(copy)
    log(f"{row.name}: {' '.join(argv)} FILE, one process per file ({files} files; takes minutes)")
    # xargs is the process pool: -P jobs processes at a time, one file each.
    proc = measure(["xargs", "-0", "-n", "1", "-P", str(jobs), *argv], stdin=listing, cwd=ws.root)
    row.add(proc)
    row.changed = files_changed(before, tree_hashes(copy))
    failed = len(re.findall(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", proc.stderr, re.M))
    row.notes.append(f"1 process per file, {jobs} at a time")
    if failed or proc.returncode:
        row.notes.append(f"{failed} files failed")
    ws.drop(copy)
    return row


def go_instrument_binary(args: argparse.Namespace) -> tuple[Path | None, str, str]:
    """(binary, row label, why not)."""
    if args.go_instrument_bin:
        return Path(args.go_instrument_bin), "go-instrument", ""
    if args.go_instrument_standin:
        binary, why = build_standin(bench_cache())
        return binary, "go-instrument STAND-IN", why
    binary, why = install_go_instrument(bench_cache() / "bin")
    return binary, "go-instrument", why


# ---------------------------------------------------------------- report


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    header = ["run", "wall s", "files/s", "tree peak MB", "max proc MB", "changed", "notes"]
    lines = [
        [
            r.name,
            fmt(r.wall, ".2f"),
            fmt(r.files_per_s, ",.0f"),
            fmt(r.peak_tree_mb, ".0f"),
            fmt(r.maxrss_mb, ".0f"),
            "n/a" if r.changed is None else f"{r.changed:,}",
            "; ".join(r.notes),
        ]
        for r in rows
    ]
    return aligned([header, *lines], right={1, 2, 3, 4, 5})


def aligned(lines: list[list[str]], right: set[int]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=False))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def targets(rows: dict[str, Row]) -> list[dict]:
    cold, noop, floor, gi = (rows.get(k) for k in ("cold", "noop", "floor", "go-instrument"))
    wall = lambda r: r.wall if r else None  # noqa: E731  (a non-zero exit shows in the row's notes)
    peaks = [r.peak_mb for r in (cold, noop, rows.get("nocache")) if r and r.peak_mb is not None]
    checks = [
        ("cold: speed-up over go-instrument", ratio(wall(gi), wall(cold)), f">= {SPEEDUP_GOAL:g}x", lambda v: v >= SPEEDUP_GOAL, "{:.1f}x"),
        ("cold / floor", ratio(wall(cold), wall(floor)), f"<= {FLOOR_GOAL:g}x", lambda v: v <= FLOOR_GOAL, "{:.2f}x"),
        ("no-op run / cold", ratio(wall(noop), wall(cold)), f"< {NOOP_GOAL:.0%}", lambda v: v < NOOP_GOAL, "{:.1%}"),
        ("goinstrument peak memory", max(peaks) if peaks else None, f"< {MEMORY_GOAL_MB:g} MB", lambda v: v < MEMORY_GOAL_MB, "{:.0f} MB"),
    ]
    if gi is not None and "STAND-IN" in gi.name:
        checks[0] = ("cold: speed-up over go-instrument STAND-IN", *checks[0][1:])
    return [
        {
            "target": name,
            "measured": value,
            "shown": "n/a" if value is None else shown.format(value),
            "goal": goal,
            "result": "SKIP" if value is None else "PASS" if ok(value) else "FAIL",
        }
        for name, value, goal, ok, shown in checks
    ]


def targets_table(results: list[dict]) -> str:
    lines = [["target", "measured", "goal", "result"]] + [[t["target"], t["shown"], t["goal"], t["result"]] for t in results]
    return aligned(lines, right={1})


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {path}")


def version_of(cmd: list[str], tool_root: Path = REPO) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=goinstrument_env(Path(tempfile.gettempdir()), tool_root))
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark goinstrument against the floor and go-instrument on the Go standard library.")
    p.add_argument("--corpus", type=Path, help="tree of Go source to copy for each run; default: $(go env GOROOT)/src")
    p.add_argument(
        "--jobs", type=int, metavar="N", help="passed to goinstrument as --jobs N and used as go-instrument's pool size; default: number of CPUs"
    )
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="best of N for the goinstrument runs and the floor (memory: the worst of N)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE")
    p.add_argument("--skip-go-instrument", action="store_true", help="do not install or run go-instrument (it takes minutes)")
    p.add_argument("--go-instrument-serial", action="store_true", help="run go-instrument one file at a time instead of a pool")
    p.add_argument("--go-instrument-bin", metavar="PATH", help="use this go-instrument binary instead of `go install`")
    p.add_argument(
        "--go-instrument-standin",
        action="store_true",
        help="where go-instrument cannot be installed: time a stdlib-only stand-in doing the same per-file work (clearly labelled)",
    )
    p.add_argument("--tmpdir", metavar="DIR", help="where the corpus copies go; default: the system temp dir")
    p.add_argument("--keep", action="store_true", help="keep the copies (for inspection)")
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help=(
            "run Python with PYTHONDONTWRITEBYTECODE=1, so every run compiles goinstrument from "
            "source; default: .pyc files cached in the scratch dir, as an installed package has them"
        ),
    )
    p.add_argument(
        "--tool-root",
        type=Path,
        metavar="DIR",
        help="time the goinstrument package of this checkout (its root goes first on PYTHONPATH); default: this one",
    )
    p.add_argument(
        "--goinstrument-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra flag for every goinstrument command timed (repeatable; write --goinstrument-arg=--fast)",
    )
    args = p.parse_args(argv)
    if args.tool_root is not None:
        args.tool_root = args.tool_root.resolve()
        if not (args.tool_root / "goinstrument" / "__init__.py").is_file():
            p.error(f"--tool-root {args.tool_root}: no goinstrument package there")
    if args.repeat < 1 or (args.jobs is not None and args.jobs < 1):
        p.error("--repeat and --jobs must be 1 or more")
    return args


def default_corpus() -> Path:
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(goroot, "src")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    corpus = (args.corpus or default_corpus()).resolve()
    sources = go_files(corpus)
    files, size = len(sources), sum(p.stat().st_size for p in sources)
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0]
    pool = 1 if args.go_instrument_serial else (args.jobs or cpus)
    tool_root, extra = args.tool_root or REPO, tuple(args.goinstrument_arg)
    ws = Workspace(corpus, args.tmpdir, args.keep, pyc=not args.no_bytecode_cache)
    rows: dict[str, Row] = {}
    try:
        why_not = goinstrument_ready(tool_root)
        if why_not:
            log(f"goinstrument is not runnable: {why_not}")
            for key, name in (("cold", "goinstrument cold"), ("noop", "goinstrument 2nd run (no-op)")):
                rows[key] = Row(name, files=files, notes=[why_not.splitlines()[-1]])
        else:
            rows["cold"], rows["noop"], rows["nocache"] = run_goinstrument(ws, files, args.jobs, args.repeat, tool_root, extra)
        rows["floor"] = run_floor(ws, files, args.repeat)
        if not args.skip_go_instrument:
            binary, label, why = go_instrument_binary(args)
            if binary is None:
                rows["go-instrument"] = Row(label, files=files, notes=[why.splitlines()[0]])
            else:
                rows["go-instrument"] = run_go_instrument(ws, files, binary, label, pool)
    finally:
        ws.close()

    checks = targets(rows)
    heading = "; ".join(
        part
        for part in (
            f"corpus {corpus}: {files:,} .go files, {size / MB:.0f} MB",
            f"{cpus} CPUs (load {load:.1f} at start)",
            f"goinstrument --jobs {args.jobs or f'default ({cpus})'}",
            f"goinstrument from {tool_root}" if args.tool_root else None,
            f"goinstrument flags {' '.join(extra)}" if extra else None,
            None if args.skip_go_instrument else f"go-instrument pool {pool}",
            f"best of {args.repeat}",
            "no .pyc (PYTHONDONTWRITEBYTECODE=1)" if args.no_bytecode_cache else ".pyc cached",
            f"Python {platform.python_version()}",
            version_of(["go", "version"]),
        )
        if part
    )
    print(heading)
    print()
    print(table(list(rows.values())))
    print()
    print(targets_table(checks))
    if args.json:
        report = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "corpus": str(corpus),
            "go_files": files,
            "go_bytes": size,
            "cpus": cpus,
            "load_at_start": load,
            "jobs": args.jobs,
            "go_instrument_pool": pool,
            "repeat": args.repeat,
            "python": platform.python_version(),
            "go": version_of(["go", "version"]),
            "goinstrument": version_of([sys.executable, "-m", "goinstrument", "--version"], tool_root),
            "tool_root": str(tool_root),
            "goinstrument_args": list(extra),
            "rows": {key: row.to_json() for key, row in rows.items()},
            "targets": checks,
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
