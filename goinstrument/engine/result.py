"""Values the core and the driver hand back: never exceptions escaping a batch."""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Final, Self

from goinstrument.engine.edits import Edit
from goinstrument.tuples import NamedTuple

# --- frozen values that are not tuples ------------------------------------------------------------


class Value:
    """An immutable value whose type matters (one of a few kinds, as a run's source or a build
    constraint's node) or that a tuple would mislead: its fields are its `__slots__`, in the
    order its `__init__` takes them and sets them, each `Final` (mypy refuses an assignment
    anywhere else; no guard at run time, which every assignment would pay). It equals only a
    value of its own type with equal fields, hashes and prints so, is always true (a value
    with no field too), and `_replace` makes one with other fields, as a NamedTuple's does.

    Not a NamedTuple (a tuple equals any tuple of its fields, whatever its type: `And(x)` would
    equal `Or(x)`, `Staged()` would be an empty, false tuple, a field `count` would hide a
    method), nor a frozen dataclass (its class compiles every generated method when it is
    created, and `dataclasses` imports `inspect`: start-up a hook's run pays, ARCHITECTURE.md
    "Values").
    """

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _replace(self, **changes: object) -> Self:
        return type(self)(*[changes.pop(name, getattr(self, name)) for name in self.__slots__], **changes)  # a name left: TypeError

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, Value) and type(other) is type(self) else NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__qualname__, *self._values()))

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in self.__slots__)})"


# --- names as messages show them ------------------------------------------------------------------

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def octal_byte(char: str) -> str:
    """A lone surrogate (os.fsdecode's stand-in for a byte that is not UTF-8) as git writes the byte: `\\351`."""
    return f"\\{ord(char) - 0xDC00:03o}"


_NOT_UTF8 = "[\udc80-\udcff]"  # compiled by `re` for the first message a machine format prints


def printable(text: str) -> str:
    """`text` (a message that may hold a file name) with each byte that is not UTF-8 as `\\351`."""
    return re.sub(_NOT_UTF8, lambda found: octal_byte(found[0]), text)


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


class Kind(enum.Enum):
    """What a finding or a file's outcome is: the tag reports, counts and exit codes go by (never a message's text)."""

    MISSING = "missing"  # a function that takes a context has no span
    STALE = "stale"  # a span of ours is out of date
    EXCLUDED = "excluded"  # a function left without a span because one would change what it does (-v)
    PROBLEM = "problem"  # a file that could not be processed: left untouched
    SKIPPED = "skipped"  # a file left alone on purpose


class Finding(NamedTuple):
    """What --check reports of one function: it has no span (Kind.MISSING), or its span is out of
    date (Kind.STALE); and, for -v, a function left without one (Kind.EXCLUDED)."""

    path: str
    pos: Position
    name: str  # span name: Func, Type.Method, Outer.func1
    message: str = "no span"  # or `span is out of date (name "Old")`: what a run would change
    kind: Kind = Kind.MISSING

    def text(self) -> str:
        return f"{quote_path(self.path)}:{self.pos.line}:{self.pos.col}: {self.name}: {self.message}"


class Problem(NamedTuple):
    """A file that could not be processed; it is left untouched."""

    path: str
    pos: Position
    message: str

    def text(self) -> str:
        return f"{quote_path(self.path)}:{self.pos.line}:{self.pos.col}: {self.message}"


# Why a function without a span is left alone, by kind: the key JSON uses, and the words the
# coverage line and -v use.
EXCLUSIONS = {
    "directive": "by directive",  # //instrument:exclude
    "settings": "by settings",  # --no-all, --no-literals, --min-statements
    "caller_span": "annotates its caller's span",  # behaviour.reads_callers_span
    "pragma": "runtime pragma",  # behaviour.runtime_pragma: //go:nosplit, //go:norace, ...
}


