"""Span names as the Go runtime gives them, where that takes more than the file's spelling.

The golden pairs names_init_functions, names_alias_receiver and
literals_dropped_code show the rewrite; fixtures/gomod/runtimenames and
initfiles check the names against runtime.FuncForPC. Here: the count of init
functions before a file, and the edges of the constant evaluation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from goinstrument.driver.package_scope import init_functions_before, package_aliases, package_iterators, package_literal_numbers
from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.go.rangefunc import Iterators
from goinstrument.engine.go.runtimenames import qualified_prefix, resolve_pointer
from goinstrument.engine.options import RewriteOptions

INIT = "func init() {}\n"


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text)


def test_init_functions_are_counted_across_the_package_in_file_name_order(tmp_path):
    _write(
        tmp_path,
        {
            "b.go": "package p\n\n" + INIT * 2,
            "a.go": "package p\n\n" + INIT,
            "c.go": "package p\n\n" + INIT,
            "d.go": "package p\n\n" + INIT,
        },
    )
    assert [init_functions_before(str(tmp_path / n)) for n in ("a.go", "b.go", "c.go", "d.go")] == [0, 1, 3, 4]


def test_files_the_go_command_never_compiles_do_not_count(tmp_path):
    _write(
        tmp_path,
        {
            "a_ignored.go": "//go:build ignore\n\npackage main\n\n" + INIT,
            "_hidden.go": "package p\n\n" + INIT,
            ".dot.go": "package p\n\n" + INIT,
            "b_test.go": "package p\n\n" + INIT,  # tests are compiled after the package's files, and not with them
            "c.go": "package p\n\n/*\nfunc init() {}\n*/\n" + INIT,  # a comment is not a declaration
            "d.go": "package p\n",
        },
    )
    assert init_functions_before(str(tmp_path / "d.go")) == 1


def test_cgo_files_come_after_the_others(tmp_path):
    """The go command hands cgo's output to the compiler after the package's other files."""
    _write(tmp_path, {"a.go": 'package p\n\nimport "C"\n\n' + INIT, "b.go": "package p\n\n" + INIT})
    assert init_functions_before(str(tmp_path / "b.go")) == 0
    assert init_functions_before(str(tmp_path / "a.go")) == 1


def test_test_files_follow_the_package_and_external_tests_count_alone(tmp_path):
    _write(
        tmp_path,
        {
            "z.go": "package p\n\n" + INIT,
            "a_test.go": "package p\n\n" + INIT,
            "b_test.go": "package p\n\n" + INIT,
            "c_test.go": "package p_test\n\n" + INIT,
            "d_test.go": "package p_test\n\n" + INIT,
        },
    )
    assert init_functions_before(str(tmp_path / "b_test.go")) == 2  # z.go, then a_test.go
    assert init_functions_before(str(tmp_path / "d_test.go")) == 1  # c_test.go only


def _spans(src: str, info: FileInfo | None = None) -> list[str]:
    result = instrument(src.encode(), RewriteOptions(), info or FileInfo())
    assert result.problem is None
    return re.findall(r'\.Start\(\w+, "([^"]*)"\)', result.output.decode())


def test_the_core_numbers_init_functions_from_the_count_it_is_given():
    src = 'package p\n\nimport "context"\n\nfunc init() {\n\t_ = func(ctx context.Context) {}\n}\n'
    assert _spans(src, FileInfo(init_functions_before=2)) == ["init.2.func1"]


def test_directives_name_init_functions_either_way():
    src = (
        'package p\n\nimport "context"\n\n//instrument:exclude init.1\n\nfunc '
        "init() {\n\t_ = func(ctx context.Context) {}\n}\n\nfunc init() {\n\t_ = func(ctx context.Context) {}\n}\n"
    )
    assert _spans(src) == ["init.0.func1"]


def test_directives_may_name_a_method_by_its_alias_or_its_type():
    src = (
        'package p\n\nimport "context"\n\n//instrument:exclude B.M\n\ntype T struct{}\ntype '
        "B = T\n\nfunc (B) M(ctx context.Context) {}\nfunc (B) N(ctx context.Context) {}\n"
    )
    assert _spans(src) == ["T.N"]


DEAD = 'package p\n\nimport "context"\n\n{decls}\n\nfunc F(ctx context.Context) {{\n\t{code}\n\t_ = func(ctx context.Context) {{}}\n}}\n'


@pytest.mark.parametrize(
    ("decls", "code", "last"),
    [
        pytest.param("const debug = false", "if debug { _ = func() {} }", "F.func1", id="constant false: dropped"),
        pytest.param("const debug = true", "if debug { _ = func() {} }", "F.func2", id="constant true: kept"),
        pytest.param("const debug = true", "if debug { } else { _ = func() {} }", "F.func1", id="else of constant true: dropped"),
        pytest.param("const n = 0x10", "if n == 16 { } else { _ = func() {} }", "F.func1", id="hex literal compared"),
        pytest.param('const s = "a"', 'if s+"b" != "ab" { _ = func() {} }', "F.func1", id="string concatenation"),
        pytest.param("const a, b = 1, 2", "if a > b { _ = func() {} }", "F.func1", id="a two-name spec"),
        pytest.param("const debug = false\nvar debugV = debug", "if debugV { _ = func() {} }", "F.func2", id="a variable: kept"),
        pytest.param("const debug = false", "debug := true\n\tif debug { _ = func() {} }", "F.func2", id="shadowed by a variable: kept"),
        # A known limit: iota and implicit repetition are not evaluated, so this branch counts as
        # kept, while the compiler (b is 1) drops it and calls the last literal F.func1.
        pytest.param("const (\n\ta = iota\n\tb\n)", "if b == 5 { _ = func() {} }", "F.func2", id="iota is not evaluated: kept (a limit)"),
        pytest.param("const x = 1", "if x == 1 || f() { } else { _ = func() {} }", "F.func1", id="|| decided by the left"),
        pytest.param("", "if f() && false { _ = func() {} }", "F.func1", id="&& decided by the right"),
        pytest.param("", "if !(f() && false) { _ = func() {} }", "F.func2", id="a parenthesised operand of ! is never simplified"),
        pytest.param("", "if f() { panic(0); _ = func() {} }", "F.func1", id="after panic: dropped"),
        pytest.param("func panic(int) {}", "if f() { panic(0); _ = func() {} }", "F.func2", id="panic redeclared: kept"),
        pytest.param("const on = true", "{ if on { return } }\n\t_ = func() {}", "F", id="after a block that always returns: dropped"),
        pytest.param("", "goto L\n\t_ = func() {}\nL:\n\t_ = func() {}", "F.func3", id="before a label: kept"),
        pytest.param("", "switch { case f(): _ = func() {} }", "F.func2", id="a case that is not constant: all kept"),
        pytest.param("const k = 2", "switch k { case 1: _ = func() {}; default: _ = func() {} }", "F.func2", id="the default clause taken"),
        pytest.param("const k = 1", "switch k { case 1: _ = func() {}; fallthrough; default: _ = func() {} }", "F.func3", id="fallthrough: all kept"),
        pytest.param("", "for false { _ = func() {} }", "F.func1", id="for false: body dropped"),
    ],
)
def test_literals_the_compiler_drops_are_not_numbered(decls, code, last):
    src = DEAD.format(decls=decls + "\n\nfunc f() bool { return true }", code=code)
    assert _spans(src)[-1] == last


def test_aliases_declared_in_other_files_are_read_from_the_directory(tmp_path):
    _write(
        tmp_path,
        {
            "a.go": "package p\n\ntype T struct{}\n\ntype B = T\n\ntype (\n\tP = *T // a pointer\n\tL = List[int]\n\tQ = other.T\n)\n",
            "b.go": "package p\n\nfunc f() {\n\ttype Local = T\n}\n",
        },
    )
    assert package_aliases(str(tmp_path)) == (("B", "T"), ("P", "*T"))


def test_the_core_names_methods_on_aliases_it_is_given():
    src = 'package p\n\nimport "context"\n\nfunc (b *B) M(ctx context.Context) {}\n'
    assert _spans(src) == ["B.M"]
    assert _spans(src, FileInfo(package_aliases=(("B", "T"),))) == ["T.M"]


@pytest.mark.parametrize(
    ("package", "import_path", "test_file", "prefix"),
    [
        pytest.param("main", "example.com/cmd/tool", False, "main", id="package main: main"),
        pytest.param("main", "example.com/cmd/tool", True, "example.com/cmd/tool", id="package main in a test build: its import path"),
        pytest.param("yaml", "gopkg.in/yaml.v3", False, "gopkg.in/yaml%2ev3", id="dots of the last element escaped"),
        pytest.param("p_test", "example.com/a.b/p", True, "example.com/a.b/p_test", id="external test package"),
        pytest.param("p", "", False, "p", id="outside a module: the package name"),
    ],
)
def test_the_runtimes_package_prefix(package, import_path, test_file, prefix):
    assert qualified_prefix(package, import_path, test_file) == prefix


def test_pointer_aliases_keep_their_star(tmp_path):
    """`type P = *T`: a method declared on P is (*T).M in the runtime's full name."""
    src = "package p\n\ntype T struct{}\n\ntype P = *T\n"
    (tmp_path / "a.go").write_text(src)
    assert package_aliases(str(tmp_path)) == (("P", "*T"),)
    assert resolve_pointer("P", {"P": "*T", "Q": "P"}) == ("T", True)
    assert resolve_pointer("Q", {"P": "*T", "Q": "P"}) == ("T", True)


