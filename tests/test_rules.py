"""The rules that leave a function alone (engine/rules/) and the skip rules of files (driver/skips.py):
each in one place, asked by everything that needs it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tree_sitter import Node

from goinstrument.cli import main
from goinstrument.driver import discover, skips
from goinstrument.engine import rules
from goinstrument.engine.go import scopes, syntax
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import EXCLUSIONS
from goinstrument.engine.rules import existing_span

SHOP = """package shop

import "context"

func Work(ctx context.Context) {
	_ = ctx
}

func WorkSlow(ctx context.Context) {
	_ = ctx
}
"""


def _slow(function: rules.Function) -> str | None:
    """A rule of a test's own: a function whose name ends in Slow would be changed by a span."""
    return "named ...Slow" if function.name.endswith("Slow") else None


SLOW = rules.Rule("slow", "function", "slow", _slow, changes_behaviour=True)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def invoke(cwd: Path, *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        code = main(["--jobs", "1", "--no-cache", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_a_rule_registered_from_a_test_is_counted_listed_and_explained(tmp_path: Path, cli: Callable[..., tuple[int, str, str]]) -> None:
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "shop.go").write_text(SHOP)
    with rules.registered(SLOW, "named to be left alone"):
        code, out, err = cli(tmp_path, "--check", ".")
        assert (code, out.splitlines()) == (1, ["shop.go:5:1: Work: no span"])
        assert err.splitlines()[-1] == (
            "goinstrument: coverage: 0 of 2 functions taking a context have a span (0.0%); 1 without a span, 1 excluded (1 named to be left alone)"
        )
        code, out, _ = cli(tmp_path, "--check", "--format", "json", ".")
        assert json.loads(out)["coverage"]["excluded_by"] == [{"kind": "slow", "count": 1}]
        code, _, err = cli(tmp_path, "-v", ".")
        assert "shop.go:9:1: WorkSlow: excluded (named ...Slow)" in err.splitlines()
        written = (tmp_path / "shop.go").read_text()
        assert 'Start(ctx, "Work")' in written and 'Start(ctx, "WorkSlow")' not in written
    assert SLOW not in rules.RULES and "slow" not in EXCLUSIONS
    code, _, _ = cli(tmp_path, "--check", ".")  # without the rule: WorkSlow is a function like any other
    assert code == 1


def test_every_kind_a_rule_counts_has_its_words() -> None:
    counted = {rule.kind for rule in rules.RULES if rule.stage != "compiled" and rule.name != "existing_span"}
    assert counted == set(EXCLUSIONS)
    assert [rule.stage for rule in rules.RULES] == sorted((rule.stage for rule in rules.RULES), key=["compiled", "scope", "function", "body"].index)


def _statements(body: str) -> list[Node]:
    src = f"package p\n\nfunc f() {{\n{body}\n}}\n".encode()
    root = syntax.parse(src).root_node
    block = root.named_children[1].child_by_field_name("body")
    assert block is not None
    return scopes.statement_list(block)


@pytest.mark.parametrize(
    ("body", "handler", "expected"),
    [
        ('ctx, span := tracer.Start(ctx, "x")', False, True),
        ('_, span := tracer.Start(other, "x")', False, False),
        ('ctx, span := tracer.Start(r.Context(), "x")', True, True),
        ('c := r.Context()\n_ = 1\nctx, span := tracer.Start(c, "x")', True, True),
        ('var c = r.Context()\nctx, span := tracer.Start(c, "x")', True, True),
        ('ctx, span := tracer.Start(c, "x")\nc := r.Context()', True, False),
    ],
)
def test_one_decision_whether_a_body_starts_a_span(body: str, handler: bool, expected: bool) -> None:
    assert existing_span.starts_span(_statements(body), "r" if handler else "ctx", handler) is expected


def test_the_walk_and_a_named_file_follow_the_same_skip_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["a.go", "a_test.go", "_b.go", ".c.go", "d.txt", "vendor/v.go", "testdata/t.go", "_x/x.go", ".y/y.go", "sub/s.go", "sub/s_test.go"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("package p\n")
    monkeypatch.chdir(tmp_path)
    for settings in (RewriteOptions(), RewriteOptions(include_tests=True), RewriteOptions(exclude_paths=("sub/**",))):
        walked = {p.as_posix() for p in discover.go_files(["."], settings, [])}
        named = {name for name in names if skips.skip_reason(Path(name), settings) is None}
        assert walked == named, settings
    assert skips.skip_reason(Path("vendor/v.go"), RewriteOptions()) == "inside vendor/"
    assert [skips.ignored_by_go(n) for n in ("_a.go", ".a.go", "a_.go", ".", "..")] == [True, True, False, False, False]


def test_a_rule_is_asked_only_of_the_files_it_says_it_may_apply_to() -> None:
    """Rule.applies, asked once a file: a rule that cannot leave any function of a file alone
    (pragma without `//go:`, caller_span without `FromContext`, the settings' at their defaults)
    is not asked of each of its functions."""
    from goinstrument.engine.core import instrument
    from goinstrument.engine.fileinfo import FileInfo

    asked: list[str] = []

    def counting(function: rules.Function) -> str | None:
        asked.append(function.name)
        return None

    def run(applies: bool) -> list[str]:
        asked.clear()
        rule = rules.Rule("counting", "function", "slow", counting, applies=lambda planner: applies)
        with rules.registered(rule, "counted"):
            assert instrument(SHOP.encode(), RewriteOptions(), FileInfo("shop.go")).spans_added == 2
        return list(asked)

    assert run(True) == ["Work", "WorkSlow"]
    assert run(False) == []
    # The registry's own: none of them applies to a plain file under the default settings but the
    # one asked of every body without a span of ours.
    plain = [rule.name for rule in rules.RULES if rule.applies is None]
    assert plain == ["existing_span"]


def test_the_walk_passes_by_a_declaration_no_rule_is_shown_that_takes_no_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no scope or function rule applies to the file, a declaration that takes no context,
    holds no literal and is no init is neither named nor planned; a rule that applies is shown
    every function, its name made."""
    from goinstrument.engine import core
    from goinstrument.engine.fileinfo import FileInfo

    plain = "".join(f"func Plain{i}() int {{ return {i} }}\n\n" for i in range(50))
    outer = "func init() {}\n\nfunc Outer() {\n\t_ = func(ctx context.Context) {}\n}\n\n"
    src = 'package p\n\nimport "context"\n\n' + plain + outer + SHOP[SHOP.index("func Work") :]
    named: list[str] = []
    of = core._DeclarationNames.of

    def counted(self: core._DeclarationNames, node: Node) -> tuple[str, set[str], str, str]:
        found = of(self, node)
        named.append(found[0])
        return found

    monkeypatch.setattr(core._DeclarationNames, "of", counted)
    result = core.instrument(src.encode(), RewriteOptions(), FileInfo("shop.go"))
    assert (result.spans_added, result.coverage.functions) == (3, 3)
    assert 'Start(ctx, "Outer.func1")' in result.output.decode()
    assert named == ["init.0", "Outer", "Work", "WorkSlow"]
    named.clear()
    with rules.registered(SLOW, "named to be left alone"):
        assert core.instrument(src.encode(), RewriteOptions(), FileInfo("shop.go")).spans_added == 2
    assert len(named) == 54
