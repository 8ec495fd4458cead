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