RANGE = """package p

import (
	"context"
	"iter"
	"slices"
	"strings"
	other "example.com/other"
)

type Seq func(yield func(int) bool)
type Named Seq
type S struct{{}}

func (S) All(f func(context.Context)) Seq {{ return nil }}
func wrap(f func(context.Context)) iter.Seq[int] {{ return nil }}
func plain(f func(context.Context)) []int {{ return nil }}
func named(f func(context.Context)) (seq Named) {{ return nil }}

func F(ctx context.Context) {{
	{decl}
	for range {expr} {{
		_ = func(ctx context.Context) {{}}
	}}
}}
"""
ARG = "func(ctx context.Context) {}"


@pytest.mark.parametrize(
    ("decl", "expr", "over_func"),
    [
        pytest.param("", "func(yield func(int) bool) { _ = " + ARG + " }", True, id="a function literal"),
        pytest.param("", f"wrap({ARG})", True, id="a package function returning iter.Seq"),
        pytest.param("", f"named({ARG})", True, id="a named result of a type declared as another function type"),
        pytest.param("", f"(S{{}}).All({ARG})", True, id="a method returning the package's function type"),
        pytest.param("", f"func(f func(context.Context)) Seq {{ return nil }}({ARG})", True, id="a literal called"),
        pytest.param("", f'strings.FieldsFuncSeq("", func(rune) bool {{ _ = {ARG}; return true }})', True, id="a standard iterator"),
        pytest.param("", f"slices.Values([]func(context.Context){{{ARG}}})", True, id="slices.Values"),
        pytest.param("", f"plain({ARG})", False, id="a package function returning a slice"),
        pytest.param("", f"[]func(context.Context){{{ARG}}}", False, id="a slice"),
        pytest.param("", f"other.Seq({ARG})", False, id="another package's function: unknown, source order"),
        pytest.param("wrap := plain", f"wrap({ARG})", False, id="a local variable hides the package function"),
        pytest.param(
            "strings := other.X", f'strings.FieldsFuncSeq("", func(rune) bool {{ _ = {ARG}; return true }})', False, id="a local hides the import"
        ),
    ],
)
def test_a_range_over_a_function_numbers_its_body_first(decl, expr, over_func):
    """The last span is the loop body's literal: F.func1 where the range is over a function, after
    the range expression's literal (F.func2 at least) where it is not."""
    names = _spans(RANGE.format(decl=decl, expr=expr))
    assert (names[-1] == "F.func1") is over_func, names


