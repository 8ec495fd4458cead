"""The import path from go.mod, in every spelling of the module directive the go command accepts."""

from __future__ import annotations

import subprocess

import pytest

from goinstrument import gomod


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
