"""--http-handlers from the command line: what the golden pairs cannot show.

The rewrite itself is shown by the golden pairs (fixtures/golden/http_handler_*,
fixtures/remove/http_handlers); the run-time parentage by the fixtures module
(fixtures/gomod/httpserver, tests/test_go_toolchain.py). Here: files that import
net/http and not context, the setting in .goinstrument.toml, --check and its
coverage, --remove without the flag, the stability check, and backends that
cannot write a handler's code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from goinstrument.backends.loader import load_backend
from goinstrument.driver.process import process
from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Source

HANDLER = """package web

import "net/http"

func Hello(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
"""

INSTRUMENTED = """package web

import (
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func Hello(w http.ResponseWriter, r *http.Request) {
	ctx, span := otel.Tracer("web").Start(r.Context(), "Hello", SERVER_OPTIONS)
	defer span.End()
	r = r.WithContext(ctx)
	http.NotFound(w, r)
}
""".replace(
    "SERVER_OPTIONS",
    "trace.WithSpanKind(trace.SpanKindServer), "
    'trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path))',
)


def _file(tmp_path: Path, text: str = HANDLER) -> Path:
    path = tmp_path / "web.go"
    path.write_text(text)
    return path


def test_without_the_flag_a_handler_is_left_alone_and_no_finding(tmp_path):
    path = _file(tmp_path)
    run_cli("web.go", cwd=tmp_path, check=0)
    assert path.read_text() == HANDLER
    proc = run_cli("--check", "web.go", cwd=tmp_path, check=0)
    assert proc.stdout == ""
    assert "goinstrument: coverage: 0 of 0 functions" in proc.stderr


def test_a_file_without_an_import_of_context_gets_its_handler_span(tmp_path):
    path = _file(tmp_path)
    run_cli("--http-handlers", "web.go", cwd=tmp_path, check=0)
    assert path.read_text() == INSTRUMENTED
    proc = run_cli("--http-handlers", "--no-cache", "web.go", cwd=tmp_path, check=0)
    assert "goinstrument: 0 of 1 file changed, 0 spans added\n" in proc.stderr
    assert path.read_text() == INSTRUMENTED


def test_check_reports_a_handler_without_a_span_only_with_the_flag(tmp_path):
    _file(tmp_path)
    proc = run_cli("--check", "--http-handlers", "web.go", cwd=tmp_path, check=1)
    assert proc.stdout == "web.go:5:1: Hello: no span\n"
    assert "goinstrument: coverage: 0 of 1 functions" in proc.stderr
    _file(tmp_path, INSTRUMENTED)
    proc = run_cli("--check", "--http-handlers", "web.go", cwd=tmp_path, check=0)
    assert proc.stdout == ""
    assert "goinstrument: coverage: 1 of 1 functions" in proc.stderr


def test_the_setting_in_goinstrument_toml(tmp_path):
    (tmp_path / ".goinstrument.toml").write_text("http-handlers = true\n")
    path = _file(tmp_path)
    run_cli("web.go", cwd=tmp_path, check=0)
    assert path.read_text() == INSTRUMENTED
    (tmp_path / ".goinstrument.toml").write_text('http-handlers = "yes"\n')
    proc = run_cli("web.go", cwd=tmp_path, check=2)
    assert '"http-handlers" must be true or false' in proc.stderr


ROUTE_BLOCK = """	if i := strings.IndexByte(r.Pattern, '/'); i >= 0 {
		span.SetName(r.Method + " " + r.Pattern[i:])
		span.SetAttributes(attribute.String("http.route", r.Pattern[i:]))
	}
"""


def test_the_go_line_decides_the_route_block(tmp_path):
    """Go 1.23's Request.Pattern: a module of older Go (or none) gets no route block; raising the go
    line makes the spans out of date for --check, even those the cache knew clean, and one run
    brings them (with the import of strings); --remove gives the handler back."""
    (tmp_path / "go.mod").write_text("module web\n\ngo 1.22\n")
    path = _file(tmp_path)
    run_cli("--http-handlers", "web.go", cwd=tmp_path, check=0)
    assert path.read_text() == INSTRUMENTED
    run_cli("--http-handlers", "--check", "web.go", cwd=tmp_path, check=0)  # the cache now knows it clean
    (tmp_path / "go.mod").write_text("module web\n\ngo 1.23.0\n")
    proc = run_cli("--http-handlers", "--check", "web.go", cwd=tmp_path, check=1)
    assert proc.stdout == "web.go:11:1: Hello: span is out of date (http.route)\n"
    run_cli("--http-handlers", "web.go", cwd=tmp_path, check=0)
    text = path.read_text()
    assert '\t"net/http"\n\t"strings"\n' in text
    assert "\tdefer span.End()\n" + ROUTE_BLOCK + "\tr = r.WithContext(ctx)\n" in text
    run_cli("--http-handlers", "--check", "--no-cache", "web.go", cwd=tmp_path, check=0)
    (tmp_path / "go.mod").write_text("module web\n\ngo 1.22\n")
    run_cli("--http-handlers", "web.go", cwd=tmp_path, check=0)
    assert path.read_text() == INSTRUMENTED
    (tmp_path / "go.mod").write_text("module web\n\ngo 1.23\n")
    run_cli("--http-handlers", "web.go", cwd=tmp_path, check=0)
    run_cli("--remove", "web.go", cwd=tmp_path, check=0)
    assert path.read_text() == HANDLER


def test_remove_needs_no_flag_and_no_import_of_context(tmp_path):
    path = _file(tmp_path, INSTRUMENTED)
    run_cli("--remove", "web.go", cwd=tmp_path, check=0)
    assert path.read_text() == HANDLER


def test_the_stability_check_passes_for_handlers():
    """process() runs the stability check (second run, remove round trip) before it hands back bytes."""
    options = RewriteOptions(tracer="web", http_handlers=True)
    outcome = process(Source("web.go", Path("web.go"), HANDLER.encode()), options)
    assert outcome.problem is None
    assert outcome.output.decode() == INSTRUMENTED


def test_literals_in_a_handler_are_numbered_after_its_error_block():
    """The error block is the body's first literal, in a handler as in any function: the body's own is func2."""
    src = b"""package web

import "net/http"

func Save(w http.ResponseWriter, r *http.Request) error {
	f := func(r *http.Request) error { return nil }
	return f(r)
}
"""
    result = instrument(src, RewriteOptions(http_handlers=True), FileInfo("web.go", "web", "web"))
    assert b'Start(r.Context(), "Save.func2")' in result.output


def test_attributes_leave_the_request_out():
    src = HANDLER.replace("r *http.Request)", "r *http.Request, id string)").encode()
    result = instrument(src, RewriteOptions(http_handlers=True, attributes=frozenset({"args"})), FileInfo("web.go", "web", "web"))
    assert b'trace.WithAttributes(attribute.String("arg.id", id))' in result.output
    assert b'"r"' not in result.output


def test_a_handler_that_reads_only_the_context_keeps_it_and_loses_the_request_line():
    """The request is no longer read after the span's code, the context variable still is: the line goes, the
    variable stays (a golden pair cannot hold it: --remove leaves a span whose context the body reads)."""
    src = INSTRUMENTED.replace("\thttp.NotFound(w, r)\n", "\t<-ctx.Done()\n").encode()
    result = instrument(src, RewriteOptions(http_handlers=True), FileInfo("web.go", "web", "web"))
    assert result.output == src.replace(b"\tr = r.WithContext(ctx)\n", b"")
    assert [f.message for f in result.findings] == ["span is out of date (r = r.WithContext(ctx) where r is not read after)"]


def test_datadog_writes_handlers():
    result = instrument(
        HANDLER.encode(), RewriteOptions(http_handlers=True, backend="datadog"), FileInfo("web.go", "web", "web", backend=load_backend("datadog"))
    )
    start = (
        b'span, ctx := tracer.StartSpanFromContext(r.Context(), "Hello", tracer.SpanType("web"), tracer.Tag("span.kind", "server"), '
        b'tracer.Tag("http.method", r.Method), tracer.Tag("http.url", r.URL.Path))'
    )
    assert start + b"\n\tdefer span.Finish()\n\tr = r.WithContext(ctx)\n" in result.output


NO_CONTEXT_BACKEND = '''
class LogBackend:
    """Logs entering and leaving: its code declares no context, so it cannot carry one to a request."""

    start_imports = ("log",)
    error_imports = ()
    preferred_names = {"log": ("log", "stdlog")}

    def lines(self, names, tracer, span_name):
        return [f'{names.packages["log"]}.Println("enter", "{span_name}")']
'''


@pytest.mark.parametrize("where", ["flag", "file"])
def test_a_backend_whose_code_declares_no_context_is_a_usage_error(tmp_path, where):
    (tmp_path / "pylib").mkdir()  # on PYTHONPATH: the current directory is never searched for a backend
    (tmp_path / "pylib" / "mybackend.py").write_text(NO_CONTEXT_BACKEND)
    path = _file(tmp_path)
    args = ["--http-handlers"] if where == "flag" else []
    if where == "file":
        (tmp_path / ".goinstrument.toml").write_text("http-handlers = true\n")
    proc = run_cli("--backend", "mybackend:LogBackend", *args, "web.go", cwd=tmp_path, check=2, env={"PYTHONPATH": str(tmp_path / "pylib")})
    assert 'backend "mybackend:LogBackend" does not support --http-handlers' in proc.stderr
    assert path.read_text() == HANDLER


DD_TRACE_GO = "github.com/DataDog/dd-trace-go/v2@v2.12.0"  # as tests/test_backends.py


@pytest.mark.slow
def test_datadog_handler_code_builds_against_the_real_module(tmp_path):
    """The OpenTelemetry handler code is built and run by the fixtures module; Datadog's is built here."""
    import os
    import subprocess

    (tmp_path / "go.mod").write_text("module example.com/web\n\ngo 1.22\n")
    path = tmp_path / "web.go"
    path.write_text(HANDLER.replace("func Hello(", "func Save(w http.ResponseWriter, r *http.Request) error {\n\treturn nil\n}\n\nfunc Hello("))
    run_cli("--backend", "datadog", "--http-handlers", ".", cwd=tmp_path, check=0)
    assert "r = r.WithContext(ctx)" in path.read_text()
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    for args in (("get", DD_TRACE_GO), ("build", "./..."), ("vet", "./...")):
        proc = subprocess.run(["go", *args], cwd=tmp_path, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, f"go {' '.join(args)}:\n{proc.stdout}{proc.stderr}\n{path.read_text()}"


@pytest.mark.slow
def test_the_standard_librarys_handlers(tmp_path):
    """net/http, net/rpc and expvar from the Go on the machine (hundreds of handlers, in tests
    too): every file passes the stability check, a second run changes nothing, and what was
    changed is gofmt-clean."""
    import shutil
    import subprocess

    from gotools import go_env, gofmt_bin, tree_digest

    src = Path(go_env("GOROOT")) / "src"
    for package in ("net/http", "net/rpc", "expvar"):
        shutil.copytree(src / package, tmp_path / package)
    before = tree_digest(tmp_path)
    proc = run_cli("--http-handlers", "--tests", ".", cwd=tmp_path)
    assert proc.returncode == 0 and "internal check failed" not in proc.stderr, proc.stderr
    after = tree_digest(tmp_path)
    changed = [rel for rel in after if after[rel] != before[rel]]
    assert len(changed) > 20, changed
    gofmt = subprocess.run([gofmt_bin(), "-l", *changed], cwd=tmp_path, capture_output=True, text=True)
    assert gofmt.stdout == "", gofmt.stdout
    proc = run_cli("--http-handlers", "--tests", "--no-cache", ".", cwd=tmp_path, check=0)
    assert tree_digest(tmp_path) == after, proc.stderr
