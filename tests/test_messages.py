"""Messages as a user meets them (issue 22): one line per usage error, the flag the user gave,
honest counts and coverage, positions of syntax errors; run in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_cli

from goinstrument.cli import main

PLAIN = test_cli.PLAIN


def module(root: Path, files: dict[str, bytes], module_path: str = "example.com/m") -> Path:
    """test_cli's module, in a directory made first."""
    root.mkdir(parents=True, exist_ok=True)
    return test_cli.module(root, files, module_path)


@pytest.fixture
def cli(monkeypatch, capsys):
    """`cli(cwd, *args)`: (exit code, stdout, stderr) of goinstrument.cli.main, in this process."""

    def invoke(cwd: Path, *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--bogus",), "unrecognized arguments: --bogus"),
        (("--fail-under", "101"), "argument --fail-under: must be a percentage from 0 to 100, not '101'"),
        (("--check", "--remove"), "--remove goes with a plain run or --diff"),
        (("--jobs", "x"), "argument --jobs: invalid int value: 'x'"),
        (("--format", "xml"), "argument --format: invalid choice: 'xml'"),
        (("--tracer", ""), "argument --tracer/--app: must not be empty or blank"),
        (("--app=",), "argument --tracer/--app: must not be empty or blank"),
        (("--tracer", " "), "argument --tracer/--app: must not be empty or blank"),
    ],
)
def test_a_usage_error_is_one_line(tmp_path, cli, args, message):
    code, out, err = cli(module(tmp_path, {"a.go": PLAIN}), *args)
    assert code == 2
    assert out == ""
    assert err.startswith(f"goinstrument: error: {message}")
    assert err.count("\n") == 1, err
    assert (tmp_path / "a.go").read_bytes() == PLAIN


def test_help_still_shows_the_usage(tmp_path, cli):
    with pytest.raises(SystemExit) as exit:
        cli(tmp_path, "--help")
    assert exit.value.code == 0


def test_an_empty_tracer_in_the_file_is_refused_with_its_place(tmp_path, cli):
    root = module(tmp_path, {"a.go": PLAIN})
    (root / ".goinstrument.toml").write_text('\ntracer = ""\n')
    code, _, err = cli(root, "a.go")
    assert code == 2
    assert err == '.goinstrument.toml:2:1: "tracer" must not be empty or blank\n'
    assert (root / "a.go").read_bytes() == PLAIN


@pytest.mark.parametrize(
    ("flag", "named"),
    [
        ("--tests", "--tests"),
        ("--no-tests", "--no-tests"),
        ("--literals", "--literals"),
        ("--no-literals", "--no-literals"),
        ("--generated", "--generated"),
        ("--http-handlers", "--http-handlers"),
        ("--app=svc", "--app"),
        ("--tracer=svc", "--tracer"),
    ],
)
def test_install_hook_names_the_flag_the_user_gave(tmp_path, cli, flag, named):
    code, _, err = cli(tmp_path, "--install-hook", flag)
    assert code == 2
    assert f"drop {named} (" in err, err


def test_the_standard_library_s_tracer_is_its_import_path():
    import subprocess

    from goinstrument.driver.gomod import import_path

    goroot = Path(subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip())
    assert import_path(goroot / "src/net/http/server.go") == "net/http"
    assert import_path(goroot / "src/cmd/go/main.go") == "cmd/go"  # module cmd: its paths do carry the prefix


def test_module_std_anywhere_has_no_prefix(tmp_path):
    from goinstrument.driver.gomod import import_path

    module(tmp_path, {"net/http/a.go": PLAIN}, module_path="std")
    assert import_path(tmp_path / "net/http/a.go") == "net/http"


def test_a_git_error_claims_no_coverage_in_json(tmp_path, cli):
    root = module(tmp_path, {"a.go": PLAIN})  # not a git repository
    code, out, _ = cli(root, "--check", "--format", "json", "--changed-since", "main")
    assert code == 2
    document = json.loads(out)
    assert document["problems"][0]["path"] is None
    assert document["coverage"]["percent"] is None