def test_iterators_declared_in_other_files_are_read_from_the_directory(tmp_path):
    _write(
        tmp_path,
        {
            "a.go": 'package p\n\nimport it "iter"\n\ntype Seq[T any] func(yield func(T) bool)\n\nfunc Keys() it.Seq[int] { return nil }\n',
            "b.go": "package p\n\nfunc Wrap(f func()) Seq[int] { return nil }\n\nfunc List() []int { return nil }\n\nfunc (T) "
            "M() Seq[int] { return nil }\n\nfunc (U) M() int { return 0 }\n\nfunc (T) N() func(func() bool) { return nil }\n",
        },
    )
    found = package_iterators(str(tmp_path))
    assert found.functions == ("Keys", "Wrap")
    assert found.types == ("Seq",)
    assert found.methods == ("N",)  # M also returns an int for U: not known to be an iterator


def test_the_core_takes_iterators_from_other_files_it_is_given():
    src = (
        'package p\n\nimport "context"\n\nfunc F(ctx '
        "context.Context) {\n\tfor range Wrap(func(ctx context.Context) {}) {\n\t\t_ = func(ctx context.Context) {}\n\t}\n}\n"
    )
    assert _spans(src) == ["F", "F.func1", "F.func2"]
    assert _spans(src, FileInfo(package_iterators=Iterators(functions=("Wrap",)))) == ["F", "F.func2", "F.func1"]


