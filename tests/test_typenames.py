"""Types resolved by Go's scopes: the predeclared error, context.Context, and what shadows or aliases them.

The golden pairs error_alias, error_type_declared, error_type_shadowed_locally,
ctx_dot_import_shadowed and ctx_alias_type show the rewrite; these tests pin
the resolution itself and the one input that comes from other files.
"""

from __future__ import annotations

import os

import pytest

from goinstrument.driver.package_scope import package_declarations
from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo, import_name_candidates
from goinstrument.engine.go import syntax
from goinstrument.engine.go.typenames import Kind, TypeNames
from goinstrument.engine.options import RewriteOptions

SAVE = b'package p\n\nimport "context"\n\nfunc Save(ctx context.Context) error {\n\treturn nil\n}\n'


def _kinds(src: str, sibling_names: frozenset[str] = frozenset()) -> list[Kind | None]:
    """The kind of every parameter and result whose type is spelled error, Context, context.Context, E or Ctx."""
    root = syntax.parse(src.encode()).root_node
    names = frozenset({"context"} | ({"."} if 'import . "context"' in src else set()))
    types = TypeNames(root, names, sibling_names)
    found = []
    stack = [root]
    while stack:
        node = stack.pop(0)
        if node.type == "parameter_declaration":
            kind = node.child_by_field_name("type")
            if kind is not None and kind.text in (b"error", b"Context", b"context.Context", b"E", b"Ctx"):
                found.append(types.kind(kind))
        stack[:0] = node.named_children
    return found


def test_an_error_declared_in_another_file_of_the_package_is_not_the_predeclared_one():
    plain = instrument(SAVE, RewriteOptions(), FileInfo("f.go", "t"))
    assert b"span.SetStatus(codes.Error, err.Error())" in plain.output
    shadowed = instrument(SAVE, RewriteOptions(), FileInfo("f.go", "t", sibling_names=frozenset({"error"})))
    assert b"SetStatus" not in shadowed.output and b"func Save(ctx context.Context) error {" in shadowed.output
    assert b"span.End()" in shadowed.output


def test_the_names_read_from_other_files_include_error(tmp_path):
    """The driver reads the candidates in the package's files; `error` is among them."""
    assert "error" in import_name_candidates(FileInfo().backend)
    (tmp_path / "types.go").write_text("package p\n\ntype error interface{ Code() int }\n")
    (tmp_path / "use.go").write_text(SAVE.decode())
    assert package_declarations(str(tmp_path), import_name_candidates(FileInfo().backend)) == frozenset({"error"})


@pytest.mark.parametrize(
    ("src", "kinds"),
    [
        # A parameter named error does not shadow the signature's own types; in the body it does.
        ("func F(error int) (x error) { _ = func() (y error) { return nil } }", [Kind.ERROR, None]),
        # A type parameter shadows over the signature.
        ("func F[error any]() (x error) { return }", [None]),
        # A method's receiver type parameters too.
        ("type S[T any] struct{}\nfunc (s S[error]) M() (x error) { return }", [None]),
        # A variable of an if clause shadows inside the clause only.
        ("func F() { if error := 1; error > 0 { _ = func() (x error) { return } }; _ = func() (y error) { return nil } }", [None, Kind.ERROR]),
        # A range variable.
        ("func F(xs []int) { for _, error := range xs { _ = func() (x error) { return }; _ = error } }", [None]),
        # A package-level function named error.
        ("func error() {}\nfunc F() (x error) { return }", [None]),
        # A local alias, followed.
        ("func F() { type E = error; _ = func() (x E) { return nil } }", [Kind.ERROR]),
        # A cycle of aliases does not compile; it is not followed forever.
        ("type E = Ctx\ntype Ctx = E\nfunc F(c Ctx) {}", [None]),
        # context.Context, unless `context` is a local name there.
        ('import "context"\nfunc F(c context.Context) { context := 1; _ = func(d context.Context) {}; _ = context }', [Kind.CONTEXT, None]),
        # Context by a dot import, unless declared locally.
        ('import . "context"\nfunc F(c Context) { var Context int; _ = func(d Context) {}; _ = Context }', [Kind.CONTEXT, None]),
        # An alias of the context type.
        ('import "context"\ntype Ctx = context.Context\nfunc F(c Ctx) {}', [Kind.CONTEXT]),
    ],
)
def test_resolution(src, kinds):
    assert _kinds("package p\n" + src + "\n") == kinds


def test_an_error_type_in_a_sibling_file_is_seen_but_not_its_aliases():
    """Only names reach the core from other files: a sibling `error` shadows; a sibling alias E is unknown, so not an error."""
    assert _kinds("package p\nfunc F() (x error) { return }\n", frozenset({"error"})) == [None]
    assert _kinds("package p\nfunc F() (x E) { return }\n") == [None]


