"""Real public modules' own test suites pass the same before and after instrumenting (issue 17's proof).

bench/proof.py does the work (docs/development.md, "Proof on real modules"): for each module
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


def test_each_way_a_package_ends_is_told_apart(tmp_path):
    """The verdicts the comparison rests on, from real `go test -json` runs of a small module."""
    go_bin()
    sources = {
        "go.mod": "module example.com/m\n\ngo 1.22\n",
        "ok/ok_test.go": 'package ok\n\nimport "testing"\n\nfunc TestOK(t *testing.T) {}\n',
        "bad/bad_test.go": 'package bad\n\nimport "testing"\n\nfunc TestGood(t *testing.T) {}\n\nfunc TestBad(t *testing.T) { t.Error("boom") }\n',
        "slow/slow_test.go": 'package slow\n\nimport (\n\t"testing"\n\t"time"\n)\n\nfunc TestSleep(t *testing.T) { time.Sleep(time.Minute) }\n',
        "broken/broken_test.go": 'package broken\n\nimport "testing"\n\nfunc TestX(t *testing.T) { var n int = "x"; _ = n }\n',
        "empty/empty.go": "package empty\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    packages = [f"example.com/m/{name}" for name in ("ok", "bad", "slow", "broken", "empty")]
    settings = proof.Settings("", [], parallel=2, timeout=3, limit=120)
    results, output = proof.run_tests(tmp_path, packages, "", settings)
    assert {p.rsplit("/", 1)[1]: r.describe() for p, r in results.items()} == {
        "ok": "pass",
        "bad": "fail (TestBad)",
        "slow": "timeout",
        "broken": "build-fail",
        "empty": "skip",
    }
    assert "TestSleep" in proof.failure_excerpt(output["example.com/m/slow"], results["example.com/m/slow"])
    assert "boom" in proof.failure_excerpt(output["example.com/m/bad"], results["example.com/m/bad"])
    # a run that outlives its wall-clock limit is killed, and what it was running counts as hung
    hung, _ = proof.run_tests(tmp_path, ["example.com/m/slow"], "", proof.Settings("", [], parallel=1, timeout=60, limit=8))
    assert hung["example.com/m/slow"].status == "hang"
