"""Real Go modules nobody here wrote: instrumented (tests included), then built and vetted.

The modules come from the Go module proxy at pinned versions; the instrumented
copy gets the real go.opentelemetry.io/otel added to its go.mod. `go vet`
compiles the test files too, so every instrumented _test.go is proven as well.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import nothing_changed, run_cli

pytestmark = pytest.mark.slow

OTEL_VERSION = "v1.47.0"
MODULES = ["golang.org/x/net@v0.38.0", "golang.org/x/sync@v0.12.0", "google.golang.org/grpc@v1.85.0"]


def _go(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    return subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True, env=env)


def _download(module: str, into: Path) -> Path:
    proc = _go("mod", "download", "-json", module)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    source = Path(json.loads(proc.stdout)["Dir"])
    copy = into / module.replace("/", "_").replace("@", "_")
    shutil.copytree(source, copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return copy


def _vet_complaints(root: Path) -> set[tuple[str, str]]:
    """go vet's findings as (file, message), without positions (instrumenting moves lines)."""
    proc = _go("vet", "./...", cwd=root)
    complaints = set()
    for line in (proc.stdout + proc.stderr).splitlines():
        match = re.match(r"^(\S+?\.go):\d+:\d+: (.*)$", line.strip())
        if match:
            complaints.add((match.group(1), match.group(2)))
    assert proc.returncode == 0 or complaints, proc.stdout + proc.stderr
    return complaints


@pytest.mark.parametrize("module", MODULES)
def test_real_module_builds_and_vets_after_instrumenting(module, tmp_path):
    root = _download(module, tmp_path)
    _go("get", f"go.opentelemetry.io/otel@{OTEL_VERSION}", cwd=root)
    vet_before = _vet_complaints(root)  # some modules' own tests already upset go vet
    proc = run_cli("--tests", "--no-cache", ".", cwd=root)
    assert proc.returncode == 0, proc.stderr
    summary = proc.stderr.strip().splitlines()[-1]
    print(f"\n{module}: {summary}")
    assert ", 0 spans added" not in summary
    built = _go("build", "./...", cwd=root)
    assert built.returncode == 0, f"go build failed:\n{built.stdout}{built.stderr}"
    new_complaints = _vet_complaints(root) - vet_before
    assert not new_complaints, f"go vet complains of the instrumented code: {sorted(new_complaints)}"
    again = run_cli("--tests", "--no-cache", ".", cwd=root)
    assert nothing_changed(again.stderr), again.stderr
