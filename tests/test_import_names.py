"""An import of ours whose name another file of the package comes to declare is renamed, its uses following.

Go forbids a name that is both imported in one file and declared at package
level in another. When a sibling file later declares `otel` or `codes`, the
next run gives the import in this file a fresh name and renames every use of
it in the file (ours and the code's own), so the package builds again. The
real-Go proof is test_go_toolchain.py's test_a_name_declared_later_re_aliases_our_imports.
"""

from __future__ import annotations

from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.options import RewriteOptions

SRC = b"""package p

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
)

var provider = otel.GetTracerProvider

func Save(ctx context.Context) (err error) {
	_, span := otel.Tracer("t").Start(ctx, "Save")
	defer span.End()
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
	}()
	return nil
}

func Local(ctx context.Context) int {
	codes := map[string]int{}
	return codes["x"]
}
"""


def _run(src: bytes, siblings: set[str]) -> bytes:
    return instrument(src, RewriteOptions(), FileInfo("f.go", "t", sibling_names=frozenset(siblings))).output


def test_imports_whose_names_a_sibling_declares_are_renamed_with_every_use():
    out = _run(SRC, {"otel", "codes"}).decode()
    assert '\totelapi "go.opentelemetry.io/otel"\n\totelcodes "go.opentelemetry.io/otel/codes"\n' in out
    assert "var provider = otelapi.GetTracerProvider" in out  # the code's own use follows
    assert 'otelapi.Tracer("t").Start(ctx, "Save")' in out and "span.SetStatus(otelcodes.Error, err.Error())" in out
    assert 'otelapi.Tracer("t").Start(ctx, "Local")' in out  # the new span takes the new name
    assert '\tcodes := map[string]int{}\n\treturn codes["x"]' in out  # a local of that name is not the import
    assert "otel." not in out.replace("otelapi.", "") and "codes." not in out.replace("otelcodes.", "")
    assert _run(out.encode(), {"otel", "codes"}).decode() == out


def test_only_the_clashing_import_is_renamed():
    out = _run(SRC, {"codes"}).decode()
    assert '\t"go.opentelemetry.io/otel"\n\totelcodes "go.opentelemetry.io/otel/codes"\n' in out
    assert "var provider = otel.GetTracerProvider" in out


def test_an_aliased_import_takes_the_next_free_name():
    src = SRC.replace(b'\t"go.opentelemetry.io/otel/codes"', b'\totelcodes "go.opentelemetry.io/otel/codes"').replace(
        b"codes.Error", b"otelcodes.Error"
    )
    out = _run(src, {"otelcodes"}).decode()
    # `codes` is a local in Local, `otelcodes` the sibling's: the next free name is otelcodes1.
    assert '\totelcodes1 "go.opentelemetry.io/otel/codes"\n' in out and "span.SetStatus(otelcodes1.Error, err.Error())" in out


def test_no_sibling_declares_them_no_import_is_renamed():
    """The file still changes (Local gets its span, Save's error block is brought up to date): only the names stay."""
    out = _run(SRC, set()).decode()
    imports = [line for line in out.split("\n)\n", 1)[0].splitlines() if "go.opentelemetry.io" in line]
    assert imports[:2] == ['\t"go.opentelemetry.io/otel"', '\t"go.opentelemetry.io/otel/codes"']  # not given a name
    assert [line.split()[0] for line in imports[2:]] == ["semconv"]  # the name every run gives semconv's versioned path
    assert "var provider = otel.GetTracerProvider\n" in out
    assert 'otel.Tracer("t").Start(ctx, "Local")' in out and "span.SetStatus(codes.Error, err.Error())" in out


def test_another_package_under_a_sibling_name_is_not_ours_to_rename():
    src = SRC.replace(b'\t"go.opentelemetry.io/otel/codes"\n', b'\t"go.opentelemetry.io/otel/codes"\n\t"google.golang.org/grpc/status"\n')
    src = src.replace(b"var provider", b"var _ = status.Code\n\nvar provider")
    assert b'\t"google.golang.org/grpc/status"\n' in _run(src, {"status"})


