"""A span must not change what the program does (behaviour.py, issue 17).

Which operands make a comparison one of contexts by identity (each form on its
own, and what is not one), the package fact read from a package's files (test
files of both packages included) by the driver, the note `-v` and `--check`
give once per package, spans of ours brought to the rule and back, and
functions left without a span counted by reason. The golden pairs identity_*,
returns_context, caller_span* and runtime_pragmas show the rewrites; the
fixtures module's identity package proves the run-time behaviour.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from goinstrument.engine.behaviour import ComparisonFacts, first_comparison, package_comparison
from goinstrument.engine.result import Position

HEADER = 'package p\n\nimport "context"\n\n'


def _compares(body: str, header: str = HEADER) -> bool:
    return first_comparison([("p.go", (header + body).encode())]) is not None


@pytest.mark.parametrize(
    "body",
    [
        "func F(a, b context.Context) bool { return a == b }\n",
        "func F(a context.Context, b context.Context) bool { return (a) != b }\n",
        "type call struct{ ctx context.Context }\n\nfunc F(c *call, d *call) bool { return c.ctx == d.ctx }\n",
        "type req interface{ Context() context.Context }\n\nfunc F(c struct{ x int }, r req, o context.Context) bool { return o == r.Context() }\n",
        "func F(r interface{ Context() context.Context }, s interface{ Context() context.Context }) bool { return r.Context() == s.Context() }\n",
        "func F(ctx context.Context) (out context.Context) { if out == ctx { return nil }; return ctx }\n",
        "func F(ctx context.Context) bool { var base context.Context; return base != ctx }\n",
        "func F(ctx context.Context) bool { base := context.Background(); return base == ctx }\n",
        "func F(s interface{ Context() context.Context }, ctx context.Context) bool { cur := s.Context(); return cur == ctx }\n",
        "func F(ctx context.Context) func() bool { return func() bool { return ctx == context.TODO() } }\n",
        "var shared context.Context\n\nfunc F(ctx context.Context) bool { return shared == ctx }\n",
        "type Ctx = context.Context\n\nfunc F(a, b Ctx) bool { return a == b }\n",
    ],
    ids=[
        "params",
        "parenthesized",
        "fields",
        "context-call",
        "two-context-calls",
        "result",
        "var",
        "background",
        "short-var-from-Context",
        "literal",
        "package-var",
        "alias",
    ],
)
def test_a_comparison_of_contexts(body: str):
    assert _compares(body)


@pytest.mark.parametrize(
    "body",
    [
        "func F(ctx context.Context) bool { return ctx == nil || nil != ctx }\n",
        "func F(ctx context.Context) bool { return ctx.Err() == context.Canceled }\n",
        "func F(ctx context.Context, n int) bool { if ctx := 3; ctx == n { return true }; return false }\n",
        "type holder struct{ ctx int }\n\nfunc F(a, b holder) bool { return a.ctx == b.ctx }\n",
        "func Context(n int) int { return n }\n\nfunc F(n int) bool { return Context(1) == n }\n",
        "func F(ctx context.Context, err error) bool { return err == ctx.Err() }\n",
        "func F(ctx context.Context) bool { // ctx == other, in a comment\n\treturn true\n}\n",
    ],
    ids=["nil", "error-value", "shadowed", "int-field", "Context-with-argument", "err", "comment"],
)
def test_not_a_comparison_of_contexts(body: str):
    assert not _compares(body)


def test_a_field_declared_context_in_another_file_of_the_package():
    fields = b'package p\n\nimport "context"\n\ntype call struct {\n\tctx context.Context\n}\n'
    use = b"package p\n\nfunc same(a, b *call) bool {\n\treturn a.ctx == b.ctx\n}\n"
    assert first_comparison([("use.go", use), ("call.go", fields)]) == ("use.go", Position(4, 9))
    assert first_comparison([("use.go", use)]) is None


def test_what_a_file_tells_is_added_to_its_record_and_said_so():
    """ComparisonFacts.added: whether a part was worked out into the record (the package's facts
    then have something new to keep), for each part: names, the prefilter, comparisons, fields."""
    sources = {
        "fields.go": b'package p\n\nimport "context"\n\ntype S struct {\n\tctx context.Context\n}\n',
        "use.go": b"package p\n\nfunc f(s, t S) bool {\n\treturn s.ctx == t.ctx\n}\n",
    }

    def compared(records: dict[str, dict[str, Any]]) -> set[str]:
        """The files whose facts were added to (the comparison found is the same each time)."""
        facts = [ComparisonFacts(name, data, records[name]) for name, data in sources.items()]
        assert package_comparison(facts) == ("use.go", Position(4, 9))
        return {f.name for f in facts if f.added}

    records: dict[str, dict[str, Any]] = {"fields.go": {}, "use.go": {}}
    assert compared(records) == {"fields.go", "use.go"}
    assert set(records["fields.go"]) == {"c", "m", "f"} and set(records["use.go"]) == {"c", "m", "h"}
    assert compared(records) == set()
    for name, part in [("fields.go", "c"), ("fields.go", "m"), ("fields.go", "f"), ("use.go", "h")]:
        partial = json.loads(json.dumps(records))
        del partial[name][part]
        assert compared(partial) == {name}, part
        assert partial == records


def test_the_first_by_file_name_and_files_go_does_not_read_are_left_out():
    compare = (HEADER + "func F(a, b context.Context) bool { return a == b }\n").encode()
    assert first_comparison([("b.go", compare), ("a_test.go", compare)]) == ("a_test.go", Position(5, 44))
    assert first_comparison([("_b.go", compare), (".a.go", compare), ("notes.txt", compare)]) is None


# the driver: a package on disk ---------------------------------------------------------------

CODE = """package shop