def test_no_function_after_errors_is_said_not_100_percent(tmp_path, cli):
    root = module(tmp_path, {"a.go": PLAIN[:-3], "b.go": PLAIN.replace(b"nil", b"\xff")})
    code, _, err = cli(root, "--check", ".")
    assert code == 2
    assert "coverage: no function takes a context (2 files could not be processed)\n" in err
    assert "100.0%" not in err
    code, out, _ = cli(root, "--check", "--format", "json", ".")
    assert json.loads(out)["coverage"]["percent"] is None


def test_a_directory_named_like_a_go_file_is_walked(tmp_path, cli):
    root = module(tmp_path / "nats.go", {"a.go": PLAIN, "sub.io.go/b.go": PLAIN}, module_path="github.com/nats-io/nats.go")
    code, _, err = cli(tmp_path, "nats.go")
    assert code == 0, err
    assert 'otel.Tracer("github.com/nats-io/nats.go")' in (root / "a.go").read_text()
    assert 'otel.Tracer("github.com/nats-io/nats.go/sub.io.go")' in (root / "sub.io.go/b.go").read_text()
    assert "goinstrument: 2 of 2 files changed, 2 spans added\n" in err


# --- gofmt habits (item 6) ----------------------------------------------------------------------


def test_l_lists_the_files_a_run_would_change_and_writes_nothing(tmp_path, cli):
    done = PLAIN.replace(b"F(", b"G(")
    root = module(tmp_path, {"a.go": PLAIN, "b.go": b"package p\n", "c/d.go": PLAIN})
    code, out, err = cli(root, "-l", ".")
    assert (code, out) == (1, "a.go\nc/d.go\n")
    assert "goinstrument: 2 of 3 files would change" in err
    assert (root / "a.go").read_bytes() == PLAIN
    cli(root, ".")
    assert cli(root, "-l", ".")[:2] == (0, "")
    (root / "e.go").write_bytes(done)
    assert cli(root, "--list", "e.go")[:2] == (1, "e.go\n")


def test_l_with_staged_lists_the_staged_files_that_would_change(tmp_path, cli):
    from gitrepo import GitRepo

    repo = GitRepo.go_module(tmp_path / "repo", {"a.go": "package p\n", "b.go": "package p\n"})
    repo.write("a.go", PLAIN.decode())
    repo.add("a.go")
    code, out, _ = cli(repo.root, "-l", "--staged")
    assert (code, out) == (1, "a.go\n")
    assert (repo.root / "a.go").read_bytes() == PLAIN


@pytest.mark.parametrize(
    "args",
    [("-l", "--check"), ("-l", "--diff"), ("-l", "--format", "json"), ("--check", "--diff", "--format", "sarif"), ("--check", "--diff", "--staged")],
)
def test_l_and_check_diff_refuse_what_cannot_go_with_them(tmp_path, cli, args):
    code, _, err = cli(module(tmp_path, {"a.go": PLAIN}), *args, *([] if "--staged" in args else ["a.go"]))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("goinstrument: error: ")


def test_check_with_diff_prints_the_patch_on_stdout_and_the_findings_on_stderr(tmp_path, cli):
    root = module(tmp_path, {"a.go": PLAIN, "b.go": b"package p\n"})
    code, out, err = cli(root, "--check", "--diff", ".")
    assert code == 1
    assert out.startswith("--- a/a.go\n+++ b/a.go\n")
    assert '+\t_, span := otel.Tracer("example.com/m").Start(ctx, "F")' in out
    assert "a.go:5:1: F: no span\n" in err
    assert (root / "a.go").read_bytes() == PLAIN
    cli(root, ".")
    assert cli(root, "--check", "--diff", ".")[:2] == (0, "")


