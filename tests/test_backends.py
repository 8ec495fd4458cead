"""Backends other than OpenTelemetry: Datadog, and a user's own named as module:attribute."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, run_cli

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


def _go(*args: str, cwd: Path) -> subprocess.CompletedProcess:
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
    assert "0 of 1 file changed" in run_cli("--backend", "datadog", "--no-cache", ".", cwd=root, check=0).stderr


def test_a_users_own_backend_by_module_and_attribute(tmp_path):
    (tmp_path / "mybackend.py").write_text(MY_BACKEND)
    src = tmp_path / "a.go"
    src.write_text('package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n}\n')
    run_cli("--backend", "mybackend:LogBackend", "a.go", cwd=tmp_path, check=0, env={"PYTHONPATH": str(tmp_path)})
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
    (tmp_path / "leavebackend.py").write_text(LITERAL_BACKEND)
    (tmp_path / "main.go").write_text(LITERAL_PROGRAM)
    env = {"PYTHONPATH": str(tmp_path)}
    run_cli("--backend", "leavebackend:LeaveBackend", "--tracer", "t", "main.go", cwd=tmp_path, check=0, env=env)
    source = (tmp_path / "main.go").read_text()
    assert '}("Outer.func2")' in source and '}("Outer")' in source


@pytest.mark.slow
def test_literal_span_names_from_a_users_rendering_are_the_runtime_names(tmp_path):
    """Built and run: the name the Go runtime gives the body's literal is the span name the tool wrote for it."""
    (tmp_path / "leavebackend.py").write_text(LITERAL_BACKEND)
    (tmp_path / "main.go").write_text(LITERAL_PROGRAM)
    (tmp_path / "go.mod").write_text("module example.com/literals\n\ngo 1.21\n")
    env = {"PYTHONPATH": str(tmp_path)}
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
    (tmp_path / "mybackend.py").write_text(MY_BACKEND)
    (tmp_path / "a.go").write_text('package p\n\nimport "context"\n\nfunc F(ctx context.Context) {}\n')
    env = {"PYTHONPATH": str(tmp_path)}
    proc = run_cli("--backend", "mybackend:LogBackend", "--attributes", "args", "a.go", cwd=tmp_path, check=2, env=env)
    assert 'backend "mybackend:LogBackend" does not support --attributes' in proc.stderr


def test_a_users_backend_is_recognised_from_its_rendering(tmp_path):
    """No match_start needed: a second run changes nothing, a renamed function's span follows, --remove takes it out."""
    (tmp_path / "mybackend.py").write_text(MY_BACKEND)
    src = tmp_path / "a.go"
    original = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n}\n'
    src.write_text(original)
    env = {"PYTHONPATH": str(tmp_path)}
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
