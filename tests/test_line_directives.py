"""--line-directives: an instrumented build reports the lines the developer wrote."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from conftest import run_cli

PROGRAM = """package main

import (
	"context"
	"fmt"
)

func main() {
	_ = work(context.Background()) // line 9
}

func helper(ctx context.Context) int { return 1 }

func work(ctx context.Context) error {
	fmt.Println("working", helper(ctx))
	f := func(ctx context.Context) { panic("boom") } // line 16
	f(ctx) // line 17
	return nil
}
"""


@pytest.mark.slow
def test_panic_in_an_instrumented_build_points_at_the_original_lines(tmp_path):
    (tmp_path / "go.mod").write_text("module ldm\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text(PROGRAM)
    run_cli("--line-directives", "main.go", cwd=tmp_path, check=0)
    assert "otel.Tracer" in (tmp_path / "main.go").read_text()
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    got = subprocess.run(["go", "get", "go.opentelemetry.io/otel@v1.47.0"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert got.returncode == 0, got.stderr
    run = subprocess.run(["go", "run", "."], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert "panic: boom" in run.stderr, run.stderr
    frames = re.findall(r"main\.go:(\d+)", run.stderr)
    assert frames[:3] == ["16", "17", "9"], run.stderr


def test_directives_sit_at_column_one_and_a_second_run_changes_nothing(tmp_path):
    (tmp_path / "main.go").write_text(PROGRAM)
    run_cli("--line-directives", "main.go", cwd=tmp_path, check=0)
    once = (tmp_path / "main.go").read_text()
    assert "\n//line main.go:16\n\t\tpanic(\"boom\")\n" in once
    assert "\n//line main.go:15\n\tfmt.Println(" in once
    run_cli("--line-directives", "--no-cache", "main.go", cwd=tmp_path, check=0)
    assert (tmp_path / "main.go").read_text() == once
