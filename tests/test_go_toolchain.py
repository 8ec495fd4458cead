"""The instrumented fixtures module against the real Go toolchain (DESIGN §9).

fixtures/gomod is a Go module of hard cases (one package per theme, a
comment per function saying what it tests) that builds as it is, against
the real go.opentelemetry.io/otel. It is copied to a temporary directory,
instrumented with `python -m goinstrument`, and then must:

- build and vet (for linux and windows), and its own tests must pass;
- be gofmt- and goimports-clean, and add no staticcheck diagnostic to the
  four the input has on purpose (STATICCHECK_INPUT);
- have a span in every function that takes a context (`--check` agrees,
  and the span names are the expected ones);
- be unchanged by a second run;
- with --http-handlers, which a second run gives the httpserver package (only
  it: HTTP_HANDLERS), have handler spans that are the parents of what the
  handlers call;
- leave skipped files (//go:build ignore, _test.go, testdata/) byte-identical;
- behave at run time: fixtures/gomod/testdata/spancheck holds Go tests that
  are copied into the instrumented module and run with an in-memory span
  recorder, checking span names, parents, error status and that the
  instrumented code still computes what it did.

Every failure shows the tool's output and what Go said.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import json_objects, run_cli
from gotools import (
    GOMOD_FIXTURE,
    copy_module,
    describe,
    digest_changes,
    go_bin,
    go_build_vet,
    gofmt_bin,
    gofmt_l,
    goimports_bin,
    goimports_l,
    run_go,
    staticcheck,
    tree_digest,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("test_go_toolchain"),
]  # one worker of pytest-xdist runs them all (scripts/test's --dist loadgroup): the module's shared fixture is built once

MODULE = "example.com/fixtures"

# Files the tool must not touch: never compiled, test files, testdata.
SKIPPED = ["skip/ignored.go", "skip/legacy_ignore.go", "skip/skip_test.go"]

# The span names each file must hold after instrumentation, in source order
# (`.Start(<ctx>, "<name>")`). Files not listed must hold no span. Literal
# numbers are the Go runtime's for the instrumented code, where the inserted
# deferred error block is itself the first literal of its function.
EXPECTED_SPANS: dict[str, list[str]] = {
    "bodies/bodies.go": [
        "OneLine",
        "OneLineValue",
        "Empty",
        "EmptyBlock",
        "CommentOnly",
        "Commented",
        "Unread",
        "Labelled",
        "Goto",
        "Semicolons",
        "Forever",
        "Panics",
        "Deferred",
    ],
    "bodies/unicode.go": ["Größe", "Straße.Länge2"],
    "bodies/newexpr.go": ["NewExpr", "LocalMake", "Vowelͺ"],
    "bodies/directives.go": ["Worker.Included"],
    "ctxalias/alias.go": ["Deadline", "WithTimeout"],
    "ctxnet/xnet.go": ["Old", "OldErr"],
    "ctxsingle/single.go": ["Single"],
    "errs/alias.go": ["AliasResult"],
    "httpserver/server.go": ["Greet", "Hello", "Server.ServeHTTP", "Save", "Both", "Mux.func1", "Mux.func2", "Thing"],
    "httpserver/alias.go": ["Aliased"],
    "errs/bareshadow/bareshadow.go": ["BlankErrBareShadowed", "UnnamedErrShadowedBare"],
    "errs/owntype/use.go": ["Find"],
    "errs/body.go": ["DeclaredShort", "DeclaredMulti", "DeclaredVar", "Shadowed", "ParamErr", "NamedAssigned", "LocalTypeErr"],
    "errs/literals.go": [
        "OuterErrRead",
        "OuterErrRead.func2",
        "OuterErrAssigned",
        "OuterErrAssigned.func2",
        "NamedOuterLiteral",
        "NamedOuterLiteral.func3",
    ],
    "errs/results.go": [
        "Single",
        "Pair",
        "Named",
        "NamedBare",
        "BlankErr",
        "ThreeResults",
        "ThreeUnnamed",
        "GroupedErrors",
        "BlankPair",
        "ErrorNotLast",
        "ReturnsFunc",
        "ReturnsErrChan",
    ],
    "existing/existing.go": ["custom name", "OwnShape", "Missing"],
    "identity/identity.go": ["Start", "Call.Holds", "Dial"],
    "ctxresult/ctxresult.go": ["WithUser", "User", "Child", "Handle"],  # Annotate and SetUser annotate their caller's span
    "effects/effects.go": ["Fail", "Recovers", "Panics", "Caller"],  # Fast is //go:nosplit
    "existing/blankimport/blank.go": ["Run"],
    # Package-level literals numbered in initialisation order: Late waits for a variable declared after it.
    "initorder/initorder.go": ["init.func2", "init.func1", "init.func5", "init.func3"],
    "initorder/other.go": ["init.func4"],
    "literals/literals.go": [
        "init.func1",
        "init.func2",
        "init.func3",
        "Outer",
        "Outer.func1",
        "Outer.func1.1",
        "Outer.func2",
        "Numbering",
        "Numbering.func3",
        "ClosureOnly",
        "Child",
        "GoAndDefer",
        "GoAndDefer.func1",
        "GoAndDefer.func2",
        "MakeHandler.func1",
        "MakeFunc",
        "MakeFunc.func1",
        "Runner.Run",
        "Runner.Run.func2",
        "Arg",
        "Arg.func2",
        "apply",
    ],
    "methods/generics.go": ["Stack.Push", "Stack.Pop", "Stack.Len", "Pair.Lookup", "Pair.Value", "Map", "Reduce"],
    "methods/methods.go": ["Store.Put", "Store.Get", "Store.Keys", "Store.Ping", "Store.Close", "Store.Kind", "Celsius.Fahrenheit", "Counter.Add"],
    "names/ctxvar/ctxvar.go": [
        "BlankReadsPackageCtx",
        "UnnamedReadsPackageCtx",
        "BlankLocalCtx",
        "BlankOtherParamCtx",
        "LiteralBlankOuterCtx",
        "LiteralBlankOuterCtx.func2",
    ],
    "names/grpccodes/grpc.go": ["Find", "Classify"],
    "names/otelvar/otel.go": ["SameFile"],
    "names/otellater/work.go": ["Work"],
    "names/otelvar/other.go": ["OtherFile"],
    "names/spanlocal/spanlocal.go": ["LocalSpan", "ParamSpan", "CtxNamedSpan", "Span.Finish", "ResultSpan", "ErrNamedSpan", "InnerSpan"],
    "names/spanpkg/use.go": ["Label", "LabelSameFile"],
    "names/taken/taken.go": ["Codes", "OtelParam", "CtxNamedErr", "ContextParam", "LocalCodes", "LocalOtel"],
    "nilvalues/nilvalues.go": ["IsNil", "TypedNil"],
    "params/params.go": [
        "WithName",
        "First",
        "NotFirst",
        "NamedC",
        "Blank",
        "Unnamed",
        "UnnamedVariadic",
        "Variadic",
        "Two",
        "GroupedAround",
        "GroupedWithOther",
        "CtxUnread",
    ],
    "runtimenames/init.go": ["init.func1", "init.0.func1", "init.1.func1", "init.1.func1.1"],
    "runtimenames/alias.go": ["T.Value", "T.Pointer", "T.Aliased", "T.Chain", "T.Handle", "T.Handle.func1"],
    "runtimenames/deadcode.go": ["run", "Dropped", "Dropped.func1", "Dropped.func2", "Dropped.func3", "Dropped.func4"],
    "runtimenames/rangefunc.go": [
        "RangeOverFunc",
        "RangeOverFunc.func2",
        "RangeOverFunc.func1",
        "RangeOverFunc.func3",
        "RangeOverFunc.func5",
        "RangeOverFunc.func6",
        "Nested",
        "Nested.func3",
        "Nested.func2.1",
        "Nested.func1",
    ],
    "skip/platform_windows.go": ["Platform"],
    "skip/skip.go": ["Work"],
    "telemetry/telemetry.go": ["Get", "Read", "Plain"],
    "skip/unix.go": ["Platform"],
}
# Only the count is checked here; the names are checked at run time (test_spans_at_run_time[packagewide]).
EXPECTED_SPAN_COUNTS = {"packagewide/a.go": 1, "packagewide/b.go": 3}

START_RE = re.compile(r'\.Start\((\w+(?:\.Context\(\))?), "([^"]*)"[,)]')  # a handler's starts from r.Context(), with options
GO_POS_RE = re.compile(r"^(?:vet: )?(?:\./)?([\w./-]+\.go):(\d+):(\d+): ", re.M)

# Packages under testdata/spancheck, each a go test of one fixture package.
SPANCHECK = sorted(p.name for p in (GOMOD_FIXTURE / "testdata" / "spancheck").iterdir() if p.is_dir() and p.name != "rec")
# The packages instrumented with --http-handlers (a second run over them, after the module's).
HTTP_HANDLERS = ["httpserver"]
KNOWN_GAPS: dict[str, str] = {}


@dataclass
class Instrumented:
    path: Path  # the instrumented copy of fixtures/gomod
    before: dict[str, str]  # tree digest of the copy before the tool ran
    after: dict[str, str]  # and after
    returncode: int
    stdout: str
    stderr: str

    def tool_output(self) -> str:
        return f"goinstrument exit {self.returncode}\n--- goinstrument stdout ---\n{self.stdout}--- goinstrument stderr ---\n{self.stderr}"

    def require_ok(self) -> None:
        assert self.returncode == 0, f"goinstrument failed on the fixtures module\n{self.tool_output()}"


def _excerpts(root: Path, go_output: str, context: int = 3) -> str:
    """The instrumented source around each file:line Go complains about."""
    shown: set[tuple[str, int]] = set()
    parts = []
    for m in GO_POS_RE.finditer(go_output):
        rel, line = m.group(1), int(m.group(2))
        path = root / rel
        if (rel, line) in shown or not path.is_file():
            continue
        shown.add((rel, line))
        lines = path.read_text(errors="replace").splitlines()
        lo, hi = max(1, line - context), min(len(lines), line + context)
        body = "\n".join(f"{'>' if n == line else ' '}{n:5} | {lines[n - 1]}" for n in range(lo, hi + 1))
        parts.append(f"--- {rel}:{line} (instrumented) ---\n{body}")
    return "\n".join(parts)


def _go_failure(inst: Instrumented, proc, what: str) -> str:
    return f"{what}\n{describe(proc, inst.path)}\n{_excerpts(inst.path, proc.stdout + proc.stderr)}\n{inst.tool_output()}"


def _assert_go_ok(inst: Instrumented, args, what: str, env=None, cwd=None) -> None:
    proc = run_go(args, cwd or inst.path, env=env)
    if proc.returncode != 0:
        pytest.fail(_go_failure(inst, proc, what), pytrace=False)


@pytest.fixture(scope="module")
def instrumented(tmp_path_factory) -> Instrumented:
    go_bin()  # skip (or fail under CI) early when there is no Go
    root = tmp_path_factory.mktemp("gomod")
    copy = copy_module(GOMOD_FIXTURE, root)
    before = tree_digest(copy)
    env = {"GOINSTRUMENT_CACHE_DIR": str(root / "cache")}
    proc = run_cli(copy, env=env)
    handlers = run_cli("--http-handlers", *(copy / p for p in HTTP_HANDLERS), env=env)
    return Instrumented(
        copy,
        before,
        tree_digest(copy),
        proc.returncode or handlers.returncode,
        proc.stdout + handlers.stdout,
        proc.stderr + handlers.stderr,
    )


# --- the input ---------------------------------------------------------------


def test_input_module_is_valid_go(tmp_path):
    """The un-instrumented module builds, vets, is formatted and its tests pass."""
    copy = copy_module(GOMOD_FIXTURE, tmp_path)
    go_build_vet(copy, context="the un-instrumented fixtures module: ")
    go_build_vet(copy, env={"GOOS": "windows"}, context="the un-instrumented fixtures module, GOOS=windows: ")
    proc = run_go(["test", "-mod=readonly", "-count=1", "./..."], copy)
    assert proc.returncode == 0, describe(proc, copy)
    assert gofmt_l(copy) == [], "gofmt -l lists files of the un-instrumented module"
    assert goimports_l(copy) == [], "goimports -l lists files of the un-instrumented module"
    gomod = (copy / "go.mod").read_text()
    for module in ("go.opentelemetry.io/otel ", "go.opentelemetry.io/otel/sdk ", "google.golang.org/grpc ", "golang.org/x/net "):
        assert module in gomod, f"go.mod does not require {module.strip()}:\n{gomod}"


def test_input_lacks_spans(tmp_path):
    """--check on the input exits 1 and names the functions without a span."""
    copy = copy_module(GOMOD_FIXTURE, tmp_path)
    proc = run_cli("--check", copy, env={"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 1, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    for needle in ("params.go", "First", "Stack.Push", "Outer.func1"):
        assert needle in proc.stdout, f"--check does not mention {needle!r}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert tree_digest(copy) == tree_digest(GOMOD_FIXTURE), "--check wrote files"


# --- the instrumented module ---------------------------------------------------


def test_tool_succeeds(instrumented):
    instrumented.require_ok()
    changed = digest_changes(instrumented.before, instrumented.after)
    assert changed, f"goinstrument changed no file\n{instrumented.tool_output()}"


def test_instrumented_builds_and_vets(instrumented):
    instrumented.require_ok()
    _assert_go_ok(instrumented, ["build", "-mod=readonly", "./..."], "go build of the instrumented module failed")
    _assert_go_ok(instrumented, ["vet", "-mod=readonly", "./..."], "go vet of the instrumented module failed")


def test_instrumented_builds_and_vets_for_windows(instrumented):
    """platform_windows.go is instrumented too: build it where it compiles."""
    instrumented.require_ok()
    env = {"GOOS": "windows", "GOARCH": "amd64"}
    _assert_go_ok(instrumented, ["build", "-mod=readonly", "./..."], "GOOS=windows go build of the instrumented module failed", env=env)
    _assert_go_ok(instrumented, ["vet", "-mod=readonly", "./..."], "GOOS=windows go vet of the instrumented module failed", env=env)


def test_instrumented_module_tests_pass(instrumented):
    """The fixture's own _test.go (left un-instrumented) still passes."""
    instrumented.require_ok()
    _assert_go_ok(instrumented, ["test", "-mod=readonly", "-count=1", "./skip/"], "go test of the instrumented module failed")


