"""Run settings: one immutable value, passed down everywhere and part of any cache key."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Mode(enum.Enum):
    """What a run does with the instrumented source."""

    WRITE = "write"  # rewrite files in place
    CHECK = "check"  # write nothing, report functions without spans
    DIFF = "diff"  # write nothing, print a unified diff


ATTRIBUTE_KINDS = ("args", "results", "code")


class Action(enum.Enum):
    """What is done to each function."""

    INSTRUMENT = "instrument"
    REMOVE = "remove"  # strip the spans goinstrument (or go-instrument) added


class Format(enum.Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.WRITE
    format: Format = Format.TEXT
    # Tracer name passed to otel.Tracer; None means "the package import path".
    tracer: str | None = None
    # False: only functions named by //instrument:include get spans.
    all_functions: bool = True
    include_tests: bool = False
    include_generated: bool = False
    jobs: int = 0  # 0: number of CPUs
    use_cache: bool = True
    action: Action = Action.INSTRUMENT
    # Tracing library: "otel", "datadog", or a user's own as "module:attribute".
    backend: str = "otel"
    # Span name template: {name} (Type.Method, Func, Outer.func1), {func}, {type},
    # {package} (package name) and {path} (import path).
    span_name: str = "{name}"
    literals: bool = True  # function literals get spans too
    name_results: bool = True  # name an unnamed error result so the error block can read it
    attributes: frozenset[str] = frozenset()  # of "args", "results", "code"
    min_statements: int = 0  # functions with fewer top-level statements are left alone
    line_directives: bool = False  # //line directives keep pre-instrumentation line numbers
    # Globs over slash-separated paths relative to the configuration's directory.
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()

    def cache_key(self) -> str:
        """Everything that changes the bytes a file becomes."""
        return repr(
            (
                self.tracer,
                self.all_functions,
                self.include_tests,
                self.include_generated,
                self.action,
                self.backend,
                self.span_name,
                self.literals,
                self.name_results,
                sorted(self.attributes),
                self.min_statements,
                self.line_directives,
                self.include_paths,
                self.exclude_paths,
            )
        )
