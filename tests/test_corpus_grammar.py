"""Every file of the standard library that gofmt accepts is parsed (issue: valid Go rejected).

Each .go file under $(go env GOROOT)/src outside testdata/ is parsed as the
tool parses it; the files rejected as "does not parse" are handed to
`gofmt -e -l`, and none of them may be one gofmt accepts.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gotools import go_env, gofmt_bin

from goinstrument.engine.go import syntax

pytestmark = pytest.mark.slow


def test_no_file_gofmt_accepts_is_rejected():
    root = Path(go_env("GOROOT"), "src")
    rejected, seen = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "testdata"]
        for name in filenames:
            if name.endswith(".go"):
                seen += 1
                path = Path(dirpath, name)
                if syntax.first_error(syntax.parse(path.read_bytes()).root_node) is not None:
                    rejected.append(path)
    assert seen > 5000
    accepted = []
    for path in rejected:
        proc = subprocess.run([gofmt_bin(), "-e", "-l", str(path)], capture_output=True, text=True)
        if proc.returncode == 0 and not proc.stderr:
            accepted.append(str(path.relative_to(root)))
    assert accepted == [], f"{len(accepted)} files gofmt accepts are rejected as not parsing"