def test_instrumented_is_gofmt_clean(instrumented):
    instrumented.require_ok()
    dirty = gofmt_l(instrumented.path)
    if dirty:
        pytest.fail(f"gofmt -l lists {dirty}\n{_gofmt_diffs(instrumented.path, dirty)}\n{instrumented.tool_output()}", pytrace=False)


def test_instrumented_is_goimports_clean(instrumented):
    instrumented.require_ok()
    dirty = goimports_l(instrumented.path)
    if dirty:
        pytest.fail(f"goimports -l lists {dirty}\n{_goimports_diffs(instrumented.path, dirty)}\n{instrumented.tool_output()}", pytrace=False)


# What staticcheck says of the un-instrumented module: hard cases written on purpose (file, check).
STATICCHECK_INPUT = {("bodies/bodies.go", "SA4004"), ("ctxnet/xnet.go", "SA1019"), ("errs/results.go", "U1000"), ("methods/methods.go", "ST1006")}


def test_instrumented_adds_no_staticcheck_diagnostic(instrumented, tmp_path):
    """staticcheck ./... finds nothing in the instrumented module (the default run and the --http-handlers
    run) that it does not find in the input: the same diagnostics, none new (an `r = r.WithContext(ctx)`
    nothing reads would be SA4006)."""
    instrumented.require_ok()
    before = staticcheck(copy_module(GOMOD_FIXTURE, tmp_path))
    assert {(path, check) for path, check, _ in before} == STATICCHECK_INPUT, f"staticcheck of the input: {sorted(before)}"
    new = staticcheck(instrumented.path) - before
    assert not new, f"staticcheck diagnostics the instrumented module adds: {sorted(new)}\n{instrumented.tool_output()}"


