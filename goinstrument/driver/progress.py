"""A progress bar on stderr for long runs: one line that rewrites itself, on a terminal only.

Shown when a run has more than SHOWN_ABOVE files to process (fewer are done
before a bar could be read) and `RunOptions.progress` says stderr is a terminal
that wants it (`cli.build`: not with -q, not with --format json or github).
The line is erased when the run ends, so what is printed after it (problems,
the summary) reads as without it. Plain ASCII and two control sequences
(carriage return, erase to end of line): any terminal, any locale.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

SHOWN_ABOVE = 300  # files to process
REDRAW_EVERY = 0.1  # seconds, at most: a terminal redrawn faster only flickers
ERASE_LINE = "\r\x1b[K"


class Bar:
    """`[=======>      ]  120/350 files  34%`, redrawn as files are done."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.drawn_at = 0.0
        self._draw()

    def advance(self, n: int) -> None:
        self.done += n
        if self.done >= self.total or time.monotonic() - self.drawn_at >= REDRAW_EVERY:
            self._draw()

    def close(self) -> None:
        self.stream.write(ERASE_LINE)
        self.stream.flush()

    def _draw(self) -> None:
        count = f" {self.done:>{len(str(self.total))}}/{self.total} files {100 * self.done // self.total:3d}%"
        width = max(0, min(40, _columns(self.stream) - len(count) - 3))
        filled = width * self.done // self.total
        bar = f"[{'=' * filled}{'>' if filled < width else ''}{' ' * (width - filled - 1)}]" if width > 2 else ""
        self.stream.write(f"{ERASE_LINE}{bar}{count}")
        self.stream.flush()
        self.drawn_at = time.monotonic()


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80


@contextmanager
def progress_bar(total: int, wanted: bool, stream: TextIO | None = None) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the number of files just done, or None when no bar is shown."""
    if not wanted or total <= SHOWN_ABOVE:
        yield None
        return
    bar = Bar(total, stream or sys.stderr)
    try:
        yield bar.advance
    finally:
        bar.close()
