"""Values the core and the runner hand back: never exceptions escaping a batch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based, in bytes, as Go reports columns


@dataclass(frozen=True)
class Finding:
    """What --check reports of one function: it has no span, or its span is out of date."""

    path: str
    pos: Position
    name: str  # span name: Func, Type.Method, Outer.func1
    message: str = "no span"  # or `span is out of date (name "Old")`: what a run would change

    def text(self) -> str:
        return f"{self.path}:{self.pos.line}:{self.pos.col}: {self.name}: {self.message}"


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
    skipped: str | None = None  # why the file was left alone on purpose
    spans_added: int = 0
    spans_removed: int = 0
    # A one-line function literal was opened up: gofmt may align its neighbours differently.
    relayout: bool = False

    @property
    def changed(self) -> bool:
        return self.problem is None and self.output != self.source


@dataclass
class Summary:
    """What a whole run did, for the exit code and the closing message."""

    files_seen: int = 0
    files_changed: int = 0
    spans_added: int = 0
    spans_removed: int = 0
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