def test_diff_is_printed_as_each_result_arrives_in_order(tmp_path, monkeypatch, capsys):
    """A diff is on stdout before the next file is processed: `--diff | head` starts at once."""
    from goinstrument.driver import run

    root = module(tmp_path, {f"f{i}.go": PLAIN.replace(b"F(", f"F{i}(".encode()) for i in range(3)})
    seen: list[tuple[str, str]] = []
    real = run._file_work

    def work(path, **kw):
        seen.append((str(path), capsys.readouterr().out))
        return real(path, **kw)

    monkeypatch.setattr(run, "_file_work", work)
    monkeypatch.chdir(root)
    assert main(["--diff", "--jobs", "1", "."]) == 0
    last = capsys.readouterr().out
    assert [name for name, _ in seen] == ["f0.go", "f1.go", "f2.go"]
    assert seen[0][1] == ""
    assert seen[1][1].startswith("--- a/f0.go") and "f1.go" not in seen[1][1]
    assert seen[2][1].startswith("--- a/f1.go")
    assert last.startswith("--- a/f2.go")


def test_results_arriving_out_of_order_are_shown_in_the_items_order():
    from goinstrument.driver.run import _InOrder
    from goinstrument.engine.result import Outcome

    shown: list[str] = []
    in_order = _InOrder([Path("a.go"), Path("b.go"), Path("c.go")], lambda done: shown.append(done.path))
    in_order(Outcome("b.go"))
    assert shown == []
    in_order(Outcome("c.go"))
    assert shown == []
    in_order(Outcome("a.go"))
    assert shown == ["a.go", "b.go", "c.go"]


def test_a_walk_leaves_out_what_gitignore_ignores_but_never_a_path_named(tmp_path, cli):
    from gitrepo import GitRepo

    repo = GitRepo.go_module(tmp_path / "repo", {"a.go": PLAIN.decode()})
    root = repo.root
    for name in ("gen/g.go", "sub/x.pb.go", "sub/y.go", "deep/build/z.go", "local.go"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(PLAIN)
    (root / ".gitignore").write_text("gen/\n*.pb.go\nbuild/\n")
    (root / ".git/info/exclude").write_text("local.go\n")
    code, out, _ = cli(root, "-l", ".")
    assert (code, out) == (1, "a.go\nsub/y.go\n")
    assert cli(root / "sub", "-l", ".")[1] == "y.go\n"
    assert cli(root, "-l", "gen", "sub/x.pb.go", "local.go")[1] == "gen/g.go\nsub/x.pb.go\nlocal.go\n"  # named: never left out
    assert cli(root, "-l", "./...")[1] == "a.go\nsub/y.go\n"


def test_outside_a_repository_nothing_is_ignored(tmp_path, cli):
    root = module(tmp_path, {"a.go": PLAIN, "gen/g.go": PLAIN})
    (root / ".gitignore").write_text("gen/\n")
    assert cli(root, "-l", ".")[1] == "a.go\ngen/g.go\n"


# --- the otel requirement (item 3) ----------------------------------------------------------------


def test_a_module_listing_the_requirement_as_indirect_is_told_to_tidy(tmp_path, cli):
    """`go get` leaves an `// indirect` requirement so; `go mod tidy` makes it direct (cold trial)."""
    root = module(tmp_path / "svc", {"a.go": PLAIN})
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n\nrequire go.opentelemetry.io/otel v1.30.0 // indirect\n")
    err = cli(root, ".")[2]
    assert "goinstrument: example.com/m: go.mod requires go.opentelemetry.io/otel only as indirect; run: go mod tidy\n" in err, err


HANDLER = b'package m\n\nimport "net/http"\n\nfunc Serve(w http.ResponseWriter, r *http.Request) {\n\tw.WriteHeader(204)\n}\n'
TIDY = "module example.com/m\n\ngo 1.22\n\nrequire go.opentelemetry.io/otel v1.30.0\n\nrequire go.opentelemetry.io/otel/trace v1.30.0 // indirect\n"


def test_a_server_span_tells_a_module_listing_trace_as_indirect_to_tidy(tmp_path, cli):
    """A server span imports go.opentelemetry.io/otel/trace, a module of its own, which a tidy go.mod
    lists `// indirect` until then (cold trial: `go mod tidy` changed go.mod after the hook's commit)."""
    root = module(tmp_path / "svc", {"a.go": PLAIN})
    (root / "go.mod").write_text(TIDY)
    assert "go.mod" not in cli(root, ".")[2]  # otel alone: nothing to tidy
    (root / "h.go").write_bytes(HANDLER)
    err = cli(root, "--http-handlers", "h.go")[2]
    assert "goinstrument: example.com/m: go.mod requires go.opentelemetry.io/otel/trace only as indirect; run: go mod tidy\n" in err, err


def test_a_module_without_the_requirement_is_told_the_command(tmp_path, cli):
    root = module(tmp_path / "svc", {"a.go": PLAIN, "api/b.go": PLAIN})
    code, _, err = cli(tmp_path, "svc")
    assert code == 0
    assert err.count("go.mod does not require") == 1
    hint = "go.mod does not require go.opentelemetry.io/otel; run: go -C svc get go.opentelemetry.io/otel && go -C svc mod tidy"
    assert f"goinstrument: example.com/m: {hint}\n" in err
    assert (root / "go.mod").read_text() == "module example.com/m\n\ngo 1.22\n"  # never edited
    (root / "c.go").write_bytes(PLAIN.replace(b"F(", b"C("))
    assert "run: go get go.opentelemetry.io/otel && go mod tidy\n" in cli(root, "c.go")[2]
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel v1.30.0\n)\n")
    (root / "d.go").write_bytes(PLAIN.replace(b"F(", b"D("))
    assert "does not require" not in cli(root, "d.go")[2]