def test_error_is_looked_for_in_its_declaration_forms(tmp_path):
    """`error` is in nearly every file: a file is scanned for its declaration only when it holds
    `type error`, `var error`, `const error`, `func error` or a group member line `\terror`."""
    candidates = import_name_candidates(FileInfo().backend)
    (tmp_path / "a.go").write_text("package p\n\nfunc F() error { return nil }\n")
    assert package_declarations(str(tmp_path), candidates) == frozenset()
    (tmp_path / "b.go").write_text("package p\n\ntype (\n\terror interface{ Code() int }\n)\n")
    package_declarations.cache_clear()
    assert package_declarations(str(tmp_path), candidates) == frozenset({"error"})


@pytest.mark.parametrize(
    "declaration",
    ["type error struct{}", "var error = 1", "const error = 1", "func error() {}", "var (\n\terror = 1\n)", "type (\n\terror int\n)"],
)
def test_each_declaration_form_of_error_is_found(tmp_path, declaration):
    (tmp_path / "a.go").write_text(f"package p\n\n{declaration}\n")
    (tmp_path / "b.go").write_text("package p\n\nfunc F() error {\n\terrors := 1\n\t_ = errors\n\treturn nil\n}\n")
    candidates = import_name_candidates(FileInfo().backend)
    assert package_declarations(str(tmp_path), candidates) == frozenset({"error"})


def test_a_sibling_gone_since_the_listing_costs_that_file_only(tmp_path, monkeypatch):
    """A file deleted between the directory listing and its stat (a checkout running meanwhile)
    leaves the other files' declarations found."""

    (tmp_path / "a.go").write_text("package p\n\nvar otel = 1\n")
    (tmp_path / "b.go").write_text("package p\n")
    listing = os.scandir

    def listed_then_deleted(path):
        entries = list(listing(path))
        (tmp_path / "b.go").unlink()
        return iter(entries)

    monkeypatch.setattr(os, "scandir", listed_then_deleted)  # package_scope's os
    package_declarations.cache_clear()
    assert package_declarations(str(tmp_path), frozenset({"otel"})) == frozenset({"otel"})


@pytest.mark.parametrize(
    ("declaration", "name"),
    [
        ("var errors = 1\n", "errors"),
        ("type trace struct{}\n", "trace"),
        ("func errors2() {}\n", "errors2"),
        ("var (\n\ttrace = 1\n)\n", "trace"),
        ("const (\n\ta, errors = 1, 2\n)\n", "errors"),
    ],
)
def test_a_sibling_declaring_a_common_import_name_is_found(tmp_path, declaration, name):
    """errors and trace are spelled in nearly every file: found by their declaration forms, not a substring."""
    (tmp_path / "a.go").write_text("package p\n\n" + declaration)
    (tmp_path / "b.go").write_text('package p\n\nimport "errors"\n\n// trace of errors.Is\nvar E = errors.New("x")\n')
    assert package_declarations(str(tmp_path), import_name_candidates(FileInfo().backend)) == {name}


@pytest.mark.parametrize(
    "declaration",
    ["func error() {}", "func\n\terror() {}", "func /* its name: */ error() {}", "type error int", "var (\n\tx    = 1\n\terror = 2\n)"],
)
def test_a_package_level_error_is_found_however_its_declaration_is_spelled(declaration: str):
    """The package level is searched where the bytes may declare the name (after `func`, or in a
    type, var or const declaration that spells it): a comment or a line break after `func` too."""
    src = f'package p\n\nimport "context"\n\n{declaration}\n\nfunc F(ctx context.Context) (x int, err error) {{ return }}\n'
    assert _kinds(src) == [Kind.CONTEXT, None]
    renamed = src.replace(" error(", " errorf(").replace("\terror(", "\terrorf(").replace(" error ", " errorx ").replace("\terror =", "\terrorx =")
    assert _kinds(renamed) == [Kind.CONTEXT, Kind.ERROR]


def test_a_package_level_declaration_is_found_past_nodes_that_only_spell_its_name():
    """Each top-level node that spells the name is asked, in order: a comment, a variable holding
    it in a string and a function using it come before the declaration that makes it a type."""
    before = '// error: ours\nvar errs = "error"\n\nfunc use() error { return nil }\n\n'
    src = f'package p\n\nimport "context"\n\n{before}type error int\n\nfunc F(ctx context.Context) (x int, err error) {{ return }}\n'
    assert _kinds(src) == [Kind.CONTEXT, None]
    assert _kinds(src.replace("type error int", "type errorx int")) == [Kind.CONTEXT, Kind.ERROR]


def test_a_local_declaration_is_found_where_the_block_spells_it():
    src = 'package p\n\nimport "context"\n\nfunc F() {\n\ta := 1\n\ttype context int\n\t_ = func(ctx context.Context) {}\n\t_ = a\n}\n'
    assert _kinds(src) == [None]
    assert _kinds(src.replace("type context int", "type other int")) == [Kind.CONTEXT]
