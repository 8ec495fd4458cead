"""Golden pairs: fixtures/golden/NAME.input.go becomes NAME.golden.go; fixtures/unchanged/ stays as it is.

Each input starts with a comment saying what it shows. An input whose first
line is `// args: ...` is run with those command-line flags; one with a line
`// go.mod: go 1.23` in its module of that Go version (none: outside a module). Set
GOINSTRUMENT_UPDATE_GOLDEN=1 to rewrite the .golden.go files (then read the diff).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import go_version_line

from goinstrument.backends.loader import load_backend
from goinstrument.cli import parser, rewrite_options
from goinstrument.engine.behaviour import first_comparison
from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.options import RewriteOptions

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOLDEN = FIXTURES / "golden"
UNCHANGED = FIXTURES / "unchanged"
TRACER = "example.com/golden"


def options_for(src: bytes) -> RewriteOptions:
    """The options a case's `// args:` line asks for."""
    first = src.split(b"\n", 1)[0].decode()
    args = shlex.split(first.removeprefix("// args:")) if first.startswith("// args:") else []
    return rewrite_options(parser().parse_args(args))


def _run(path: Path, src: bytes) -> bytes:
    settings = options_for(src)
    name = path.name.replace(".golden.go", ".input.go")  # the same file, as far as code.file.path goes
    # The case is a package of one file: whether it compares contexts is read from it, as from a package's files.
    comparison = first_comparison([(name, src)])
    backend = load_backend(settings.backend)
    info = FileInfo(name, TRACER, TRACER, backend=backend, context_comparison=comparison, module_path=TRACER, go_version=go_version_line(src))
    result = instrument(src, settings, info)
    assert result.problem is None, result.problem.text()
    return result.output


def _cases(directory: Path, pattern: str) -> list[Any]:
    return [pytest.param(p, id=p.name.split(".")[0]) for p in sorted(directory.glob(pattern))]


@pytest.mark.parametrize("case", _cases(GOLDEN, "*.input.go"))
def test_golden(case: Path):
    golden = case.with_name(case.name.replace(".input.go", ".golden.go"))
    output = _run(case, case.read_bytes())
    if os.environ.get("GOINSTRUMENT_UPDATE_GOLDEN"):
        golden.write_bytes(output)
    assert output.decode() == golden.read_text()


@pytest.mark.parametrize("case", _cases(GOLDEN, "*.golden.go"))
def test_golden_output_is_stable(case: Path):
    """A second run over the output changes nothing."""
    src = case.read_bytes()
    assert _run(case, src).decode() == src.decode()


@pytest.mark.parametrize("case", _cases(UNCHANGED, "*.go"))
def test_left_alone(case: Path):
    src = case.read_bytes()
    assert _run(case, src).decode() == src.decode()


def test_every_golden_input_has_an_output():
    inputs = {p.name.replace(".input.go", "") for p in GOLDEN.glob("*.input.go")}
    outputs = {p.name.replace(".golden.go", "") for p in GOLDEN.glob("*.golden.go")}
    assert inputs == outputs


# goimports -local PREFIX, for the import-grouping cases: each golden output is left as it is
# (the inputs were not: the otel imports joined the module's own group before).
LOCAL_PREFIXES = {
    "imports_local_group": "example.com/golden",
    "imports_local_third_party": "example.com/golden",
    "imports_local_prefixes_configured": "github.com/acme/,example.com/other",
}


@pytest.mark.parametrize("case, prefix", list(LOCAL_PREFIXES.items()))
def test_import_groups_satisfy_goimports_local(case: str, prefix: str, tmp_path: Path):
    import subprocess

    from gotools import describe, go_environ, goimports_bin

    file = tmp_path / f"{case}.go"
    file.write_bytes((GOLDEN / f"{case}.golden.go").read_bytes())
    proc = subprocess.run([goimports_bin(), "-local", prefix, "-l", file.name], cwd=tmp_path, capture_output=True, text=True, env=go_environ())
    assert proc.returncode == 0 and not proc.stderr, describe(proc, tmp_path)
    assert proc.stdout == "", describe(
        subprocess.run([goimports_bin(), "-local", prefix, "-d", file.name], cwd=tmp_path, capture_output=True, text=True, env=go_environ()), tmp_path
    )