class Coverage(Value):
    """Of the functions that take a context (and have a body): how many carry a span at the top
    of their body (ours, go-instrument's or a person's), and how many, without one, are left alone
    (`excluded`, by kind in `excluded_by`: see EXCLUSIONS). The rest, `without_span`, are the
    functions --check reports as having no span."""

    __slots__ = ("functions", "with_span", "excluded", "excluded_by")  # noqa: RUF023 (__init__'s order)

    def __init__(self, functions: int = 0, with_span: int = 0, excluded: int = 0, excluded_by: tuple[tuple[str, int], ...] = ()) -> None:
        self.functions: Final = functions
        self.with_span: Final = with_span
        self.excluded: Final = excluded
        self.excluded_by: Final = excluded_by  # (kind, count) of the excluded, kinds in EXCLUSIONS' order

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
    """How one file (a working-tree file, a staged blob or stdin) ends: one value per file, from
    `process` to the report. A tagged union on `kind`:

    - None: processed; `output` holds its new bytes (maybe `source`'s), `findings` what --check
      reports, the span counts what a run changes;
    - Kind.PROBLEM: it could not be processed (`problem` says why); it is left untouched;
    - Kind.SKIPPED: it was left alone on purpose (`skipped` says why).

    Build one with `done`, `failed` or `skip`: `changed` is decided there, once. A run that no
    longer needs the bytes drops them (`light`); `diff` and `clean` are what the run made of it.
    """

    path: str  # as messages show it
    kind: Kind | None = None
    changed: bool = False  # whether the file is to hold other bytes: set by `done`, never by hand
    source: bytes = b""
    output: bytes = b""
    findings: tuple[Finding, ...] = ()
    problem: Problem | None = None
    skipped: str | None = None  # why the file was left alone on purpose: "generated file", ...
    spans_added: int = 0
    spans_removed: int = 0
    spans_updated: int = 0
    coverage: Coverage = Coverage()
    excluded: tuple[Finding, ...] = ()  # Result.excluded, for -v
    notes: tuple[Problem, ...] = ()  # why the file's spans are as they are (a package's rule), for -v and --check
    diff: str | None = None  # its patch, for --diff (made in a worker)
    clean: tuple[int, int] | None = None  # (mtime_ns, size) of a file now in its final state, for the cache

    @staticmethod
    def done(path: str, source: bytes, result: Result | None = None, notes: tuple[Problem, ...] = ()) -> Outcome:
        """A processed file: the core's `result` (None: nothing to do, the file stays as it is)."""
        if result is None:
            return Outcome(path, None, False, source, source)
        failed = result.problem is not None
        return Outcome(
            path, Kind.PROBLEM if failed else None, result.changed, source, source if failed else result.output, result.findings,
            result.problem, spans_added=result.spans_added, spans_removed=result.spans_removed, spans_updated=result.spans_updated,
            coverage=result.coverage, excluded=result.excluded, notes=notes,
        )  # fmt: skip

    @staticmethod
    def failed(path: str, problem: Problem, source: bytes = b"", findings: tuple[Finding, ...] = ()) -> Outcome:
        """A file that could not be processed: left untouched."""
        return Outcome(path, Kind.PROBLEM, False, source, source, findings, problem)

    @staticmethod
    def skip(path: str, reason: str, source: bytes = b"") -> Outcome:
        """A file left alone on purpose, and why."""
        return Outcome(path, Kind.SKIPPED, False, source, source, skipped=reason)

    def light(self, diff: str | None = None, clean: tuple[int, int] | None = None) -> Outcome:
        """This outcome without its bytes (what a worker sends back but a file to write), with its patch and stat."""
        return self._replace(source=b"", output=b"", diff=diff, clean=clean)


class IndexDirectory(NamedTuple):
    """A directory as the index holds it: where a staged blob's package lives (its siblings are
    the staged blobs, not the working-tree files) and the module its go.mod files name."""

    git_dir: str  # the repository whose objects hold the blobs
    path: str  # the directory on disk, absolute: where the files would be checked out
    files: tuple[tuple[str, str], ...]  # (name, blob id) of each .go entry, sorted by name
    module: tuple[str, str] | None  # (root directory, module path) of the nearest go.mod, or None

    def __hash__(self) -> int:
        # Not its entries': it keys the package's facts (lru_caches, per file and per question),
        # and a tuple's hash is worked out again at each use (4,400 entries: ~0.2 ms). Two states
        # of one directory share a hash; equality (after identity, in a dict) tells them apart.
        return hash((self.git_dir, self.path, len(self.files), self.module))


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
