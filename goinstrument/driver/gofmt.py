"""The real gofmt, for the one layout question we leave to it.

Opening up a one-line function literal can change how gofmt aligns the lines
around it (key/value pairs of a composite literal, specs of a var block,
trailing comments) by rules too heuristic to copy faithfully. When the input
was gofmt-clean, the output is passed through gofmt, which then changes only
that alignment. Without gofmt on PATH, the output is kept as it is.
"""

from __future__ import annotations

from functools import cache


@cache
def _gofmt() -> str | None:
    import shutil  # here: it imports bz2 and lzma, and most runs never re-lay out a file

    return shutil.which("gofmt")


def _run(src: bytes) -> bytes | None:
    binary = _gofmt()
    if binary is None:
        return None
    import subprocess  # here: most runs never re-lay out a file, and loading it costs a hook 5 ms

    try:
        proc = subprocess.run([binary], input=src, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def relayout(before: bytes, after: bytes) -> bytes:
    """`after` laid out by gofmt, if `before` was exactly what gofmt makes of it; else `after`."""
    if _run(before) != before:
        return after
    formatted = _run(after)
    return formatted if formatted is not None else after
