"""Real public modules' own test suites pass the same before and after instrumenting (issue 17's proof).

bench/proof.py does the work (README "Proof on real modules"): for each module
of its list, from the Go module proxy at a pinned version, it runs `go test -short`
of the module with the fixtures module's otel added, instruments a copy with this
working tree's goinstrument, requires go build and go vet to report nothing new,
runs the same tests again, and compares every package's result and failed tests.
One test per module, so a failure names the module; its report prints the table
and, for each package that differs, the tests that changed and their output.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from gotools import go_bin

pytestmark = pytest.mark.slow

_SPEC = importlib.util.spec_from_file_location("proof", Path(__file__).parent.parent / "bench" / "proof.py")
assert _SPEC and _SPEC.loader
proof = importlib.util.module_from_spec(_SPEC)
sys.modules["proof"] = proof  # dataclasses look their module up by name
_SPEC.loader.exec_module(proof)


@pytest.mark.parametrize("module", proof.MODULES, ids=lambda module: module.path)
def test_module_tests_pass_the_same_after_instrumenting(module, tmp_path):
    go_bin()  # skips (or fails under CI) without Go
    settings = proof.Settings(proof.otel_version(), [], parallel=2, timeout=proof.PER_PACKAGE_TIMEOUT, limit=proof.RUN_LIMIT)
    report = proof.prove(module, tmp_path, settings)
    table = proof.table([report], settings)
    print(f"\n{table}\n{module.ref}: {report.instrumented}")
    assert not report.problems, table
    assert ", 0 spans added" not in report.instrumented, f"nothing to prove on: {report.instrumented}"
    assert report.before.get("pass", 0) > 0, f"no package passes even before instrumenting:\n{table}"
    if not report.ok:
        pytest.fail(f"the module's tests end differently after instrumenting:\n{table}", pytrace=False)