def test_datadog_names_its_own_package(tmp_path, cli):
    module(tmp_path, {"a.go": PLAIN})
    err = cli(tmp_path, "--backend", "datadog", "a.go")[2]
    path = "github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
    assert f"example.com/m: go.mod does not require {path}; run: go get {path} && go mod tidy\n" in err


def test_nothing_added_nothing_said(tmp_path, cli):
    module(tmp_path, {"a.go": PLAIN})
    assert "does not require" not in cli(tmp_path, "--diff", "a.go")[2]
    assert "does not require" not in cli(tmp_path, "--check", "a.go")[2]
    cli(tmp_path, "a.go")
    assert "does not require" not in cli(tmp_path, "a.go")[2]


@pytest.mark.slow
def test_the_printed_command_makes_the_real_build_pass(tmp_path, cli):
    """The README's order: instrument, then `go get` (a `go mod tidy` before the imports exist drops it)."""
    import re
    import subprocess

    root = module(
        tmp_path,
        {
            "main.go": b'package main\n\nimport "context"\n\nfunc run(ctx context.Context) error {\n\treturn nil\n}\n\n'
            b"func main() { _ = run(context.Background()) }\n"
        },
    )
    subprocess.run(["go", "mod", "tidy"], cwd=root, check=True, capture_output=True)
    err = cli(root, ".")[2]
    command = err.split("run: ", 1)[1].splitlines()[0]
    assert command == "go get go.opentelemetry.io/otel && go mod tidy"
    build = subprocess.run(["go", "build", "./..."], cwd=root, capture_output=True, text=True)
    assert build.returncode != 0 and "go.opentelemetry.io/otel" in build.stderr
    subprocess.run(["sh", "-c", command], cwd=root, check=True, capture_output=True)  # as pasted in a shell
    build = subprocess.run(["go", "build", "./..."], cwd=root, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert re.search(r"^(require )?\s*go\.opentelemetry\.io/otel v\S+$", (root / "go.mod").read_text(), re.M)  # direct, not `// indirect`
    (root / "main.go").write_text((root / "main.go").read_text() + "\nfunc more(ctx context.Context) error { return nil }\n")
    err = cli(root, "--no-cache", ".")[2]
    assert "does not require" not in err and "only as indirect" not in err  # no second hint


@pytest.mark.slow
def test_after_the_first_server_span_the_printed_tidy_leaves_go_mod_tidy(tmp_path, cli):
    """The cold trial's case, with the real go command: a module that followed the first hint
    (otel direct, trace `// indirect`) gets its first server span; `go mod tidy -diff` then fails,
    and the hint's command makes it pass; the next run says nothing."""
    import subprocess

    main = b'package main\n\nimport "context"\n\nfunc run(ctx context.Context) error {\n\treturn nil\n}\n\n'
    main += b"func main() { _ = run(context.Background()) }\n"
    root = module(tmp_path, {"main.go": main})
    command = cli(root, ".")[2].split("run: ", 1)[1].splitlines()[0]
    subprocess.run(["sh", "-c", command], cwd=root, check=True, capture_output=True)

    def tidy_diff() -> int:
        return subprocess.run(["go", "mod", "tidy", "-diff"], cwd=root, capture_output=True).returncode

    assert tidy_diff() == 0 and "go.opentelemetry.io/otel/trace v" in (root / "go.mod").read_text()
    (root / "h.go").write_bytes(HANDLER.replace(b"package m", b"package main"))
    err = cli(root, "--http-handlers", "h.go")[2]
    assert "example.com/m: go.mod requires go.opentelemetry.io/otel/trace only as indirect; run: go mod tidy\n" in err, err
    build = subprocess.run(["go", "build", "./..."], cwd=root, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr  # it builds: only tidy tells
    assert tidy_diff() != 0
    subprocess.run(["sh", "-c", err.split("run: ", 1)[1].splitlines()[0]], cwd=root, check=True, capture_output=True)
    assert tidy_diff() == 0
    (root / "h2.go").write_bytes(HANDLER.replace(b"package m", b"package main").replace(b"Serve(", b"Serve2("))
    assert "go.mod" not in cli(root, "--http-handlers", "h2.go")[2]
    # trace not listed at all: the build fails, and tidy lists it at otel's version (a `go get` of it
    # would upgrade otel and the go line: a cold review)
    listed = (root / "go.mod").read_text()
    (root / "go.mod").write_text("".join(line for line in listed.splitlines(keepends=True) if "otel/trace " not in line))
    assert subprocess.run(["go", "build", "./..."], cwd=root, capture_output=True).returncode != 0
    (root / "h3.go").write_bytes(HANDLER.replace(b"package m", b"package main").replace(b"Serve(", b"Serve3("))
    err = cli(root, "--http-handlers", "h3.go")[2]
    assert "example.com/m: go.mod does not require go.opentelemetry.io/otel/trace; run: go mod tidy\n" in err, err
    subprocess.run(["go", "mod", "tidy"], cwd=root, check=True, capture_output=True)
    assert (root / "go.mod").read_text() == listed  # the same versions, the same go line
    assert subprocess.run(["go", "build", "./..."], cwd=root, capture_output=True).returncode == 0


def test_a_renamed_span_is_counted_as_updated(tmp_path, cli):
    root = module(tmp_path, {"a.go": PLAIN})
    cli(root, "a.go")
    renamed = (root / "a.go").read_text().replace("func F(", "func Renamed(")
    (root / "a.go").write_text(renamed)
    err = cli(root, "--diff", "a.go")[2]
    assert "goinstrument: 1 of 1 file would change, 0 spans to add, 1 span to update" in err
    err = cli(root, "a.go")[2]
    assert "goinstrument: 1 of 1 file changed, 0 spans added, 1 span updated\n" in err
    assert '"Renamed")' in (root / "a.go").read_text()
    (root / "a.go").write_text(renamed)
    out = cli(root, "--format", "json", "a.go")[1]
    document = json.loads(out)
    assert (document["spans_added"], document["spans_updated"], document["files_changed"]) == (0, 1, 1)


# --- syntax errors as gofmt says them (item 4e) -----------------------------------------------------------

HEAD = "package p\n\nfunc F() {\n"
SAME_AS_GOFMT = {  # gofmt -e's first line, word for word and at the same line:col
    "for": HEAD + "\tfor i := 0; i < 3 {\n\t}\n}\n",
    "params": "package p\n\nfunc F( {\n}\n",
    "body-in-params": HEAD + "}\n\nfunc Broken( {\n",
    "paren": HEAD + "\tx := (1 + 2\n}\n",
    "string": 'package p\n\nimport "fmt\n',
}
SAME_PLACE = {  # the same line:col as gofmt's first line; our words (gofmt's in the comment)
    "eof": (HEAD + "\treturn\n", "4:9: syntax error: expected '}', found 'EOF'"),  # expected ';', found 'EOF' (the semicolon it inserts)
    "if": (HEAD + "\tif x {\n}\n", "5:3: syntax error: expected '}', found 'EOF'"),  # expected ';', found 'EOF'
    # The file ends inside two blocks (gofmt says expected '}' here when the last line is a statement).
    "unclosed-if": (HEAD + "\tif true {\n", "4:12: syntax error: expected '}', found 'EOF'"),  # expected ';', found 'EOF'
    "plus": (HEAD + "\tx := 1 +\n}\n", "5:1: syntax error: unexpected '}'"),  # expected operand, found '}'
    "dot": (HEAD + "\tx.\n}\n", "5:1: syntax error: unexpected '}'"),  # expected selector or type assertion, found '}'
    "two": ("package p\n\nfunc F() { x := 1 y := 2 }\n", "3:19: syntax error: unexpected y"),  # expected ';', found y
    "at": (HEAD + "\t@\n}\n", "4:2: syntax error: unexpected '@'"),  # expected statement, found 'ILLEGAL'
}
ELSEWHERE = {  # tree-sitter's recovery puts the error at another token than gofmt (gofmt's first line in the comment)
    "bracket": ("package p\n\nvar x = [}\n", "3:1: syntax error: unexpected 'var'"),  # 3:10: expected operand, found '}'
    "go": (HEAD + "\tgo\n}\n", "4:2: syntax error: unexpected 'go'"),  # 5:1: expected operand, found '}'
    "struct": ("package p\n\ntype T struct {\n\tA int\n", "3:1: syntax error: unexpected 'type'"),  # 4:8: expected ';', found 'EOF'
}


def _gofmt_first_line(path: Path) -> str:
    import subprocess

    proc = subprocess.run(["gofmt", "-e", path.name], cwd=path.parent, capture_output=True, text=True)
    assert proc.returncode == 2
    return proc.stderr.splitlines()[0]


def _ours(tmp_path: Path, cli, name: str, source: str) -> str:
    path = tmp_path / f"{name}.go"
    path.write_text(source.replace("package p\n", 'package p; import "context"\n', 1))  # a file that imports context is parsed; same lines
    code, _, err = cli(tmp_path, "--check", "--no-cache", path.name)
    assert code == 2
    first: str = err.splitlines()[0]
    return first


@pytest.mark.parametrize("name", sorted(SAME_AS_GOFMT))
def test_a_syntax_error_is_said_as_gofmt_says_it(tmp_path, cli, name):
    module(tmp_path, {})
    ours = _ours(tmp_path, cli, name, SAME_AS_GOFMT[name])
    assert ours == _gofmt_first_line(tmp_path / f"{name}.go").replace(": ", ": syntax error: ", 1) + "; left untouched"


@pytest.mark.parametrize("name", sorted({**SAME_PLACE, **ELSEWHERE}))
def test_a_syntax_error_s_position_and_what_is_wrong(tmp_path, cli, name):
    module(tmp_path, {})
    source, expected = {**SAME_PLACE, **ELSEWHERE}[name]
    ours = _ours(tmp_path, cli, name, source)
    assert ours == f"{name}.go:{expected}; left untouched"
    if name in SAME_PLACE:
        gofmt = _gofmt_first_line(tmp_path / f"{name}.go")
        assert gofmt.split(": ", 1)[0] == f"{name}.go:{expected.split(': ', 1)[0]}"


def test_a_file_without_a_context_is_not_parsed_even_by_check(tmp_path, cli):
    """A file that never mentions context is read no further than that, --check included: its
    syntax error is go build's and gofmt's to report (parsing every file would double --check's
    time on a whole tree: docs/design.md)."""
    module(
        tmp_path, {"ok.go": b'package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n}\n', "bad.go": (HEAD + "\tx := (1 + 2\n}\n").encode()}
    )
    code, _, err = cli(tmp_path, "--check", "--no-cache", "bad.go")
    assert code == 0 and "syntax error" not in err, err
