"""Values the core and the driver hand back: never exceptions escaping a batch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based, in bytes, as Go reports columns


@dataclass(frozen=True)
class Finding:
    """A function that should carry a span and has none (what --check reports)."""

    path: str
    pos: Position
    name: str  # span name: Func, Type.Method, Outer.func1

    def text(self) -> str:
        return f"{self.path}:{self.pos.line}:{self.pos.col}: {self.name}: no span"


@dataclass(frozen=True)
class Problem:
    """A file that could not be processed; it is left untouched."""

    path: str
    pos: Position
    message: str

    def text(self) -> str:
        return f"{self.path}:{self.pos.line}:{self.pos.col}: {self.message}"


@dataclass(frozen=True)
class Result:
    """The outcome of instrumenting one source."""

    source: bytes
    output: bytes
    findings: tuple[Finding, ...] = ()
    problem: Problem | None = None
    spans_added: int = 0
    spans_removed: int = 0
    # A one-line function literal was opened up: gofmt may align its neighbours differently.
    relayout: bool = False
    # --remove of the output gives what --remove of the source gives: no parameter or result was
    # named for a span, no one-line body opened up (--remove leaves those as they are).
    reversible: bool = True

    @property
    def changed(self) -> bool:
        return self.problem is None and self.output != self.source


@dataclass(frozen=True)
class Outcome:
    """How one file (a working-tree file or a staged blob) ends: `process` gives one for every file.

    Exactly one of: new bytes (`output`, maybe equal to `source`) with their findings,
    a problem (the file is left untouched), or a skip reason (left alone on purpose).
    """

    path: str  # as messages show it
    source: bytes = b""
    output: bytes = b""
    findings: tuple[Finding, ...] = ()
    problem: Problem | None = None
    skipped: str | None = None  # why the file was left alone on purpose: "generated file", ...
    spans_added: int = 0
    spans_removed: int = 0

    @property
    def changed(self) -> bool:
        return self.problem is None and self.skipped is None and self.output != self.source


@dataclass
class Summary:
    """What a whole run did, for the exit code and the closing message."""

    files_seen: int = 0
    files_changed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), for -v and the count
    spans_added: int = 0
    spans_removed: int = 0
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # said, but not a failure of the run
