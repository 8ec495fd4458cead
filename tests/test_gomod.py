"""The import path from go.mod, in every spelling of the module directive the go command accepts."""

from __future__ import annotations

import subprocess

import pytest

from goinstrument.driver import gomod


@pytest.mark.parametrize(
    "text",
    [
        "module example.com/x\n\ngo 1.22\n",
        'module "example.com/x"\n',
        "module `example.com/x`\n",
        "// a comment\nmodule   example.com/x // trailing\n",
        "module (\n\texample.com/x\n)\n\ngo 1.22\n",
        "module ( // block\n\n  example.com/x\n)\n",
    ],
    ids=["plain", "quoted", "backquoted", "comments", "block", "block-blank-line"],
)
def test_module_path_in_every_spelling(tmp_path, text):
    (tmp_path / "go.mod").write_text(text)
    (tmp_path / "sub").mkdir()
    gomod._module_of.cache_clear()
    assert gomod.import_path(tmp_path / "a.go") == "example.com/x"
    assert gomod.import_path(tmp_path / "sub" / "a.go") == "example.com/x/sub"


def test_the_go_command_reads_the_block_form_the_same_way(tmp_path):
    (tmp_path / "go.mod").write_text("module (\n\texample.com/x\n)\n\ngo 1.22\n")
    proc = subprocess.run(["go", "list", "-m"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    gomod._module_of.cache_clear()
    assert gomod.import_path(tmp_path / "a.go") == proc.stdout.strip()


def test_required_modules_single_and_in_blocks():
    text = """module example.com/m

go 1.22

require example.com/single v1.0.0 // a comment
require "example.com/quoted" v1.0.0
require (
\tgo.opentelemetry.io/otel v1.30.0
\t// a comment line
\tgithub.com/go-logr/logr v1.4.2 // indirect
)
require ( example.com/oneline v1.0.0 )
"""
    # logr is only `// indirect`: a direct import of it would need `go get` (go.sum may lack what it needs).
    assert gomod.required_modules(text) == {"example.com/single", "example.com/quoted", "go.opentelemetry.io/otel", "example.com/oneline"}


def test_an_indirect_requirement_is_no_requirement(tmp_path):
    """`go get go.opentelemetry.io/otel/trace` leaves otel `// indirect`: the spans' import then fails
    to build (go.sum lacks otel's own dependencies) until `go mod tidy` makes it direct (a `go get` of
    the module leaves the comment as it is: cold trial). The last value says it is listed so."""
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n\nrequire go.opentelemetry.io/otel v1.47.0 // indirect\n")
    (tmp_path / "a.go").write_text("package m\n")
    assert gomod.missing_requirements([str(tmp_path / "a.go")], ("go.opentelemetry.io/otel",)) == [
        (str(tmp_path), "example.com/m", "go.opentelemetry.io/otel", gomod.INDIRECT)
    ]


def test_a_module_of_its_own_inside_anothers_path_is_required_where_a_file_imports_it(tmp_path):
    """go.opentelemetry.io/otel/trace is a module of its own: a tidy go.mod lists it `// indirect`
    beside a direct otel until the code imports it (a server span's trace.WithSpanKind), and then
    `go mod tidy` changes go.mod (cold trial); not listed at all, the build fails, and tidy lists it
    (a `go get` of it would upgrade otel: a cold review). A file that does not import it needs
    nothing; the bytes given for a file are read in place of the disk's (a staged blob's)."""
    otel, trace = ("go.opentelemetry.io/otel",), ("go.opentelemetry.io/otel/trace",)
    requires = "module example.com/m\n\ngo 1.22\n\nrequire go.opentelemetry.io/otel v1.47.0\n"
    (tmp_path / "go.mod").write_text(requires + "\nrequire (\n\tgo.opentelemetry.io/otel/trace v1.47.0 // indirect\n)\n")
    imports_trace = 'package m\n\nimport (\n\t"context"\n\n\toteltrace "go.opentelemetry.io/otel/trace"\n)\n\nvar _ oteltrace.Span\n'
    (tmp_path / "a.go").write_text(imports_trace)
    later = 'const s = `\nimport "go.opentelemetry.io/otel/trace"`\n'  # no import: a string past the imports
    (tmp_path / "b.go").write_text('package m\n\nimport "go.opentelemetry.io/otel"\n\nvar _ = otel.Tracer\n\n' + later)
    a, b = str(tmp_path / "a.go"), str(tmp_path / "b.go")
    gomod._module_of.cache_clear()
    assert gomod.missing_requirements([b], otel, trace, trace) == []
    assert gomod.missing_requirements([b, a], otel, trace, trace) == [(str(tmp_path), "example.com/m", trace[0], gomod.INDIRECT)]
    assert gomod.missing_requirements([a], otel, trace, trace, {a: (tmp_path / "b.go").read_bytes()}) == []  # the bytes given
    assert gomod.missing_requirements([b], otel, trace, trace, {b: imports_trace.encode()}) != []
    (tmp_path / "go.mod").write_text(requires)
    assert gomod.missing_requirements([a], otel, trace, trace) == [(str(tmp_path), "example.com/m", trace[0], gomod.IMPLIED)]
    assert gomod.missing_requirements([a], otel, trace) == []  # not known to be a module of its own: otel's
    (tmp_path / "go.mod").write_text(requires + "require go.opentelemetry.io/otel/trace v1.47.0\n")
    assert gomod.missing_requirements([a], otel, trace, trace) == []
    (tmp_path / "go.mod").write_text("module example.com/m\n")  # the first lines' module first: one line a module
    assert gomod.missing_requirements([a], otel, trace, trace) == [(str(tmp_path), "example.com/m", otel[0], gomod.ABSENT)]


@pytest.mark.parametrize(
    ("source", "paths"),
    [
        ('package m\n\nimport "a.b/c"\n', ["a.b/c"]),
        ('package m\nimport (\n\tx "a.b/x"\n\t_ "a.b/y"\n\t. "a.b/z"\n\tразмер "a.b/u"\n)\n', ["a.b/x", "a.b/y", "a.b/z", "a.b/u"]),
        ('package m; import "a"; import ("b"; c "c")\nimport `d`\nfunc f() {}\nimport "e"\n', ["a", "b", "c", "d"]),
        # a cgo preamble is a comment: its C (`const`, `type` at a line's start) is no declaration of Go's
        ('// Package m.\npackage m\n\n/*\nconst char *s = "x";\ntypedef int t;\n*/\nimport "C"\n\nimport (\n\t"a.b/c" // why\n)\n', ["C", "a.b/c"]),
        ('/* type\nfunc */ package /* a */ m // b\nimport /* c */ (\n\t// "a.b/no"\n\t"a.b/yes"\n)\n', ["a.b/yes"]),
        ('package m\n\nvar s = `\nimport "a.b/c"`\n', []),
        ('package m\n\nimport "a.b/unterminated\n', []),
        ('\ufeffpackage m\n\nimport "a.b/c"\n', ["a.b/c"]),
        ("// no package clause\n", []),
        ("", []),
    ],
    ids=["one", "named", "semicolons", "cgo-preamble", "comments", "a-string-later", "broken", "byte-order-mark", "no-package", "empty"],
)
def test_imported_paths_follow_gos_grammar(source, paths):
    assert gomod.imported_paths(source.encode()) == paths


def test_missing_requirements_once_per_module(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a/go.mod").write_text("module example.com/a\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b/go.mod").write_text("module example.com/b\n\nrequire (\n\tgo.opentelemetry.io/otel v1.30.0\n)\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c/go.mod").write_text("module go.opentelemetry.io/otel\n")  # provides it itself
    gomod._module_of.cache_clear()
    files = [str(tmp_path / p) for p in ("a/x.go", "a/sub/y.go", "b/x.go", "c/x.go")]
    otel = ("go.opentelemetry.io/otel",)
    assert gomod.missing_requirements(files, otel) == [(str(tmp_path / "a"), "example.com/a", "go.opentelemetry.io/otel", gomod.ABSENT)]
    dd = ("github.com/DataDog/dd-trace-go/v2/ddtrace/tracer",)
    (tmp_path / "b/go.mod").write_text("module example.com/b\n\nrequire github.com/DataDog/dd-trace-go/v2 v2.0.0\n")
    assert gomod.missing_requirements(files[2:3], dd) == []


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("module example.com/x\n\ngo 1.22\n", (1, 22)),
        ("module example.com/x\n\ngo 1.21.3\n", (1, 21)),
        ("module example.com/x\ngo 1.23rc1\n", (1, 23)),
        ("module example.com/x\n  go\t1.22 // trailing\n", (1, 22)),
        ("module example.com/x\n\ntoolchain go1.24.0\n", None),
        ("module example.com/x\n// go 1.22\n", None),
        ("module example.com/x\n", None),
    ],
    ids=["plain", "patch", "release-candidate", "spaced", "toolchain-only", "comment", "none"],
)
def test_go_version_from_the_go_line(tmp_path, text, version):
    """The language version --http-handlers reads (Request.Pattern is Go 1.22's), for files of the module and outside one."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "go.mod").write_text(text)
    (tmp_path / "m" / "sub").mkdir()
    gomod._module_of.cache_clear()
    gomod._go_version_in.cache_clear()
    assert gomod.go_version(text.encode()) == version
    assert gomod.go_version_of(tmp_path / "m" / "sub" / "a.go") == version
    assert gomod.go_version_of(tmp_path / "a.go", module=None) is None
    assert gomod.go_version_of(tmp_path / "elsewhere.go", module=(str(tmp_path / "m"), "example.com/x")) == version