def _diffs(tool: str, root: Path, files: list[str]) -> str:
    out = []
    for rel in files:
        proc = subprocess.run([tool, "-d", rel], cwd=root, capture_output=True, text=True)
        out.append(proc.stdout + proc.stderr)
    return "\n".join(out)


def _gofmt_diffs(root: Path, files: list[str]) -> str:
    return _diffs(gofmt_bin(), root, files)


def _goimports_diffs(root: Path, files: list[str]) -> str:
    return _diffs(goimports_bin(), root, files)


def test_check_finds_nothing(instrumented, tmp_path):
    """Every function that should have a span has one: --check exits 0, prints nothing."""
    instrumented.require_ok()
    copy = copy_module(instrumented.path, tmp_path)
    proc = run_cli("--check", copy, env={"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0 and proc.stdout == "", (
        f"--check on the instrumented module: exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


def test_expected_spans(instrumented):
    """Each file holds exactly the spans expected, by name, in source order."""
    instrumented.require_ok()
    problems = []
    for path in sorted(instrumented.path.rglob("*.go")):
        rel = path.relative_to(instrumented.path).as_posix()
        if rel.startswith("testdata/"):
            continue
        found = [name for _, name in START_RE.findall(path.read_text())]
        if rel in EXPECTED_SPAN_COUNTS:
            if len(found) != EXPECTED_SPAN_COUNTS[rel]:
                problems.append(f"{rel}: {len(found)} spans {found}, want {EXPECTED_SPAN_COUNTS[rel]}")
            continue
        want = EXPECTED_SPANS.get(rel, [])
        if found != want:
            missing = [n for n in want if n not in found]
            extra = [n for n in found if n not in want]
            problems.append(f"{rel}:\n    found   {found}\n    want    {want}\n    missing {missing}\n    extra   {extra}")
    for rel in EXPECTED_SPANS:
        if not (instrumented.path / rel).is_file():
            problems.append(f"{rel}: missing from the module")
    assert not problems, "span names differ:\n" + "\n".join(problems)


def test_tracer_is_the_package_import_path(instrumented):
    """The default tracer name is each package's import path, from go.mod."""
    instrumented.require_ok()
    wrong = []
    for rel in EXPECTED_SPANS:
        pkg = f"{MODULE}/{Path(rel).parent.as_posix()}"
        for tracer in re.findall(r'\.Tracer\("([^"]*)"\)\.Start\(', (instrumented.path / rel).read_text()):
            if tracer != pkg:
                wrong.append(f"{rel}: Tracer({tracer!r}), want {pkg!r}")
    assert not wrong, "\n".join(wrong)


def test_http_handlers_check_and_second_run(instrumented, tmp_path):
    """With --http-handlers: the input's handlers are findings; the instrumented ones are not, and a
    second run changes nothing."""
    instrumented.require_ok()
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    before = copy_module(GOMOD_FIXTURE, tmp_path / "input")
    proc = run_cli("--check", "--http-handlers", *(before / p for p in HTTP_HANDLERS), env=env)
    assert proc.returncode == 1 and all(f": {n}: no span" in proc.stdout for n in ("Hello", "Server.ServeHTTP", "Mux.func1")), (
        proc.stdout + proc.stderr
    )
    copy = copy_module(instrumented.path, tmp_path / "after")
    proc = run_cli("--check", "--http-handlers", *(copy / p for p in HTTP_HANDLERS), env=env)
    assert proc.returncode == 0 and proc.stdout == "", f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    digest = tree_digest(copy)
    proc = run_cli("--http-handlers", "--no-cache", copy, env=env)
    assert proc.returncode == 0 and digest_changes(digest, tree_digest(copy)) == [], proc.stderr


def test_second_run_changes_nothing(instrumented, tmp_path):
    instrumented.require_ok()
    copy = copy_module(instrumented.path, tmp_path)
    before = tree_digest(copy)
    proc = run_cli("--no-cache", copy, env={"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, f"second run: exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    changed = digest_changes(before, tree_digest(copy))
    diffs = ""
    if changed:
        for rel in changed[:5]:
            a = (instrumented.path / rel).read_text(errors="replace").splitlines(keepends=True)
            b = (copy / rel).read_text(errors="replace").splitlines(keepends=True) if (copy / rel).exists() else []
            diffs += "".join(difflib.unified_diff(a, b, f"first run/{rel}", f"second run/{rel}"))
    assert not changed, f"a second run changed {changed}\n{diffs}\nstderr:\n{proc.stderr}"


def test_a_name_declared_later_re_aliases_our_imports(instrumented, tmp_path):
    """A file declaring otel and codes is added to a package after its spans were: the next
    run renames the imports of work.go (and every use) instead of leaving a build error."""
    instrumented.require_ok()
    copy = copy_module(instrumented.path, tmp_path)
    package = copy / "names" / "otellater"
    shutil.copy(GOMOD_FIXTURE / "testdata" / "later" / "names" / "otellater" / "later.go", package / "later.go")
    env = {"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")}
    proc = run_cli(copy, env=env)
    assert proc.returncode == 0, proc.stderr
    work = (package / "work.go").read_text()
    assert '\totelapi "go.opentelemetry.io/otel"\n\totelcodes "go.opentelemetry.io/otel/codes"\n' in work, work
    assert "otelapi.GetTracerProvider()" in work and "span.SetStatus(otelcodes.Error, err.Error())" in work, work
    go_build_vet(copy, context="after a sibling declared otel and codes: ")
    assert gofmt_l(copy) == [] and goimports_l(copy) == []
    before = tree_digest(copy)
    run_cli("--no-cache", copy, env=env, check=0)
    assert digest_changes(before, tree_digest(copy)) == []


def test_skipped_files_are_untouched(instrumented):
    """//go:build ignore files, _test.go files and testdata/ stay byte-identical."""
    instrumented.require_ok()
    changed = set(digest_changes(instrumented.before, instrumented.after))
    touched = [rel for rel in SKIPPED if rel in changed]
    touched += [rel for rel in changed if rel.startswith("testdata/")]
    assert not touched, f"goinstrument changed files it must skip: {touched}\n{instrumented.tool_output()}"
    # Only .go files change (go.mod and go.sum are left alone).
    non_go = [rel for rel in changed if not rel.endswith(".go")]
    assert not non_go, f"goinstrument changed non-Go files: {non_go}"


# --- run time ------------------------------------------------------------------


def test_code_function_name_is_the_runtimes(tmp_path):
    """--attributes code: code.function.name is runtime.FuncForPC's name of the running function
    (pointer and value receivers, generics, literals, init functions, package main), checked by
    running testdata/codenames instrumented with inlining off."""
    copy = copy_module(GOMOD_FIXTURE, tmp_path)
    shutil.copytree(copy / "testdata" / "codenames", copy / "codenames")
    proc = run_cli("--attributes", "code", copy / "codenames", env={"GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "code.function.name" in (copy / "codenames" / "cmd" / "main.go").read_text()
    run = run_go(["run", "-mod=readonly", f"-gcflags={MODULE}/...=-l", "./codenames/cmd"], copy)
    assert run.returncode == 0, describe(run, copy)
    assert run.stdout.count(": same ") == 15, run.stdout


@pytest.fixture(scope="module")
def spancheck_module(instrumented, tmp_path_factory) -> Path:
    """A copy of the instrumented module with testdata/spancheck added as spancheck/."""
    instrumented.require_ok()
    copy = copy_module(instrumented.path, tmp_path_factory.mktemp("spancheck"))
    shutil.copytree(copy / "testdata" / "spancheck", copy / "spancheck")
    return copy


@pytest.mark.parametrize(
    "pkg",
    [pytest.param(p, marks=pytest.mark.xfail(reason=KNOWN_GAPS[p], strict=False)) if p in KNOWN_GAPS else p for p in SPANCHECK],
)
def test_spans_at_run_time(instrumented, spancheck_module, pkg):
    """Run spancheck/<pkg>: an in-memory recorder sees the right spans.

    Inlining is off for the fixture packages (-l) so that the runtime's names
    for function literals are their canonical ones.
    """
    args = ["test", "-mod=readonly", "-count=1", f"-gcflags={MODULE}/...=-l", f"./spancheck/{pkg}/"]
    proc = run_go(args, spancheck_module)
    if proc.returncode != 0:
        inst = Instrumented(spancheck_module, {}, {}, instrumented.returncode, instrumented.stdout, instrumented.stderr)
        what = f"the run-time checks of package {pkg} failed (fixtures/gomod/testdata/spancheck/{pkg})"
        pytest.fail(_go_failure(inst, proc, what), pytrace=False)


# --- what a span carries (issue 20): through the SDK, for each --errors form ----------------------

TELEMETRY_FLAGS = ("--attributes", "args,code,results", "--expected-errors", "context.Canceled,io.EOF")
SPANS_DOC = Path(__file__).parent.parent / "docs" / "spans.md"
# Left out of the samples of docs/spans.md: the same for every span of a process, or deprecated.
_SAMPLE_OMITS = ("Resource", "InstrumentationLibrary")


def _span_shape(span: dict[str, Any]) -> tuple[object, ...]:
    """What a sample shows that a run must give again: keys, attribute keys and types, status, events."""
    keys = tuple(k for k in span if k not in _SAMPLE_OMITS)
    attributes = tuple((a["Key"], a["Value"]["Type"]) for a in span.get("Attributes") or ())
    return span["Name"], span["SpanKind"], keys, attributes, span["Status"]["Code"], span["Status"]["Description"], span["Events"]


@pytest.mark.slow
def test_what_the_spans_carry_through_the_sdk(tmp_path):
    """fixtures/gomod/telemetry instrumented with --attributes args,code,results and each --errors
    form in turn (each run updating every span the last one wrote, --check reporting them first),
    then testdata/telemetrycheck through the real SDK: status and description, error.type, exception
    events only with --errors event, expected errors (context.Canceled, io.EOF) left Unset, a deadline
    passed marked, and argument and code.* attributes seen by a sampler at start. The spans the
    stdout exporter writes have the shape of docs/spans.md's samples."""
    go_bin()
    copy = copy_module(GOMOD_FIXTURE, tmp_path)
    shutil.copytree(copy / "testdata" / "telemetrycheck", copy / "telemetrycheck")
    package = copy / "telemetry"
    exported = tmp_path / "spans.json"
    for mode in ("event", "none", "status"):
        flags = (*TELEMETRY_FLAGS, "--errors", mode, "--no-cache")
        first = package.joinpath("telemetry.go").read_text()
        stale = run_cli("--check", *flags, package, check=1)
        if "otel.Tracer" in first:
            assert stale.stdout.count("span is out of date") == 2, stale.stdout  # Get and Read: their error blocks
        run_cli(*flags, package, check=0)
        run_cli("--check", *flags, package, check=0)
        env = {"GOINSTRUMENT_ERRORS": mode, "GOINSTRUMENT_SPAN_JSON": str(exported)}
        proc = run_go(["test", "-mod=readonly", "-count=1", "./telemetrycheck/"], copy, env=env)
        assert proc.returncode == 0, f"--errors {mode}:\n{describe(proc, copy)}\n{package.joinpath('telemetry.go').read_text()}"
    go_build_vet(copy, context="after the --errors updates: ")
    spans = {s["Name"]: s for s in json_objects(exported.read_text())}
    section = SPANS_DOC.read_text().split("## What the spans look like", 1)[1].split("\n## ", 1)[0]
    samples = json_objects("\n".join(section.split("```json")[i].split("```")[0] for i in range(1, section.count("```json") + 1)))
    assert [s["Name"] for s in samples] == ["Plain", "Get"], "docs/spans.md's samples: a plain function, a function with an error"
    for sample in samples:
        assert _span_shape(sample) == _span_shape(spans[sample["Name"]]), json_dump(spans[sample["Name"]])


def json_dump(span: dict[str, Any]) -> str:
    import json

    return "a run gives:\n" + json.dumps({k: v for k, v in span.items() if k not in _SAMPLE_OMITS}, indent="\t")


@pytest.mark.slow
def test_a_handler_span_through_the_sdk_has_the_shape_of_the_sample(instrumented, spancheck_module, tmp_path):
    """spancheck/httpserver's server spans as the stdout exporter writes them: docs/spans.md's sample of a
    handler's span (kind SERVER, http.request.method and url.path, named after the ServeMux pattern
    with http.route) is what a run gives."""
    exported = tmp_path / "spans.json"
    args = ["test", "-mod=readonly", "-count=1", "-run", "TestHandlerSpansAreServerSpans", "./spancheck/httpserver/"]
    proc = run_go(args, spancheck_module, env={"GOINSTRUMENT_SPAN_JSON": str(exported)})
    assert proc.returncode == 0, describe(proc, spancheck_module)
    spans = {s["Name"]: s for s in json_objects(exported.read_text())}
    section = SPANS_DOC.read_text().split("## A handler's span", 1)[1].split("\n## ", 1)[0]
    samples = json_objects(section.split("```json")[1].split("```")[0])
    assert [s["Name"] for s in samples] == ["HEAD /server"]  # renamed after the ServeMux pattern "/server"
    assert samples[0]["SpanKind"] == 2  # trace.SpanKindServer
    assert _span_shape(samples[0]) == _span_shape(spans["HEAD /server"]), json_dump(spans["HEAD /server"])