def test_a_name_is_taken_where_an_identifier_of_the_file_spells_it():
    """FileFacts.has_identifier looks a name up where the bytes spell it: the same answer as the
    identifiers' own text (in a comment, a string or a field name, a name is not one), and on an
    edited file's tree without the whole query (its index maps only the structure)."""
    from pathlib import Path

    from goinstrument.engine.edits import insert
    from goinstrument.engine.facts import FileFacts
    from goinstrument.engine.go import syntax

    words = [b"otel", b"codes", b"provider", b"GetTracerProvider", b"Error", b"err", b"ctx", b"x", b"span", b"string", b"int", b"p", b"Local"]
    golden = sorted(Path(__file__).parent.parent.joinpath("fixtures", "golden").glob("*.go"))
    for src in [SRC, *(path.read_bytes() for path in golden)]:
        root = syntax.parse(src).root_node
        facts = FileFacts.read(src, root)
        index = syntax.Index(root)
        names = {syntax.raw(n) for n in index.identifiers}
        for word in words + [syntax.raw(n) for n in index.identifiers[:20]]:
            assert facts.has_identifier(word) == (word in names), word
            for func in index.functions[:10]:
                within = {syntax.raw(n) for n in index.identifiers if func.start_byte <= n.start_byte < func.end_byte}
                assert facts.has_identifier(word, func.start_byte, func.end_byte) == (word in within), word
    syntax.functions(syntax.parse(SRC).root_node)  # SRC's tree and index at hand: the edited file's is mapped from them
    at = SRC.index(b"\treturn codes")
    edited = SRC[:at] + b"\totel := 1\n\t_ = otel\n" + SRC[at:]
    syntax.derived(edited, SRC, [insert(at, b"\totel := 1\n\t_ = otel\n")])
    root = syntax.parse(edited).root_node
    local = syntax.functions(root)[-1]
    facts = FileFacts.read(edited, root)
    assert facts.has_identifier(b"otel", local.start_byte, local.end_byte) and not facts.has_identifier(b"provider", local.start_byte, local.end_byte)
    assert facts.has_identifier(b"codes") and not facts.has_identifier(b"Tracer")  # Tracer: a field name
    assert not syntax.index(root).has("identifier")


def test_a_line_continuing_an_expression_in_a_var_group_declares_nothing(tmp_path):
    """gofmt indents a group's members by one tab; a deeper line continues an expression, and its
    first word (`strings` of `strings.Join`) is no declaration. Read as one, the file's own
    `strings` import looked taken by the package: renamed to stdstrings on one run and back on
    the next (grpc's benchmark/benchmain, a real-module test)."""
    from goinstrument import cli
    from goinstrument.driver.package_scope import declared_names

    src = (
        b'package main\n\nimport (\n\t"context"\n\t"fmt"\n\t"strings"\n)\n\nvar (\n\tmodes = flag(\n'
        b'\t\tfmt.Sprintf("one of %v", strings.Join(all, ", ")))\n\tother, more = 1,\n\t\t2\n)\n\n'
        b'var all = []string{"a"}\n\nfunc flag(s string) string { return s }\n\n'
        b"func Run(ctx context.Context) string { return strings.ToUpper(modes) }\n"
    )
    assert declared_names(src) >= {"modes", "other", "more", "all", "flag", "Run"}
    assert "strings" not in declared_names(src) and "fmt" not in declared_names(src)
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    main = tmp_path / "main.go"
    main.write_bytes(src)
    assert cli.main(["-q", "--no-cache", str(tmp_path)]) == 0
    first = main.read_bytes()
    assert b'\t"strings"\n' in first and b"stdstrings" not in first
    assert cli.main(["-q", "--no-cache", str(tmp_path)]) == 0
    assert main.read_bytes() == first
