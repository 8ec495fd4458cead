"""Inserted code is laid out as gofmt lays it out, checked against the real gofmt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gotools import gofmt_bin

from goinstrument.backends.protocol import deferred_call

GOLDEN = Path(__file__).parent.parent / "fixtures" / "golden"


def _statement(size: int) -> str:
    """A call statement of exactly `size` bytes."""
    head, tail = 'span.SetAttributes(attribute.String("k", "', '"))'
    return head + "x" * (size - len(head) - len(tail)) + tail


def _gofmt(src: str) -> str:
    proc = subprocess.run([gofmt_bin()], input=src, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("size", [60, 94, 95, 140])
def test_deferred_call_is_laid_out_as_gofmt_does(size: int):
    """`func()` plus the body fits in 100 bytes: one line; else three (go/printer funcBody)."""
    lines = deferred_call(_statement(size))
    assert len(lines) == (1 if size <= 94 else 3)
    src = "package p\n\nfunc f() {\n" + "".join(f"\t{line}\n" for line in lines) + "}\n"
    for written in (src, src.replace("defer func() {\n\t\t", "defer func() { ").replace("\n\t}()", " }()")):
        assert _gofmt(written) == src  # gofmt turns either layout into ours


def test_golden_outputs_are_gofmt_clean():
    proc = subprocess.run([gofmt_bin(), "-l", *map(str, sorted(GOLDEN.glob("*.golden.go")))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
