#!/usr/bin/env python3
"""Proof on real modules: their own tests pass the same before and after instrumenting.

    python bench/proof.py [--module PATH ...] [--goinstrument-arg ARG ...] [--tool-root DIR]
                          [--parallel N] [--timeout SECONDS] [--limit SECONDS]
                          [--original] [--json FILE] [--keep DIR]

For each module of MODULES (pinned versions, from the Go module proxy) it

1. copies the module out of the read-only module cache into a temporary "before"
   directory and runs `go get go.opentelemetry.io/otel@<the fixtures module's version>`
   there (so both runs build against the same build list and the same `go` line);
2. copies "before" to "after" and instruments "after" with this working tree's
   goinstrument (`python -m goinstrument --no-cache .`, PYTHONPATH = the repo root, or
   --tool-root: another checkout, e.g. a branch exported with `git archive`),
   which must exit 0;
3. requires `go build` and `go vet` of the instrumented copy to report nothing the
   original did not report;
4. runs `go test -short -count=1 -json` of the module's packages in both copies, each
   test binary under `-timeout`, the whole run under a wall-clock limit (a run that
   outlives it is killed and its unfinished packages count as hung), and compares the
   result of every package (pass, fail, skip, timeout, hang, build-fail) and the set
   of its failed tests. The tests that failed on one side only run once more on both
   sides; only a difference that repeats counts (a hang or timeout is not rerun).

Both copies are shown to go at one path (a symbolic link, see seen_at), so the build
cache serves "after" every package instrumenting left alone.

It prints one table (module, packages, before and after pass/fail, differences,
time) and, under it, every difference with the tests that changed. Exit status 1
when any module differs or a step failed. tests/test_proof.py runs it as a slow
test. Stdlib only; needs `go` and the proxy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES_GOMOD = REPO / "fixtures" / "gomod" / "go.mod"

PER_PACKAGE_TIMEOUT = 120  # seconds: `go test -timeout`, per test binary
RUN_LIMIT = 420  # seconds: wall-clock limit of one `go test` run (all packages of a module)


@dataclass(frozen=True)
class Module:
    path: str
    version: str
    packages: tuple[str, ...] = ("./...",)  # what `go test` runs
    checked: tuple[str, ...] = ("./...",)  # what `go build` and `go vet` check
    why: str = ""
    skip: str = ""  # go test -skip: tests that reach beyond loopback, with the reason in `why`

    @property
    def ref(self) -> str:
        return f"{self.path}@{self.version}"


GRPC_PACKAGES = (".", "./internal/transport/...", "./internal/grpcsync", "./internal/idle", "./metadata")

# Modules whose code lives on contexts (HTTP transports, auth, pools, retries) and
# whose -short tests are hermetic (loopback only) and quick on two cores.
MODULES = [
    Module(
        "golang.org/x/net",
        "v0.62.0",
        ("./http2/...", "./context/...", "./netutil/...", "./proxy/...", "./http/..."),
        why="HTTP/2 transport and its client connection pool (`call.ctx == req.Context()`), proxies; "
        "the other packages (quic, webdav, icmp, ...) are built and vetted only",
    ),
    Module("golang.org/x/oauth2", "v0.36.0", why="token sources, auth transports, external-account suppliers that check their ctx"),
    Module("github.com/hashicorp/go-retryablehttp", "v0.7.8", why="HTTP client with retries and backoff on the request's context"),
    Module("github.com/jackc/puddle/v2", "v2.2.4", why="resource pool: Acquire with a context, cancellation while waiting"),
    Module("golang.org/x/sync", "v0.24.0", why="errgroup.WithContext, semaphore.Acquire, singleflight"),
    Module(
        "github.com/cenkalti/backoff/v5",
        "v5.0.3",
        why="Retry with a context, timers, permanent errors; ExampleRetry is skipped (it fetches http://httpbin.org)",
        skip="^ExampleRetry$",
    ),
    Module(
        "google.golang.org/grpc",
        "v1.85.0",
        GRPC_PACKAGES,
        why="client and server connections, streams, the HTTP/2 transport, idleness; a subset: ./... takes minutes "
        "to build on two cores, so build and vet check the tested packages (and compile what they import)",
        checked=GRPC_PACKAGES,
    ),
]


@dataclass(frozen=True)
class Settings:
    otel: str  # the go.opentelemetry.io/otel version both copies get
    goinstrument_args: list[str]
    parallel: int  # go test -p
    timeout: int  # go test -timeout, seconds, per test binary
    limit: float  # wall-clock seconds of one go test run
    tool_root: Path = REPO  # the checkout whose goinstrument instruments
    original: bool = False  # also run the tests of the module as published, to see what the raised go line changes


STATUSES = ("pass", "fail", "skip", "timeout", "hang", "build-fail", "not-run")


@dataclass
class PackageResult:
    status: str = "not-run"
    failed: list[str] = field(default_factory=list)  # failed tests (top-level and subtests)
    seconds: float = 0.0

    def same_as(self, other: PackageResult) -> bool:
        return self.status == other.status and sorted(self.failed) == sorted(other.failed)

    def describe(self) -> str:
        return self.status + (f" ({', '.join(sorted(self.failed))})" if self.failed else "")


@dataclass
class Difference:
    package: str
    before: str
    after: str
    confirmed: bool  # the rerun showed the same difference
    output: str = ""  # the after run's output of the failed or hung tests, cut short


@dataclass
class Report:
    module: str
    version: str
    go_line: str = ""  # the module's own `go` line, then the one `go get otel` left
    packages: int = 0
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    results: dict[str, tuple[str, str]] = field(default_factory=dict)  # package: (before, after), for --json
    go_line_effects: list[str] = field(default_factory=list)  # with --original: what `go get otel` alone changed
    problems: list[str] = field(default_factory=list)  # a step that failed: fetch, instrument, build, vet
    instrumented: str = ""  # goinstrument's summary line
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(d.confirmed for d in self.differences)


def otel_version() -> str:
    """The otel version the fixtures module pins, so every proof builds against the same one."""
    match = re.search(r"^\s*go\.opentelemetry\.io/otel (v\S+)", FIXTURES_GOMOD.read_text(), re.M)
    if not match:
        raise SystemExit(f"{FIXTURES_GOMOD}: no go.opentelemetry.io/otel requirement")
    return match.group(1)


def go_env() -> dict[str, str]:
    # -mod=mod: the copies may add go.sum lines; GOTOOLCHAIN=local: never fetch another Go;
    # GOFLAGS replaced, not appended: a user's -race or -tags would make the runs incomparable.
    # (Not -trimpath: tests that find their testdata through runtime.Caller, as grpc's do, fail.)
    return {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}


def run(cmd: list[str], cwd: Path, limit: float | None = None, env: dict[str, str] | None = None) -> tuple[int | None, str, str]:
    """Run cmd niced, in its own process group; (exit status or None when killed at limit, stdout, stderr)."""
    proc = subprocess.Popen(
        ["nice", "-n", "10", *cmd],
        cwd=cwd,
        env=env or go_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=limit)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def go(*args: str, cwd: Path, limit: float | None = None) -> tuple[int | None, str, str]:
    # PWD: the go command takes the directory from it when it names the same one, so a symbolic
    # link (seen_at) stays the path go sees.
    return run(["go", *args], cwd, limit, {**go_env(), "PWD": str(cwd)})


def seen_at(link: Path, copy: Path) -> Path:
    """Point link (a sibling of copy) at copy, and return link.

    The build cache keys a package of the main module by its directory too, so "before" and
    "after" go through the one path: then they share every compiled package instrumenting left
    alone (most of the module, and all of its tests' imports), instead of compiling twice.
    """
    if link.is_symlink():
        link.unlink()
    link.symlink_to(copy.name)
    return link


def fetch(module: Module, into: Path) -> Path:
    """The module's source, copied out of the read-only module cache and made writable."""
    status, out, err = go("mod", "download", "-json", module.ref, cwd=into)
    if status != 0:
        raise RuntimeError(f"go mod download {module.ref}: {out}{err}")
    copy = into / "before"
    shutil.copytree(json.loads(out)["Dir"], copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return copy


def go_line(root: Path) -> str:
    match = re.search(r"^go (\S+)", (root / "go.mod").read_text(), re.M)
    return match.group(1) if match else "?"


def prepare(root: Path, otel: str) -> None:
    """Add the otel module (it can raise the `go` line) and fetch what the tests need."""
    for args in (("get", f"go.opentelemetry.io/otel@{otel}"), ("mod", "download")):
        status, out, err = go(*args, cwd=root)
        if status != 0:
            raise RuntimeError(f"go {' '.join(args)}: {out}{err}")


def instrument(root: Path, extra: list[str], tool_root: Path = REPO) -> str:
    """Run tool_root's goinstrument on the copy; its summary line. Exit 0 is required."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tool_root), os.environ.get("PYTHONPATH")]))}
    status, out, err = run([sys.executable, "-m", "goinstrument", "--no-cache", *extra, "."], root, env=env)
    if status != 0:
        raise RuntimeError(f"goinstrument exited {status}:\n{out}{err[-4000:]}")
    lines = err.strip().splitlines()
    return lines[-1] if lines else ""


def diagnostics(root: Path, verb: str, patterns: tuple[str, ...]) -> set[str]:
    """What `go build` or `go vet` reports, as `file: message` (positions move when spans are added)."""
    status, out, err = go(verb, *patterns, cwd=root)
    found = set()
    for line in (out + err).splitlines():
        match = re.match(r"^(?:vet: )?(\S+?\.go):\d+(?::\d+)?: (.*)$", line.strip())
        if match:
            found.add(f"{match.group(1)}: {match.group(2)}")
    if status != 0 and not found:
        found.add(f"go {verb} exited {status}: {(out + err).strip()[-2000:]}")
    return found


def parse_test_json(stream: str) -> tuple[dict[str, PackageResult], dict[str, list[tuple[str, str]]]]:
    """`go test -json` events: each package's result, and each package's output lines as (test, line)."""
    results: dict[str, PackageResult] = {}
    output: dict[str, list[tuple[str, str]]] = {}
    for line in stream.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        package = event.get("Package") or event.get("ImportPath")
        if not package:
            continue
        package = package.split(" ")[0].removesuffix(".test")  # build events: "p [p.test]"
        result = results.setdefault(package, PackageResult())
        action = event.get("Action")
        if action == "output" or action == "build-output":
            output.setdefault(package, []).append((event.get("Test", ""), event.get("Output", "")))
        if action == "start" and result.status == "not-run":
            result.status = "hang"  # until its result arrives
        elif action == "build-fail":
            result.status = "build-fail"
        elif action in ("pass", "fail", "skip"):
            if event.get("Test"):
                if action == "fail":
                    result.failed.append(event["Test"])
            else:
                result.seconds = event.get("Elapsed", 0.0)
                if event.get("FailedBuild") or result.status == "build-fail":
                    result.status = "build-fail"
                elif action == "fail" and any(text.startswith("panic: test timed out after") for _, text in output.get(package, [])):
                    result.status = "timeout"
                else:
                    result.status = action
    return results, output


def list_packages(root: Path, patterns: tuple[str, ...]) -> list[str]:
    status, out, err = go("list", *patterns, cwd=root)
    if status != 0:
        raise RuntimeError(f"go list {' '.join(patterns)}: {out}{err}")
    return out.split()


def run_tests(
    root: Path, packages: list[str], skip: str, settings: Settings, only: str = ""
) -> tuple[dict[str, PackageResult], dict[str, list[tuple[str, str]]]]:
    """`go test -short` of packages; a package without a result when the run ends (or is killed) hung."""
    # -vet=off: the vet step compares go vet before and after; go test's own vet subset would stop
    # a package whose go line `go get otel` raised (1.24's printf check) before its tests run.
    cmd = ["test", "-short", "-count=1", "-vet=off", "-json", f"-p={settings.parallel}", f"-timeout={settings.timeout}s"]
    cmd += [f"-skip={skip}"] if skip else []
    cmd += [f"-run={only}"] if only else []
    _, out, err = go(*cmd, *packages, cwd=root, limit=settings.limit)
    results, output = parse_test_json(out)
    everything = {package: results.get(package, PackageResult()) for package in packages}
    for package, result in everything.items():
        if result.status == "not-run" and err.strip() and package in err:
            result.status = "build-fail"  # setup failures print to stderr, not as events
    return everything, output


def counts(results: dict[str, PackageResult]) -> dict[str, int]:
    tally: dict[str, int] = {}
    for result in results.values():
        tally[result.status] = tally.get(result.status, 0) + 1
    return tally


def failure_excerpt(lines: list[tuple[str, str]], result: PackageResult, limit: int = 2000) -> str:
    """What to read of a run: the failed tests' own lines, the timeout's list of running tests, or the build errors."""
    if result.status == "timeout":
        texts = [text for _, text in lines]
        start = next(i for i, text in enumerate(texts) if text.startswith("panic: test timed out"))
        keep = texts[start : start + 1 + next((i for i, text in enumerate(texts[start + 1 :]) if not text.startswith("\t")), 0)]
    elif result.failed:
        keep = [text for test, text in lines if test in result.failed and not text.startswith("=== ")]
    else:
        keep = [text for _, text in lines]
    text = "".join(keep)
    return text if len(text) <= limit else text[:limit] + "...\n"


def prove(module: Module, workdir: Path, settings: Settings) -> Report:
    report = Report(module.path, module.version)
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        report.seconds[name] = round(report.seconds.get(name, 0.0) + now - clock, 1)
        clock = now

    try:
        before = fetch(module, workdir)
        original_go_line = go_line(before)
        if settings.original:
            shutil.copytree(before, workdir / "original")
        prepare(before, settings.otel)
        report.go_line = f"{original_go_line} -> {go_line(before)}" if go_line(before) != original_go_line else original_go_line
        after = workdir / "after"
        shutil.copytree(before, after)
        src = workdir / "src"
        lap("prepare")
        report.instrumented = instrument(after, settings.goinstrument_args, settings.tool_root)
        lap("instrument")
        for verb in ("build", "vet"):
            new = diagnostics(seen_at(src, after), verb, module.checked)
            if new:
                new -= diagnostics(seen_at(src, before), verb, module.checked)  # only what instrumenting brought
            report.problems += [f"go {verb}: {line}" for line in sorted(new)]
        lap("build+vet")
        packages = list_packages(seen_at(src, before), module.packages)
        report.packages = len(packages)
        results_before, _ = run_tests(seen_at(src, before), packages, module.skip, settings)
        lap("test before")
        results_after, output_after = run_tests(seen_at(src, after), packages, module.skip, settings)
        lap("test after")
        if settings.original:
            results_original, _ = run_tests(seen_at(src, workdir / "original"), packages, module.skip, settings)
            report.go_line_effects = [
                f"{p}: {results_original[p].describe()} as published, {results_before[p].describe()} after go get otel"
                for p in packages
                if not results_original[p].same_as(results_before[p])
            ]
            lap("test as published")
    except RuntimeError as error:
        report.problems.append(str(error))
        return report
    report.before, report.after = counts(results_before), counts(results_after)
    report.results = {p: (results_before[p].describe(), results_after[p].describe()) for p in packages}
    differing = [p for p in packages if not results_before[p].same_as(results_after[p])]
    # The tests that failed on one side run once more on both: a flaky test must not pass for a
    # change, nor a change for a flake. A hang, timeout or build failure is not rerun.
    for package in differing:
        failed = {name.split("/")[0] for name in results_before[package].failed + results_after[package].failed}
        confirmed = True
        if failed and {results_before[package].status, results_after[package].status} <= {"pass", "fail"}:
            only = "^(" + "|".join(sorted(failed)) + ")$"
            again_before, _ = run_tests(seen_at(src, before), [package], module.skip, settings, only)
            again_after, _ = run_tests(seen_at(src, after), [package], module.skip, settings, only)
            confirmed = not again_before[package].same_as(again_after[package])
            lap("rerun")
        report.differences.append(
            Difference(
                package,
                results_before[package].describe(),
                results_after[package].describe(),
                confirmed,
                failure_excerpt(output_after.get(package, []), results_after[package]),
            )
        )
    return report


def summary(tally: dict[str, int]) -> str:
    shown = [f"{tally.get('pass', 0)} pass", f"{tally.get('fail', 0)} fail"]
    # a package-level skip is a package without test files
    shown += [f"{tally[status]} {'no tests' if status == 'skip' else status}" for status in STATUSES[2:] if tally.get(status)]
    return ", ".join(shown)


def table(reports: list[Report], settings: Settings) -> str:
    header = ["module", "go line", "spans", "packages", "before", "after", "differences", "time (s)"]
    rows = [header]
    for report in reports:
        confirmed = [d for d in report.differences if d.confirmed]
        flaky = len(report.differences) - len(confirmed)
        differs = f"{len(confirmed)}" + (f" (+{flaky} flaky)" if flaky else "")
        if report.problems:
            differs += f"; {len(report.problems)} problem(s)"
        timing = " + ".join(f"{name} {seconds:.0f}" for name, seconds in report.seconds.items())
        rows.append(
            [
                f"{report.module}@{report.version}",
                report.go_line,
                spans.group(1) if (spans := re.search(r"(\d+) spans? added", report.instrumented)) else "?",
                str(report.packages),
                summary(report.before),
                summary(report.after),
                differs,
                f"{sum(report.seconds.values()):.0f} ({timing})",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.insert(
        0,
        f"go.opentelemetry.io/otel@{settings.otel}; goinstrument {' '.join(settings.goinstrument_args) or '(defaults)'}"
        f"{'' if settings.tool_root == REPO else f' from {settings.tool_root}'}; "
        f"go test -short -p {settings.parallel} -timeout {settings.timeout}s",
    )
    for report in reports:
        for effect in report.go_line_effects:
            lines.append(f"\n{report.module}: as published vs with otel (not a difference of instrumenting): {effect}")
        for problem in report.problems:
            lines.append(f"\n{report.module}: PROBLEM {problem}")
        for difference in report.differences:
            mark = "DIFFERS" if difference.confirmed else "flaky (same on rerun)"
            lines.append(f"\n{report.module}: {mark} {difference.package}\n  before: {difference.before}\n  after:  {difference.after}")
            if difference.confirmed and difference.output:
                lines.append("  " + difference.output.rstrip().replace("\n", "\n  "))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", default=[], metavar="PATH", help="only this module of the list (repeatable)")
    parser.add_argument("--goinstrument-arg", action="append", default=[], metavar="ARG", help="extra goinstrument flag, e.g. --tests (repeatable)")
    parser.add_argument("--tool-root", type=Path, default=REPO, metavar="DIR", help="instrument with the goinstrument of this checkout")
    parser.add_argument("--parallel", type=int, default=2, metavar="N", help="go test -p N (default 2)")
    parser.add_argument("--timeout", type=int, default=PER_PACKAGE_TIMEOUT, metavar="SECONDS", help="go test -timeout, per package")
    parser.add_argument("--limit", type=float, default=RUN_LIMIT, metavar="SECONDS", help="wall-clock limit of one go test run")
    parser.add_argument("--original", action="store_true", help="also run the tests of each module as published (no otel, its own go line)")
    parser.add_argument("--json", metavar="FILE", help="also write the reports as JSON")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR (kept) instead of a temporary directory")
    args = parser.parse_args(argv)
    chosen = [m for m in MODULES if not args.module or m.path in args.module]
    unknown = set(args.module) - {m.path for m in MODULES}
    if unknown:
        parser.error(f"not in the list: {', '.join(sorted(unknown))}")
    settings = Settings(otel_version(), args.goinstrument_arg, args.parallel, args.timeout, args.limit, args.tool_root.resolve(), args.original)
    reports = []
    with tempfile.TemporaryDirectory(prefix="behaviour-") as scratch:
        base = Path(args.keep) if args.keep else Path(scratch)
        for module in chosen:
            workdir = base / module.path.replace("/", "_")
            if workdir.exists():
                shutil.rmtree(workdir)
            workdir.mkdir(parents=True)
            print(f"{module.ref} ...", file=sys.stderr, flush=True)
            reports.append(prove(module, workdir, settings))
    print(table(reports, settings), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
