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
    assert '\n//line :16:1\n\t\tpanic("boom")\n' in once
    assert "\n//line :15:1\n\tfmt.Println(" in once
    run_cli("--line-directives", "--no-cache", "main.go", cwd=tmp_path, check=0)
    assert (tmp_path / "main.go").read_text() == once


# The //line :N:1 form, existing directives, and --remove ----------------------------

WORK = """package sub

import (
	"context"
	"fmt"
	"runtime"
)

func here() string {
	_, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", file, line)
}

func Where(ctx context.Context) (string, error) {
	return here(), nil
}

//line grammar.y:100
func Mapped(ctx context.Context) string {
	return here()
}

//line :40
func Nameless(ctx context.Context) string {
	return here()
}

/*line other.y:7*/ func Inline(ctx context.Context) string {
	if ctx == nil {
		return "" /*line other.y:20*/
	}
	return here()
}

func Leading(ctx context.Context) string {
//line leading.y:50
	return here()
}
"""

MAIN = """package main

import (
	"context"
	"fmt"

	"ldsub/sub"
)

func main() {
	ctx := context.Background()
	where, _ := sub.Where(ctx)
	fmt.Println(where)
	fmt.Println(sub.Mapped(ctx))
	fmt.Println(sub.Nameless(ctx))
	fmt.Println(sub.Inline(ctx))
	fmt.Println(sub.Leading(ctx))
}
"""


def _module(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "go.mod").write_text("module ldsub\n\ngo 1.22\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "work.go").write_text(WORK)
    (tmp_path / "main.go").write_text(MAIN)
    return tmp_path / "sub" / "work.go"


def test_directives_keep_the_file_name_and_follow_existing_ones(tmp_path):
    work = _module(tmp_path)
    run_cli("--line-directives", "sub/work.go", cwd=tmp_path, check=0)
    out = work.read_text()
    # No file name: the compiler keeps the one in force (`:N` alone would make it empty).
    assert "\n//line :15:1\n\treturn here(), nil\n" in out
    # Inside a region `//line grammar.y:100` maps, ours restore its numbering.
    assert "\n//line :101:1\n\treturn here()\n" in out
    assert "\n//line :41:1\n\treturn here()\n" in out
    # The existing directives stay, once each.
    for directive in ("//line grammar.y:100\n", "//line :40\n", "/*line other.y:7*/ func Inline", '"" /*line other.y:20*/'):
        assert out.count(directive) == 1, directive
    # A directive of the file's own that ends up after inserted lines needs none of ours before it.
    assert "\tdefer span.End()\n//line leading.y:50\n\treturn here()\n" in out


def test_remove_takes_out_only_our_directives(tmp_path):
    work = _module(tmp_path)
    run_cli("--line-directives", "sub/work.go", cwd=tmp_path, check=0)
    assert "//line :101:1" in work.read_text()
    run_cli("--remove", "--no-cache", "sub/work.go", cwd=tmp_path, check=0)
    removed = work.read_text()
    # What instrumenting named stays named; everything else is as written, their directives included.
    assert removed == WORK.replace("(string, error)", "(_ string, err error)")


@pytest.mark.slow
def test_positions_at_run_time_are_the_original_ones(tmp_path):
    """runtime.Caller in the instrumented build reports what the original build reports: file (with its
    directory, or the file an existing directive names) and line."""
    _module(tmp_path)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    before = subprocess.run(["go", "run", "."], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.splitlines()
    assert lines[0] == f"{tmp_path / 'sub' / 'work.go'}:15" and lines[1] == "grammar.y:101", before.stdout
    run_cli("--line-directives", "sub/work.go", cwd=tmp_path, check=0)
    got = subprocess.run(["go", "get", "go.opentelemetry.io/otel@v1.47.0"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert got.returncode == 0, got.stderr
    after = subprocess.run(["go", "run", "."], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout


# code.line.number: the line the Go toolchain reports for `func` -------------------------

FUNC_LINES = """package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
)

// Each function's `func` line as go/token reports it (//line directives followed, as the compiler
// does), and the code.line.number value its span holds.
func main() {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, os.Args[1], nil, parser.ParseComments)
	if err != nil {
		panic(err)
	}
	ast.Inspect(file, func(n ast.Node) bool {
		var typ *ast.FuncType
		var body *ast.BlockStmt
		switch f := n.(type) {
		case *ast.FuncDecl:
			typ, body = f.Type, f.Body
		case *ast.FuncLit:
			typ, body = f.Type, f.Body
		default:
			return true
		}
		ast.Inspect(body, func(m ast.Node) bool {
			call, ok := m.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return m == body || !isFunc(m)
			}
			if key, ok := call.Args[0].(*ast.BasicLit); ok && key.Value == `"code.line.number"` {
				value, _ := strconv.Atoi(call.Args[1].(*ast.BasicLit).Value)
				fmt.Println(fset.PositionFor(typ.Func, true).Line, value)
			}
			return true
		})
		return true
	})
}

func isFunc(n ast.Node) bool {
	_, ok := n.(*ast.FuncLit)
	return ok
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--line-directives"]], ids=["plain", "line-directives"])
def test_code_line_number_is_the_line_go_reports_for_func(tmp_path, flags):
    work = _module(tmp_path / "m")
    run_cli("--attributes", "code", *flags, "sub/work.go", cwd=tmp_path / "m", check=0)
    tool = tmp_path / "funclines"
    tool.mkdir()
    (tool / "go.mod").write_text("module funclines\n\ngo 1.22\n")
    (tool / "main.go").write_text(FUNC_LINES)
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    proc = subprocess.run(["go", "run", ".", str(work)], cwd=tool, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    pairs = [tuple(map(int, line.split())) for line in proc.stdout.splitlines()]
    assert len(pairs) == 5, proc.stdout  # every function of WORK
    assert all(reported == written for reported, written in pairs), proc.stdout