def _literal_numbers(tmp_path, files: dict[str, str], name: str) -> tuple[int, ...]:
    _write(tmp_path, files)
    return package_literal_numbers(str(tmp_path / name))


@pytest.mark.parametrize(
    ("a", "b", "numbers_a"),
    [
        pytest.param("var A, B = func() {}, func() {}", "", (1, 2), id="two variables of one spec, each on its own"),
        pytest.param("var A = func() { _ = late }\nvar B = func() {}\nvar late = 1", "", (2, 1), id="waits for a variable declared after it"),
        pytest.param(
            "var A = func() { f() }\nvar B = func() {}",
            "func f() { _ = c }\n\nvar c = g()\n\nfunc g() int { return 0 }",
            (2, 1),
            id="through a function, across files",
        ),
        pytest.param(
            "var A = func() { var t T; t.M() }\nvar B = func() {}",
            "type T struct{}\n\nfunc (T) M() { _ = c }\n\nvar c = g()\n\nfunc g() int { return 0 }",
            (1, 2),
            id="a method is not followed (a limit)",
        ),
        pytest.param(
            "var A = func() { c := 1; _ = c }\nvar B = func() {}",
            "var c = g()\n\nfunc g() int { return 0 }",
            (1, 2),
            id="a local of that name is no reference",
        ),
        pytest.param("var A = func() {}", "var B = func() {}", (1,), id="the second file's after the first's"),
        pytest.param("var A, B = pair(func() {})", "func pair(f func()) (int, int) { return 0, 0 }", (1,), id="one call setting two variables"),
    ],
)
def test_package_level_literals_are_numbered_in_initialisation_order(tmp_path, a, b, numbers_a):
    assert _literal_numbers(tmp_path, {"a.go": f"package p\n\n{a}\n", "b.go": f"package p\n\n{b}\n"}, "a.go") == numbers_a


def test_test_files_number_after_the_package_and_external_tests_alone(tmp_path):
    files = {
        "a.go": "package p\n\nvar A = func() {}\n",
        "a_test.go": "package p\n\nvar T = func() {}\n",
        "x_test.go": "package p_test\n\nvar X = func() {}\n",
    }
    assert _literal_numbers(tmp_path, files, "a_test.go") == (2,)
    assert _literal_numbers(tmp_path, files, "x_test.go") == (1,)


def test_the_core_names_package_level_literals_from_the_numbers_it_is_given():
    src = 'package p\n\nimport "context"\n\nvar A = func(ctx context.Context) {}\n\nvar B = func(ctx context.Context) {}\n'
    assert _spans(src, FileInfo(package_literals=(3, 2))) == ["init.func3", "init.func2"]
    assert _spans(src, FileInfo(package_literals=(3,))) == ["init.func1", "init.func2"]  # not this source's: counted here