import "context"

func Charge(ctx context.Context) error {
	return Log(ctx)
}

func Log(ctx context.Context) error {
	return ctx.Err()
}
"""
# An external test package comparing contexts: a test that Charge passes its context on.
TEST = """package shop_test

import (
	"context"
	"testing"
)

func TestPassesContext(t *testing.T) {
	var seen context.Context
	ctx := context.Background()
	if seen != ctx {
		t.Skip()
	}
}
"""
NOTE = "shop/shop_test.go:11:5: contexts compared by identity here; spans in this package keep ctx"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "shop.go").write_text(CODE)
    (tmp_path / "shop" / "shop_test.go").write_text(TEST)
    return tmp_path


def test_a_test_package_comparing_contexts_keeps_every_span_of_the_directory_at_ctx(shop: Path):
    proc = run_cli("-v", "shop", cwd=shop, check=0)
    out = (shop / "shop" / "shop.go").read_text()
    assert out.count('_, span := otel.Tracer("example.com/m/shop").Start(ctx, ') == 2 and "ctx, span" not in out
    assert proc.stderr.splitlines().count(NOTE) == 1, proc.stderr  # once, though two functions follow the rule
    check = run_cli("--check", "shop", cwd=shop, check=0)  # all current: the note is no finding
    assert check.stdout == "" and check.stderr.splitlines()[0] == NOTE


def test_spans_of_ours_follow_the_rule_both_ways(shop: Path):
    test = shop / "shop" / "shop_test.go"
    test.unlink()
    run_cli("shop", cwd=shop, check=0)
    assert 'ctx, span := otel.Tracer("example.com/m/shop").Start(ctx, "Charge")' in (shop / "shop" / "shop.go").read_text()
    test.write_text(TEST)  # the comparison comes: --check says the spans are out of date, a run fixes them
    check = run_cli("--check", "shop", cwd=shop, check=1)
    assert check.stdout.splitlines() == [
        "shop/shop.go:12:1: Charge: span is out of date (keeps ctx)",  # below the error block's imports (errors, semconv)
        "shop/shop.go:24:1: Log: span is out of date (keeps ctx)",
    ]
    assert NOTE in check.stderr.splitlines()
    run_cli("shop", cwd=shop, check=0)
    assert "ctx, span" not in (shop / "shop" / "shop.go").read_text()
    test.write_text(TEST.replace("seen != ctx", "seen == nil"))  # the comparison goes: back to ctx
    run_cli("shop", cwd=shop, check=0)
    assert (shop / "shop" / "shop.go").read_text().count("ctx, span :=") == 2
    assert NOTE not in run_cli("-v", "--check", "shop", cwd=shop, check=0).stderr


def test_the_note_in_json(shop: Path):
    report = json.loads(run_cli("--check", "--format", "json", ".", cwd=shop, check=1).stdout)
    assert report["notes"] == [{"path": "shop/shop_test.go", "line": 11, "col": 5, "message": NOTE.split(": ", 1)[1]}]


# functions left without a span, by reason ------------------------------------------------------

HELPERS = """package shop

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

func Annotate(ctx context.Context, msg string) {
	trace.SpanFromContext(ctx).AddEvent(msg)
}

//go:nosplit
func Fast(ctx context.Context) int {
	return 1
}

//instrument:exclude
func Skipped(ctx context.Context) {}

