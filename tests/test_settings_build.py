"""The fixtures module instrumented with non-default settings still builds, vets and is gofmt-clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from gotools import copy_module, go_build_vet, gofmt_l

pytestmark = pytest.mark.slow

GOMOD_FIXTURE = Path(__file__).parent.parent / "fixtures" / "gomod"


@pytest.mark.parametrize(
    "flags",
    [
        ["--attributes", "args,results,code"],
        ["--span-name", "{package}.{type}.{func}", "--no-name-results", "--min-statements", "2"],
        ["--line-directives"],
    ],
    ids=["attributes", "naming", "line-directives"],
)
def test_fixtures_module_builds_with(flags, tmp_path):
    copy = copy_module(GOMOD_FIXTURE, tmp_path)
    proc = run_cli(*flags, ".", cwd=copy)
    assert proc.returncode == 0, proc.stderr
    go_build_vet(copy, context=" ".join(flags))
    if "--line-directives" not in flags:  # build-time output is not meant to be committed
        assert gofmt_l(copy) == []
    again = run_cli(*flags, "--no-cache", ".", cwd=copy)
    assert "0 of" in again.stderr.strip().splitlines()[-1], again.stderr
