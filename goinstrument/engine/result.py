"""Values the core and the driver hand back: never exceptions escaping a batch."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

from goinstrument.engine.edits import Edit

# --- names as messages show them ------------------------------------------------------------------

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def octal_byte(char: str) -> str:
    """A lone surrogate (os.fsdecode's stand-in for a byte that is not UTF-8) as git writes the byte: `\\351`."""
    return f"\\{ord(char) - 0xDC00:03o}"


_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def printable(text: str) -> str:
    """`text` (a message that may hold a file name) with each byte that is not UTF-8 as `\\351`."""
    return _NOT_UTF8.sub(lambda found: octal_byte(found[0]), text)


def _needs_quoting(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or code == 0x7F or char in '"\\' or 0xDC80 <= code <= 0xDCFF


def quote_path(path: str) -> str:
    """A file name as every output shows it: as is, or quoted as git quotes it (core.quotePath).

    A name holds any bytes but NUL and "/"; Python has it as a str whose bytes that are
    not UTF-8 are lone surrogates (os.fsdecode). Such a byte, a control character, a
    double quote or a backslash makes the name shown in double quotes, C-style: `\\t`,
    `\\n`, `\\"`, `\\\\`, and octal `\\351` for the other bytes, so that the output is
    UTF-8 and one name stays on one line. UTF-8 letters stay as they are (git's
    `core.quotePath=false`); `git apply` reads the quoted form in patch headers.
    """
    if not any(_needs_quoting(char) for char in path):
        return path
    out = []
    for char in path:
        if not _needs_quoting(char):
            out.append(char)
        elif char in _C_ESCAPES:
            out.append(_C_ESCAPES[char])
        else:
            out.append(octal_byte(char) if 0xDC80 <= ord(char) <= 0xDCFF else f"\\{ord(char):03o}")
    return '"' + "".join(out) + '"'


class Position(NamedTuple):
    line: int  # 1-based
    col: int  # 1-based, in bytes, as Go reports columns


class Finding(NamedTuple):
    """What --check reports of one function: it has no span, or its span is out of date."""

    path: str
    pos: Position
    name: str  # span name: Func, Type.Method, Outer.func1
    message: str = "no span"  # or `span is out of date (name "Old")`: what a run would change

    def text(self) -> str:
        return f"{quote_path(self.path)}:{self.pos.line}:{self.pos.col}: {self.name}: {self.message}"


class Problem(NamedTuple):
    """A file that could not be processed; it is left untouched."""

    path: str
    pos: Position
    message: str

    def text(self) -> str:
        return f"{quote_path(self.path)}:{self.pos.line}:{self.pos.col}: {self.message}"


NO_SPAN = "no span"  # a finding's message for a function without a span (the default)


# Why a function without a span is left alone, by kind: the key JSON uses, and the words the
# coverage line and -v use.
EXCLUSIONS = {
    "directive": "by directive",  # //instrument:exclude
    "settings": "by settings",  # --no-all, --no-literals, --min-statements
    "caller_span": "annotates its caller's span",  # behaviour.reads_callers_span
    "pragma": "runtime pragma",  # behaviour.runtime_pragma: //go:nosplit, //go:norace, ...
}


@dataclass(frozen=True)
class Coverage:
    """Of the functions that take a context (and have a body): how many carry a span at the top
    of their body (ours, go-instrument's or a person's), and how many, without one, are left alone
    (`excluded`, by kind in `excluded_by`: see EXCLUSIONS). The rest, `without_span`, are the
    functions --check reports as having no span."""

    functions: int = 0
    with_span: int = 0
    excluded: int = 0
    excluded_by: tuple[tuple[str, int], ...] = ()  # (kind, count) of the excluded, kinds in EXCLUSIONS' order

    @staticmethod
    def one(has_span: bool | None, excluded: str | None = None) -> Coverage:
        """One function: `has_span` None when it takes no context (it is not counted); `excluded`
        the kind of exclusion (EXCLUSIONS) that leaves it alone, if it has no span."""
        if has_span is None:
            return Coverage()
        if has_span or excluded is None:
            return Coverage(1, int(has_span))
        return Coverage(1, 0, 1, ((excluded, 1),))

    def __add__(self, other: Coverage) -> Coverage:
        kinds = dict(self.excluded_by)
        for kind, n in other.excluded_by:
            kinds[kind] = kinds.get(kind, 0) + n
        by = tuple(sorted(kinds.items(), key=lambda item: list(EXCLUSIONS).index(item[0]) if item[0] in EXCLUSIONS else len(EXCLUSIONS)))
        return Coverage(self.functions + other.functions, self.with_span + other.with_span, self.excluded + other.excluded, by)

    @property
    def without_span(self) -> int:
        return self.functions - self.with_span - self.excluded

    @property
    def percent(self) -> float:
        """The share of functions with a span; 100 when no function takes a context."""
        return 100.0 * self.with_span / self.functions if self.functions else 100.0

    def below(self, threshold: float) -> bool:
        """Whether the coverage is below `threshold` percent (exactly: no rounding)."""
        return self.functions > 0 and self.with_span * 100 < threshold * self.functions


class Result(NamedTuple):
    """The outcome of instrumenting one source."""

    source: bytes
    output: bytes
    findings: tuple[Finding, ...] = ()
    problem: Problem | None = None
    spans_added: int = 0
    spans_removed: int = 0
    spans_updated: int = 0  # spans of ours brought up to date (renamed, re-rendered, migrated)
    # A one-line function literal was opened up: gofmt may align its neighbours differently.
    relayout: bool = False
    # --remove of the output gives what --remove of the source gives: no parameter or result was
    # named for a span, no one-line body opened up (--remove leaves those as they are).
    reversible: bool = True
    coverage: Coverage = Coverage()  # of the source as read
    # The byte edits that make `output` of `source` (edits.apply), when that is all that happened:
    # the stability check then parses the output incrementally. Empty when unknown.
    edits: tuple[Edit, ...] = ()
    # Functions left without a span because one would change what they do (message `excluded (why)`), for -v.
    excluded: tuple[Finding, ...] = ()

    @property
    def changed(self) -> bool:
        return self.problem is None and self.output != self.source


class Outcome(NamedTuple):
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
    coverage: Coverage = Coverage()
    excluded: tuple[Finding, ...] = ()  # Result.excluded, for -v
    notes: tuple[Problem, ...] = ()  # why the file's spans are as they are (a package's rule), for -v and --check
    spans_updated: int = 0

    @property
    def changed(self) -> bool:
        return self.problem is None and self.skipped is None and self.output != self.source


class FileReport(Protocol):
    """What Summary.add counts: an Outcome, or run.Done (an Outcome once its output is applied)."""

    @property
    def path(self) -> str: ...
    @property
    def changed(self) -> bool: ...
    @property
    def findings(self) -> tuple[Finding, ...]: ...
    @property
    def problem(self) -> Problem | None: ...
    @property
    def skipped(self) -> str | None: ...
    @property
    def spans_added(self) -> int: ...
    @property
    def spans_removed(self) -> int: ...
    @property
    def coverage(self) -> Coverage: ...
    @property
    def excluded(self) -> tuple[Finding, ...]: ...
    @property
    def notes(self) -> tuple[Problem, ...]: ...
    @property
    def spans_updated(self) -> int: ...


@dataclass
class Summary:
    """What a whole run did, for the exit code and the closing message."""

    files_seen: int = 0
    files_changed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), for -v and the count
    spans_added: int = 0
    spans_removed: int = 0
    spans_updated: int = 0
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # said, but not a failure of the run
    coverage: dict[str, Coverage] = field(default_factory=dict)  # per package: the directory of its files, as shown
    errors: list[str] = field(default_factory=list)  # what stopped the run before any file (a git error)
    excluded: list[Finding] = field(default_factory=list)  # functions a span would change, left without one
    notes: list[Problem] = field(default_factory=list)  # each once: a package's rule, where it comes from
    notices: list[str] = field(default_factory=list)  # said on stderr after the report: what to do next (go get ...)

    def add(self, file: FileReport) -> None:
        """Count one file's Outcome (or what the run made of it): the one place a file is counted."""
        self.files_seen += 1
        self.findings.extend(file.findings)
        if file.problem is not None:
            self.problems.append(file.problem)
        if file.skipped is not None:
            self.skipped.append((file.path, file.skipped))
        self.files_changed += file.changed
        self.spans_added += file.spans_added if file.changed else 0
        self.spans_removed += file.spans_removed if file.changed else 0
        self.excluded.extend(file.excluded)
        self.notes.extend(n for n in file.notes if n not in self.notes)
        self.spans_updated += file.spans_updated if file.changed else 0
        if file.coverage.functions:
            package = posixpath.dirname(file.path) or "."
            self.coverage[package] = self.coverage.get(package, Coverage()) + file.coverage

    @property
    def total_coverage(self) -> Coverage:
        return sum(self.coverage.values(), Coverage())


class IndexDirectory(NamedTuple):
    """A directory as the index holds it: where a staged blob's package lives (its siblings are
    the staged blobs, not the working-tree files) and the module its go.mod files name."""

    git_dir: str  # the repository whose objects hold the blobs
    path: str  # the directory on disk, absolute: where the files would be checked out
    files: tuple[tuple[str, str], ...]  # (name, blob id) of each .go entry, sorted by name
    module: tuple[str, str] | None  # (root directory, module path) of the nearest go.mod, or None


class Source(NamedTuple):
    """One file's bytes, and where it lives (for go.mod, its package's other files and its name)."""

    path: str  # as messages show it
    place: Path  # on disk: the working-tree file, or where a staged blob would be checked out
    data: bytes
    package: IndexDirectory | None = None  # for a staged blob: its directory in the index; else the one on disk


class GitError(Exception):
    """A git problem the run cannot go on from (exit 2); str() is what went wrong.

    The command line prints it as `goinstrument: <str(error)>` on stderr. (Defined here, not in
    gitops, so that catching it does not load pygit2 for runs that never touch git.)
    """
