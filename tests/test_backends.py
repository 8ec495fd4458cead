"""Backends other than OpenTelemetry: Datadog, and a user's own named as module:attribute."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli, run_process
from gitrepo import CHECKOUT, GO_FUNC, GitRepo, git_env

DD_TRACE_GO = "github.com/DataDog/dd-trace-go/v2@v2.12.0"

MY_BACKEND = '''
class LogBackend:
    """Logs entering and leaving instead of tracing: a backend of the user's own."""

    start_imports = ("log",)
    error_imports = ()
    preferred_names = {"log": ("log", "stdlog")}

    def lines(self, names, tracer, span_name):
        log = names.packages["log"]
        return [f'{log}.Println("enter", "{span_name}")', f'defer {log}.Println("leave", "{span_name}")']

    def match_start(self, stmt, ctx, package_names):
        return None
'''


def _users_backend(tmp_path: Path, module: str, text: str) -> dict[str, str]:
    """The module in a directory of its own, put on PYTHONPATH: the current directory is never searched."""
    (tmp_path / "pylib").mkdir(exist_ok=True)
    (tmp_path / "pylib" / f"{module}.py").write_text(text)
    return {"PYTHONPATH": str(tmp_path / "pylib")}


def _go(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    return subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_datadog_output_builds_against_the_real_module(tmp_path):
    root = tmp_path / "example"
    shutil.copytree(REPO / "fixtures" / "example", root)
    run_cli("--backend", "datadog", ".", cwd=root, check=0)
    source = (root / "cat" / "cat.go").read_text()
    assert 'span, _ := tracer.StartSpanFromContext(ctx, "Cat.Name")' in source
    assert "defer func() { span.Finish(tracer.WithError(err)) }()" in source
    for args in (("get", DD_TRACE_GO), ("build", "./..."), ("vet", "./...")):
        proc = _go(*args, cwd=root)
        assert proc.returncode == 0, f"go {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    assert "goinstrument: 0 of 1 file changed, 0 spans added\n" in run_cli("--backend", "datadog", "--no-cache", ".", cwd=root, check=0).stderr


def test_a_users_own_backend_by_module_and_attribute(tmp_path):
    env = _users_backend(tmp_path, "mybackend", MY_BACKEND)
    src = tmp_path / "a.go"
    src.write_text('package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n}\n')
    run_cli("--backend", "mybackend:LogBackend", "a.go", cwd=tmp_path, check=0, env=env)
    assert src.read_text() == (
        'package p\n\nimport (\n\t"context"\n\t"log"\n)\n\n'
        'func F(ctx context.Context) {\n\tlog.Println("enter", "F")\n\tdefer log.Println("leave", "F")\n}\n'
    )


@pytest.mark.parametrize("name", ["nope", "no_such_module:X", "os:no_such_attribute", "json:JSONDecoder"])
def test_a_backend_that_cannot_be_loaded_is_a_usage_error(tmp_path, name):
    src = tmp_path / "a.go"
    src.write_text('package p\n\nimport "context"\n\nfunc F(ctx context.Context) {}\n')
    proc = run_cli("--backend", name, "a.go", cwd=tmp_path, check=2)
    assert "backend" in proc.stderr
    assert src.read_text() == 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) {}\n'


LITERAL_BACKEND = '''
class LeaveBackend:
    """Its rendering holds a function literal with a parameter: `func(name string)`, not `func()`."""

    start_imports = ("log",)
    error_imports = ()
    preferred_names = {"log": ("log", "stdlog")}

    def lines(self, names, tracer, span_name):
        log = names.packages["log"]
        return [f'defer func(name string) {{ {log}.Println("leave", name) }}("{span_name}")']