func Work(ctx context.Context) {
	Annotate(ctx, "working")
}
"""


def test_exclusions_are_counted_by_reason(tmp_path: Path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "helpers.go").write_text(HELPERS)
    check = run_cli("--check", ".", cwd=tmp_path, check=1)
    assert check.stdout.splitlines() == ["helpers.go:21:1: Work: no span"]
    assert check.stderr.splitlines()[-1] == (
        "goinstrument: coverage: 0 of 4 functions taking a context have a span (0.0%); "
        "1 without a span, 3 excluded (1 by directive, 1 annotates its caller's span, 1 runtime pragma)"
    )
    report = json.loads(run_cli("--check", "--format", "json", ".", cwd=tmp_path, check=1).stdout)["coverage"]
    kinds = [{"kind": "directive", "count": 1}, {"kind": "caller_span", "count": 1}, {"kind": "pragma", "count": 1}]
    assert (report["excluded"], report["excluded_by"], report["packages"][0]["excluded_by"]) == (3, kinds, kinds)
    verbose = run_cli("-v", ".", cwd=tmp_path, check=0).stderr.splitlines()
    assert "helpers.go:9:1: Annotate: excluded (annotates its caller's span)" in verbose
    assert "helpers.go:14:1: Fast: excluded (marked //go:nosplit)" in verbose
    assert not any("Skipped" in line for line in verbose)  # the person's own choice: not repeated


def test_our_span_in_a_helper_is_out_of_date_and_goes(tmp_path: Path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    helper = tmp_path / "helpers.go"
    helper.write_text(
        HELPERS.replace("//go:nosplit\n", "").replace("\ttrace.SpanFromContext(ctx)", "\t_ = msg\n\ttrace.SpanFromContext(context.TODO())")
    )
    run_cli(".", cwd=tmp_path, check=0)
    assert 'Start(ctx, "Annotate")' in helper.read_text()
    helper.write_text(helper.read_text().replace("trace.SpanFromContext(context.TODO())", "trace.SpanFromContext(ctx)"))
    check = run_cli("--check", ".", cwd=tmp_path, check=1)
    assert check.stdout.splitlines() == ["helpers.go:10:1: Annotate: span is out of date (annotates its caller's span)"]
    run_cli(".", cwd=tmp_path, check=0)
    assert 'Start(ctx, "Annotate")' not in helper.read_text()
    run_cli("--check", ".", cwd=tmp_path, check=0)


def test_the_note_as_a_github_notice(shop: Path):
    proc = run_cli("--check", "--format", "github", ".", cwd=shop, check=1)
    notice = "::notice file=shop/shop_test.go,line=11,col=5,title=goinstrument::contexts compared by identity here; spans in this package keep ctx"
    assert proc.stdout.splitlines().count(notice) == 1, proc.stdout


@pytest.mark.parametrize(
    "line",
    [
        "a == b",
        "(a)==(b)",
        "f(x) == a",
        "x.y.a != z",
        "a.b.c() == d",
        "r.Context() == x",
        "x == r.Context()",
        "x == (((a)))",
        "x ==\ta",
        "nil == a",
        "a == nil",
        "a == (nil)",
        "a === b",
        "ab == c",
        "x.Context().y == b",
        "a\t\t) ) == q",
    ],
)
def test_the_prefilter_gates_pass_every_line_the_line_test_passes(line: str):
    """The literal-first patterns that spare the per-comparison loop may pass more than the loop
    does, never less: what they reject, the loop rejects too."""
    from goinstrument.engine.behaviour import _line_test, _may_compare

    names = frozenset({b"a", b"b"})
    for text in (line, f"func f() {{\n\treturn {line}\n}}\n", f"x := 1; {line} // c"):
        data = text.encode()
        assert _may_compare(data, names) == _line_test(data, names), text


def test_a_comparison_past_the_first_32_kb_and_one_across_the_boundary():
    """The comparisons are queried a range of bytes at a time: the first is found wherever it is,
    one that starts in a range and ends in the next is seen once, in source order."""
    pad = "// " + "x" * 76 + "\n"
    far = HEADER + pad * 500 + "func F(a, b context.Context) bool { return a == b }\n"
    assert first_comparison([("p.go", far.encode())]) == ("p.go", Position(505, 44))
    prefix = HEADER + "func G(a, b context.Context, n, m int) bool {\n\treturn n == m || a =="
    across = prefix + " " * (32768 - len(prefix) + 10) + "b\n}\n"
    assert first_comparison([("p.go", across.encode())]) == ("p.go", Position(6, 19))


def test_a_gate_is_compiled_only_for_a_name_the_file_spells(monkeypatch: pytest.MonkeyPatch):
    """The package's names that a file scanned does not hold cost no compile (behaviour._gate)."""
    from goinstrument.engine import behaviour

    compiled: list[bytes] = []

    def gate(pattern: bytes) -> re.Pattern[bytes]:
        compiled.append(pattern)
        return re.compile(pattern)

    monkeypatch.setattr(behaviour, "_gate", gate)
    names = frozenset({b"ctx", b"lookupCtx", b"subCtx"})
    assert not behaviour._may_compare(b"package p\n\nfunc f(ctx context.Context) bool { return ctx != nil }\n", names)
    assert len(compiled) == 2 and not any(b"lookupCtx(" in p or b"subCtx(" in p for p in compiled)  # ctx's, `!=`'s
    assert behaviour._may_compare(b"package p\n\nfunc f(subCtx, b context.Context) bool { return subCtx == b }\n", names)
    assert any(p.startswith(b"subCtx(") for p in compiled)