'''

LITERAL_PROGRAM = """package main

import (
	"context"
	"fmt"
	"runtime"
)

func Outer(ctx context.Context) {
	func(ctx context.Context) {
		pc, _, _, _ := runtime.Caller(0)
		fmt.Println("runtime:", runtime.FuncForPC(pc).Name())
	}(ctx)
}

func main() { Outer(context.Background()) }
"""


def test_literals_in_a_users_rendering_are_counted_from_its_syntax(tmp_path):
    """The backend's literal comes first in the body, so the body's own literal is Outer.func2."""
    env = _users_backend(tmp_path, "leavebackend", LITERAL_BACKEND)
    (tmp_path / "main.go").write_text(LITERAL_PROGRAM)
    run_cli("--backend", "leavebackend:LeaveBackend", "--tracer", "t", "main.go", cwd=tmp_path, check=0, env=env)
    source = (tmp_path / "main.go").read_text()
    assert '}("Outer.func2")' in source and '}("Outer")' in source


@pytest.mark.slow
def test_literal_span_names_from_a_users_rendering_are_the_runtime_names(tmp_path):
    """Built and run: the name the Go runtime gives the body's literal is the span name the tool wrote for it."""
    env = _users_backend(tmp_path, "leavebackend", LITERAL_BACKEND)
    (tmp_path / "main.go").write_text(LITERAL_PROGRAM)
    (tmp_path / "go.mod").write_text("module example.com/literals\n\ngo 1.21\n")
    run_cli("--backend", "leavebackend:LeaveBackend", "main.go", cwd=tmp_path, check=0, env=env)
    source = (tmp_path / "main.go").read_text()
    written = [line.split('}("')[1].split('")')[0] for line in source.splitlines() if 'log.Println("leave", name)' in line]
    proc = _go("run", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runtime_name = next(line.split("runtime: ")[1] for line in proc.stdout.splitlines() if line.startswith("runtime: "))
    assert written == ["Outer", "Outer.func2"]
    assert runtime_name.rsplit("/", 1)[-1] == "main." + written[1]


@pytest.mark.parametrize("attributes", ["args", "results", "code", "args,code"])
def test_attributes_a_backend_cannot_write_are_a_usage_error(tmp_path, attributes):
    src = tmp_path / "a.go"
    original = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context, n int) {}\n'
    src.write_text(original)
    proc = run_cli("--backend", "datadog", "--attributes", attributes, "a.go", cwd=tmp_path, check=2)
    assert 'goinstrument: error: backend "datadog" does not support --attributes' in proc.stderr
    assert src.read_text() == original


def test_a_users_backend_without_attributes_is_a_usage_error_with_them(tmp_path):
    env = _users_backend(tmp_path, "mybackend", MY_BACKEND)
    (tmp_path / "a.go").write_text('package p\n\nimport "context"\n\nfunc F(ctx context.Context) {}\n')
    proc = run_cli("--backend", "mybackend:LogBackend", "--attributes", "args", "a.go", cwd=tmp_path, check=2, env=env)
    assert 'backend "mybackend:LogBackend" does not support --attributes' in proc.stderr


def test_a_users_backend_is_recognised_from_its_rendering(tmp_path):
    """No match_start needed: a second run changes nothing, a renamed function's span follows, --remove takes it out."""
    env = _users_backend(tmp_path, "mybackend", MY_BACKEND)
    src = tmp_path / "a.go"
    original = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n}\n'
    src.write_text(original)
    run = ("--backend", "mybackend:LogBackend", "--no-cache", "a.go")
    run_cli(*run, cwd=tmp_path, check=0, env=env)
    once = src.read_text()
    run_cli(*run, cwd=tmp_path, check=0, env=env)
    assert src.read_text() == once
    src.write_text(once.replace("func F(", "func G("))
    run_cli(*run, cwd=tmp_path, check=0, env=env)
    assert src.read_text() == once.replace("func F(", "func G(").replace('"F"', '"G"')
    run_cli("--remove", *run, cwd=tmp_path, check=0, env=env)
    assert src.read_text() == original.replace("func F(", "func G(")


# --- a repository's configuration never runs code on its own say-so ---------------------------------

EVIL = 'open("MARKER", "w").write("ran")\n\n\nclass B:\n    pass\n'


def _evil_repo(root: Path) -> GitRepo:
    """A cloned repository whose .goinstrument.toml names Python code the repository carries."""
    repo = GitRepo.go_module(root, {"shop.go": GO_FUNC, "evil.py": EVIL, ".goinstrument.toml": 'tracer = "t"\nbackend = "evil:B"\n'})
    return repo


REFUSED = '.goinstrument.toml:2:1: backend "evil:B" is Python code, not run on a configuration file\'s say-so:'


@pytest.mark.parametrize(
    "args, pythonpath",
    [
        ((".",), ""),  # python -m goinstrument from the repository: the current directory leads sys.path
        (("--check", "."), ""),
        (("--diff", "."), ""),
        (("--check", "."), os.pathsep),  # an empty PYTHONPATH entry stands for the current directory
        (("-", "--stdin-filename", "shop.go"), os.pathsep),
    ],
)
def test_a_backend_named_by_the_repositorys_file_is_refused(tmp_path, args, pythonpath):
    repo = _evil_repo(tmp_path / "clone")
    proc = run_process(*args, cwd=repo.root, check=2, env={"PYTHONPATH": pythonpath})
    assert not repo.path("MARKER").exists()
    assert proc.stderr.splitlines()[0].startswith(REFUSED)
    assert "pass --backend evil:B, or set GOINSTRUMENT_TRUST_BACKEND=evil:B to trust it" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert repo.read("shop.go") == GO_FUNC


def test_the_hook_refuses_it_too_and_stops_the_commit(tmp_path):
    repo = _evil_repo(tmp_path / "clone")
    assert repo.goinstrument("--install-hook").returncode == 0
    repo.write("shop.go", GO_FUNC + "\nfunc G(ctx context.Context) {}\n")
    repo.add("shop.go")
    env = git_env(PYTHONPATH=os.pathsep.join([str(CHECKOUT), ""]))
    proc = repo.commit("more", env=env)
    assert proc.returncode != 0
    assert REFUSED in proc.stderr
    assert not repo.path("MARKER").exists()
    proc = repo.goinstrument_process("--staged", env=env)  # the hook's own command, run by hand
    assert proc.returncode == 2 and REFUSED in proc.stderr
    assert not repo.path("MARKER").exists()


def test_any_installed_module_is_refused_as_well(tmp_path):
    (tmp_path / ".goinstrument.toml").write_text('backend = "this:x"\n')
    (tmp_path / "a.go").write_text(GO_FUNC)
    proc = run_cli("--check", "a.go", cwd=tmp_path, check=2)
    assert proc.stdout == ""  # `import this` prints the Zen of Python: it never ran
    assert proc.stderr.startswith('.goinstrument.toml:1:1: backend "this:x" is Python code')


def test_a_backend_on_the_command_line_is_the_users_own_say(tmp_path):
    env = _users_backend(tmp_path, "mybackend", MY_BACKEND)
    (tmp_path / ".goinstrument.toml").write_text('backend = "mybackend:LogBackend"\n')
    src = tmp_path / "a.go"
    src.write_text(GO_FUNC)
    run_cli("--check", "a.go", cwd=tmp_path, check=2, env=env)
    run_cli("--backend", "mybackend:LogBackend", "--check", "a.go", cwd=tmp_path, check=1, env=env)
    run_cli("--backend", "otel", "a.go", cwd=tmp_path, check=0, env=env)  # the flag wins: the file's is not loaded
    assert 'otel.Tracer("' in src.read_text()


def test_the_trust_variable_names_the_backends_the_user_allows(tmp_path):
    env = _users_backend(tmp_path, "mybackend", MY_BACKEND)
    (tmp_path / ".goinstrument.toml").write_text('backend = "mybackend:LogBackend"\n')
    src = tmp_path / "a.go"
    src.write_text(GO_FUNC)
    other = {**env, "GOINSTRUMENT_TRUST_BACKEND": "mybackend:Other, evil:B"}
    assert "mybackend:LogBackend" in run_cli("a.go", cwd=tmp_path, check=2, env=other).stderr
    assert src.read_text() == GO_FUNC
    trusted = {**env, "GOINSTRUMENT_TRUST_BACKEND": "evil:B, mybackend:LogBackend"}
    run_cli("a.go", cwd=tmp_path, check=0, env=trusted)
    assert 'log.Println("enter", "F")' in src.read_text()


@pytest.mark.parametrize("pythonpath", ["", os.pathsep, "."])
def test_even_a_trusted_backend_is_never_imported_from_the_current_directory(tmp_path, pythonpath):
    repo = _evil_repo(tmp_path / "clone")
    env = {"PYTHONPATH": pythonpath, "GOINSTRUMENT_TRUST_BACKEND": "evil:B"}
    proc = run_process("--check", ".", cwd=repo.root, check=2, env=env)
    assert not repo.path("MARKER").exists()
    assert "cannot load backend 'evil:B': No module named 'evil' (the current directory is never searched" in proc.stderr
    proc = run_process("--backend", "evil:B", "--check", ".", cwd=repo.root, check=2, env={"PYTHONPATH": pythonpath})
    assert not repo.path("MARKER").exists()


# Modules goinstrument imports as it runs (tomllib for the file, wcmatch for its globs, difflib for
# --diff, argparse first of all): a repository's own copies must not stand in for them either.
SHADOWS = ("tomllib", "wcmatch", "difflib", "argparse", "subprocess")


@pytest.mark.parametrize("how", ["python -m", "the script, with an empty PYTHONPATH entry"])
def test_the_repositorys_own_modules_never_stand_in_for_the_real_ones(tmp_path, how):
    repo = GitRepo.go_module(tmp_path / "clone", {"shop.go": GO_FUNC, ".goinstrument.toml": 'exclude = ["gen/**"]\n'})
    for name in SHADOWS:
        repo.write(f"{name}.py", f'open("MARKER-{name}", "w").write("ran")\nraise SystemExit(99)\n')
    if how == "python -m":
        argv = [sys.executable, "-m", "goinstrument"]
        env = git_env()
    else:  # what the installed `goinstrument` script does, with the current directory on sys.path
        argv = [sys.executable, "-c", "import sys; from goinstrument import main; sys.exit(main())"]
        env = git_env(PYTHONPATH=os.pathsep.join(["", str(CHECKOUT), ""]))
    proc = repo.run(*argv, "--diff", ".", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Start(ctx, "F")' in proc.stdout
    assert sorted(p.name for p in repo.root.glob("MARKER*")) == []


def test_the_built_in_backends_named_by_the_file_need_no_trust(tmp_path):
    (tmp_path / ".goinstrument.toml").write_text('backend = "datadog"\n')
    src = tmp_path / "a.go"
    src.write_text(GO_FUNC)
    run_cli("a.go", cwd=tmp_path, check=0, env={"GOINSTRUMENT_TRUST_BACKEND": ""})
    assert "tracer.StartSpanFromContext(ctx, " in src.read_text()


def test_backends_import_nothing_above_them():
    """backends/ is below the engine: importing it (in a fresh interpreter) loads no engine, driver,
    report or command-line module (the package's own goinstrument.tuples, below them all, it may)."""
    code = (
        "import sys\nimport goinstrument.backends.loader\n"
        "below = ('goinstrument.backends', 'goinstrument.tuples')\n"
        "print('\\n'.join(m for m in sys.modules if m.startswith('goinstrument.') and not m.startswith(below)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


def test_a_users_backend_gets_the_protocols_defaults_for_what_it_lacks(tmp_path, monkeypatch):
    from goinstrument.backends.loader import load_backend
    from goinstrument.backends.protocol import Backend, Names

    _users_backend(tmp_path, "lackingbackend", MY_BACKEND)
    monkeypatch.syspath_prepend(str(tmp_path / "pylib"))
    backend = load_backend("lackingbackend:LogBackend")
    assert (backend.attribute_imports, backend.start_attribute_imports, backend.declares_context) == ((), (), False)
    assert backend.start_imports == ("log",) and backend.preferred_names == {"log": ("log", "stdlog")}
    names = Names("_", "ctx", "span", None, {"log": "log"})
    assert backend.lines(names, "t", "F") == ['log.Println("enter", "F")', 'defer log.Println("leave", "F")']
    assert load_backend("otel").attribute_imports == ("go.opentelemetry.io/otel/attribute",)
    assert load_backend("datadog").attribute_imports == Backend.attribute_imports == ()


DD_HANDLER = """package web

import (
	"fmt"
	"net/http"
)

func Hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, "hello")
}
"""

DD_HANDLER_TEST = """package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/DataDog/dd-trace-go/v2/ddtrace/mocktracer"
)

func TestHandlerSpanIsAWebSpan(t *testing.T) {
	mt := mocktracer.Start()
	defer mt.Stop()
	http.HandlerFunc(Hello).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/hello?name=x", nil))
	spans := mt.FinishedSpans()
	if len(spans) != 1 {
		t.Fatalf("want one span, got %v", spans)
	}
	s := spans[0]
	for key, want := range map[string]string{"span.type": "web", "span.kind": "server", "http.method": "POST", "http.url": "/hello"} {
		if got := s.Tag(key); got != want {
			t.Errorf("tag %s = %v, want %q", key, got, want)
		}
	}
	if s.OperationName() != "Hello" || s.Tag("resource.name") != "Hello" || s.Tag("http.route") != nil {
		t.Errorf("operation name %q, resource %v, http.route %v: want Hello, Hello and none (no pattern)",
			s.OperationName(), s.Tag("resource.name"), s.Tag("http.route"))
	}
}

func TestRouteFromTheServeMuxPattern(t *testing.T) {
	mt := mocktracer.Start()
	defer mt.Stop()
	mux := http.NewServeMux()
	mux.HandleFunc("GET example.com/items/{id}", Hello)
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/7", nil))
	spans := mt.FinishedSpans()
	if len(spans) != 1 {
		t.Fatalf("want one span, got %v", spans)
	}
	s := spans[0]
	for key, want := range map[string]string{"resource.name": "GET /items/{id}", "http.route": "/items/{id}", "span.type": "web"} {
		if got := s.Tag(key); got != want {
			t.Errorf("tag %s = %v, want %q", key, got, want)
		}
	}
}
"""


@pytest.mark.slow
def test_datadog_handler_span_is_a_web_span_at_run_time(tmp_path):
    """--backend datadog --http-handlers, run through dd-trace-go's mocktracer: span type web, span.kind
    server, http.method and http.url (the path) as its net/http integration tags them; served by a
    ServeMux pattern (go 1.23 here), resource "{method} {route}" and http.route, the host left out."""
    (tmp_path / "go.mod").write_text("module example.com/web\n\ngo 1.23\n")
    (tmp_path / "web.go").write_text(DD_HANDLER)
    run_cli("--backend", "datadog", "--http-handlers", "web.go", cwd=tmp_path, check=0)
    (tmp_path / "web_test.go").write_text(DD_HANDLER_TEST)
    for args in (("get", DD_TRACE_GO), ("mod", "tidy"), ("vet", "./..."), ("test", "./...")):
        proc = _go(*args, cwd=tmp_path)
        assert proc.returncode == 0, f"go {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
