"""The two option values of a run, and the one table flags and `.goinstrument.toml` keys come from.

`RewriteOptions` is everything that decides what a file becomes: the only
options the core sees, and (through all its fields) the cache key.
`RunOptions` is how the run goes: where the files come from, what is done
with the result, how it is reported. Both are immutable.

Every rewrite option is one dataclass field whose metadata (`Setting`) names
its flag, its key in `.goinstrument.toml`, its help and its `Kind`, the one
piece of code that checks and converts its value from either place. Adding
a setting is adding a field here; `cli` and `config` build from this table.
"""

from __future__ import annotations

import dataclasses
import enum
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

ATTRIBUTE_KINDS = ("args", "results", "code")
ERROR_MODES = ("status", "event", "none")
# Not failures by default: the caller gave up (a deadline passed is a failure: kept marked).
EXPECTED_ERRORS = ("context.Canceled",)
SPAN_NAME_PLACEHOLDERS = ("name", "func", "type", "package", "path")


class BadValue(ValueError):
    """A setting's value cannot be used; the message says why, without a position."""


# --- kinds: how one setting's value is read from a flag and from the file -------------------------


class Kind(NamedTuple):
    """How a setting is spelled: argparse keywords for its flag, and the check for a file value."""

    from_file: Callable[[str, Any, Path], Any]  # (key, TOML value, directory of the file) -> value
    flag: Callable[[str, str], dict[str, Any]]  # (dest, metavar) -> argparse add_argument keywords


def _toml(value: Any) -> str:
    """A value as the file spells it, for messages; containers and dates by their kind."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _file_boolean(key: str, value: Any, _: Path) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f'"{key}" must be true or false, not {_toml(value)}')
    return value


def _file_text(key: str, value: Any, _: Path) -> str:
    if not isinstance(value, str):
        raise BadValue(f'"{key}" must be a string, not {_toml(value)}')
    if not value.strip():
        raise BadValue(f'"{key}" must not be empty or blank')
    return value


def _is_module_attribute(value: str) -> bool:
    module, colon, attribute = value.partition(":")
    dotted = (*module.split("."), *attribute.split("."))
    return bool(colon) and all(part.isidentifier() for part in dotted)


def _file_backend(key: str, value: Any, _: Path) -> str:
    from goinstrument.backends.loader import BACKENDS  # the built-in backends are named in one place

    if isinstance(value, str) and (value in BACKENDS or _is_module_attribute(value)):
        return value
    names = ", ".join(f'"{name}"' for name in BACKENDS)
    raise BadValue(f'"{key}" must be {names} or "module:attribute", not {_toml(value)}')


def check_span_name(key: str, template: str) -> str:
    """The template, if it only uses known placeholders; BadValue otherwise."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)]
    except ValueError:
        braces = '"{{" or "}}"'
        raise BadValue(f'"{key}" has an unmatched "{{" or "}}" (write {braces} for the brace itself)') from None
    for name, spec, conversion in fields:
        if name is not None and (name not in SPAN_NAME_PLACEHOLDERS or spec or conversion):
            placeholder = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            known = " ".join(f"{{{p}}}" for p in SPAN_NAME_PLACEHOLDERS)
            raise BadValue(f'"{key}" has an unknown placeholder {placeholder} (known: {known})')
    return template


def _file_span_name(key: str, value: Any, directory: Path) -> str:
    return check_span_name(key, _file_text(key, value, directory))


def _file_globs(key: str, value: Any, directory: Path) -> tuple[str, ...]:
    from goinstrument.driver.globs import anchor

    if not isinstance(value, list):
        raise BadValue(f'"{key}" must be an array of glob strings, not {_toml(value)}')
    for glob in value:
        if not isinstance(glob, str):
            raise BadValue(f'"{key}" must hold glob strings, not {_toml(glob)}')
        if not glob:
            raise BadValue(f'"{key}" holds an empty glob')
        if glob.startswith("/"):
            raise BadValue(f'"{key}" globs are relative to the directory of .goinstrument.toml, not {_toml(glob)}')
    return tuple(anchor(glob, directory) for glob in value)


def _attribute_kinds(key: str, kinds: list[Any]) -> frozenset[str]:
    quoted = ", ".join(f'"{kind}"' for kind in ATTRIBUTE_KINDS)
    for kind in kinds:
        if kind not in ATTRIBUTE_KINDS:
            raise BadValue(f'"{key}" must hold {quoted}, not {_toml(kind)}')
    return frozenset(kinds)


def _file_attributes(key: str, value: Any, _: Path) -> frozenset[str]:
    if not isinstance(value, list):
        quoted = ", ".join(f'"{kind}"' for kind in ATTRIBUTE_KINDS)
        raise BadValue(f'"{key}" must be an array of {quoted}, not {_toml(value)}')
    return _attribute_kinds(key, value)


def _error_mode(key: str, value: Any) -> str:
    if value not in ERROR_MODES:
        quoted = ", ".join(f'"{mode}"' for mode in ERROR_MODES)
        raise BadValue(f'"{key}" must be {quoted}, not {_toml(value)}')
    return str(value)


def split_sentinel(value: str) -> tuple[str, str]:
    """`database/sql.ErrNoRows` -> ("database/sql", "ErrNoRows")."""
    path, _, name = value.rpartition(".")
    return path, name


def _sentinels(key: str, values: list[Any]) -> tuple[str, ...]:
    """Expected errors as `import/path.Name`: an import path and an exported name."""
    for value in values:
        if not isinstance(value, str):
            raise BadValue(f'"{key}" must hold strings such as "io.EOF", not {_toml(value)}')
        path, name = split_sentinel(value)
        elements = path.split("/")
        valid_path = bool(path) and all(e and e not in (".", "..") and all(c.isalnum() or c in "-._~" for c in e) for e in elements)
        if not valid_path or not name.isidentifier() or not name[0].isupper() or not name.isascii():
            raise BadValue(
                f'"{key}" holds {value!r}: an expected error is an import path and an exported name, such as "io.EOF" or "database/sql.ErrNoRows"'
            )
    return tuple(dict.fromkeys(values))


def _file_sentinels(key: str, value: Any, _: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise BadValue(f'"{key}" must be an array of strings such as "io.EOF", not {_toml(value)}')
    return _sentinels(key, value)


def _file_attribute_prefix(key: str, value: Any, _: Path) -> str:
    if not isinstance(value, str):
        raise BadValue(f'"{key}" must be a string, not {_toml(value)}')
    return _attribute_prefix(key, value)


def _attribute_prefix(key: str, value: str) -> str:
    if any(c in value for c in "\"\\\n"):
        raise BadValue(f'"{key}" must not hold quotes, backslashes or line breaks')
    return value


def _file_count(key: str, value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadValue(f'"{key}" must be a whole number, 0 or more, not {_toml(value)}')
    return value


def _flag_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a check raising BadValue."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except BadValue as exc:
            import argparse  # here: only a command line that argparse parses gets here

            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _flag_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadValue(f"must be a whole number, 0 or more, not {text!r}") from None
    if value < 0:
        raise BadValue("must be 0 or more")
    return value


def _flag_text(text: str) -> str:
    if not text.strip():
        raise BadValue("must not be empty or blank")
    return text


def _boolean_flag(dest: str, metavar: str) -> dict[str, Any]:
    import argparse  # here: the parser is built only for a command line that needs it (cli.parse)

    return {"action": argparse.BooleanOptionalAction}


BOOLEAN = Kind(_file_boolean, _boolean_flag)
TEXT = Kind(_file_text, lambda dest, metavar: {"metavar": metavar, "type": _flag_type(_flag_text)})
BACKEND = Kind(_file_backend, lambda dest, metavar: {"metavar": metavar})
SPAN_NAME = Kind(
    _file_span_name,
    lambda dest, metavar: {"metavar": metavar, "type": _flag_type(lambda t: check_span_name("--span-name", t))},
)
# On the command line a glob is taken from the working directory, when the file is judged.
GLOBS = Kind(_file_globs, lambda dest, metavar: {"metavar": metavar, "action": "append", "type": str})


def _flag_list(flag: str, check: Callable[[str, list[Any]], Any]) -> Callable[[str, str], dict[str, Any]]:
    """argparse keywords for a comma-separated value, checked as the file's array is."""
    split = _flag_type(lambda t: check(flag, [v.strip() for v in t.split(",") if v.strip()]))
    return lambda dest, metavar: {"metavar": metavar, "type": split}


ATTRIBUTES = Kind(_file_attributes, _flag_list("--attributes", _attribute_kinds))
ERROR_MODE = Kind(
    lambda key, value, _: _error_mode(key, value),
    lambda dest, metavar: {"metavar": metavar, "type": _flag_type(lambda t: _error_mode("--errors", t))},
)
SENTINELS = Kind(_file_sentinels, _flag_list("--expected-errors", _sentinels))
ATTRIBUTE_PREFIX = Kind(
    _file_attribute_prefix,
    lambda dest, metavar: {"metavar": metavar, "type": _flag_type(lambda t: _attribute_prefix("--attribute-prefix", t))},
)
COUNT = Kind(_file_count, lambda dest, metavar: {"metavar": metavar, "type": _flag_type(_flag_count)})


class Setting(NamedTuple):
    """Where a rewrite option comes from: its flags, its key in the file, its help."""

    kind: Kind
    help: str
    flags: tuple[str, ...] = ()  # the first is the main spelling; () for a file-only key
    key: str | None = None  # its key in .goinstrument.toml; None for a flag-only setting
    metavar: str = ""


def _setting(default: Any, kind: Kind, help: str, flags: tuple[str, ...] = (), key: str | None = None, metavar: str = "") -> Any:
    return field(default=default, metadata={"setting": Setting(kind, help, flags, key, metavar)})


DEFAULT_BACKEND = "otel"


class Action(enum.Enum):
    """What is done to each function."""

    INSTRUMENT = "instrument"
    REMOVE = "remove"  # strip the spans goinstrument (or go-instrument) added


@dataclass(frozen=True)
class RewriteOptions:
    """What a file becomes: every field a setting, from a flag or the file (flags win)."""

    tracer: str | None = _setting(
        None, TEXT, "tracer name; default: the package import path from go.mod", ("--tracer", "--app"), "tracer", "NAME"
    )
    backend: str = _setting(
        DEFAULT_BACKEND, BACKEND, '"otel" (default), "datadog", or your own as module:attribute', ("--backend",), "backend", "NAME"
    )
    span_name: str = _setting(
        "{name}", SPAN_NAME, "span name template: {name} (default), {func}, {type}, {package}, {path}",
        ("--span-name",), "span-name", "TEMPLATE",
    )
    all_functions: bool = _setting(
        True, BOOLEAN, "--no-all: instrument only the functions named by //instrument:include", ("--all",), "all"
    )
    include_tests: bool = _setting(False, BOOLEAN, "also instrument _test.go files", ("--tests",), "tests")
    include_generated: bool = _setting(False, BOOLEAN, "also instrument generated files", ("--generated",), "generated")
    literals: bool = _setting(True, BOOLEAN, "--no-literals: leave function literals alone", ("--literals",), "literals")
    name_results: bool = _setting(
        True, BOOLEAN, "--no-name-results: never name an unnamed error result (no error block for those)",
        ("--name-results",), "name-results",
    )
    attributes: frozenset[str] = _setting(
        frozenset(), ATTRIBUTES, "comma-separated: args, results, code", ("--attributes",), "attributes", "LIST"
    )
    attribute_prefix: str = _setting(
        "arg.", ATTRIBUTE_PREFIX, 'before the names of argument attributes (default "arg.": arg.id); "" for none',
        ("--attribute-prefix",), "attribute-prefix", "TEXT",
    )
    errors: str = _setting(
        "status", ERROR_MODE,
        "on error: status (default: status Error, error.type), event (and an exception event: RecordError), none",
        ("--errors",), "errors", "MODE",
    )
    expected_errors: tuple[str, ...] = _setting(
        EXPECTED_ERRORS, SENTINELS,
        "comma-separated errors (errors.Is) that do not mark a span failed, as path.Name (default: context.Canceled)",
        ("--expected-errors",), "expected-errors", "LIST",
    )
    min_statements: int = _setting(
        0, COUNT, "leave functions with fewer than N top-level statements alone", ("--min-statements",), "min-statements", "N"
    )
    line_directives: bool = _setting(
        False, BOOLEAN, "emit //line directives so stack traces keep the original line numbers",
        ("--line-directives",), "line-directives",
    )
    http_handlers: bool = _setting(
        False, BOOLEAN, "also give a span (from r.Context()) to functions with an *http.Request parameter and no context",
        ("--http-handlers",), "http-handlers",
    )
    local_prefixes: str | None = _setting(
        None, TEXT, "comma-separated import path prefixes of the file's own group, as goimports -local;"
        " default: the module path from go.mod", ("--local-prefixes",), "local-prefixes", "PREFIXES",
    )
    # Globs over slash-separated paths: anchored at the file's directory, or (flags) the working directory.
    include_paths: tuple[str, ...] = _setting((), GLOBS, "only paths matching these globs", (), "include", "GLOB")
    exclude_paths: tuple[str, ...] = _setting(
        (), GLOBS, "leave paths matching GLOB alone (repeatable)", ("--exclude",), "exclude", "GLOB"
    )
    action: Action = Action.INSTRUMENT  # --remove; not a file key: a repository never wants it for good

    def cache_key(self) -> str:
        """Everything that decides the bytes a file becomes: every field."""
        return repr(tuple((f.name, _stable(getattr(self, f.name))) for f in dataclasses.fields(self)))


def _stable(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def settings() -> list[tuple[str, Setting]]:
    """(field name, Setting) for every rewrite option that a flag or the file can set."""
    return [(f.name, f.metadata["setting"]) for f in dataclasses.fields(RewriteOptions) if "setting" in f.metadata]


def file_keys() -> dict[str, tuple[str, Setting]]:
    """Key in .goinstrument.toml -> (field name, Setting)."""
    return {s.key: (name, s) for name, s in settings() if s.key is not None}


# --- the run ---------------------------------------------------------------------------------------


class Output(enum.Enum):
    """What is done with each file's result."""

    WRITE = "write"  # rewrite files (and, with --staged, the index) in place
    CHECK = "check"  # write nothing; report functions without spans
    DIFF = "diff"  # write nothing; print a unified diff
    LIST = "list"  # write nothing; print the name of each file a run would change (-l)


@dataclass(frozen=True)
class FromPaths:
    """Files and directories named on the command line (default ".")."""

    paths: tuple[str, ...] = (".",)


@dataclass(frozen=True)
class ChangedSince:
    """The .go files changed since merge-base(rev, HEAD), optionally below some paths."""

    rev: str
    paths: tuple[str, ...] = ()
    # --new-from-rev: only the functions a changed line touches are reported and counted.
    new_code_only: bool = False


@dataclass(frozen=True)
class Staged:
    """The pre-commit hook: the staged blobs and their working-tree files."""


@dataclass(frozen=True)
class Stdin:
    """`goinstrument -`: one file's source on stdin, its result on stdout (for editors)."""

    filename: str | None = None  # --stdin-filename: for the tracer (go.mod), skip rules, config and messages


Source = FromPaths | ChangedSince | Staged | Stdin


@dataclass(frozen=True)
class RunOptions:
    output: Output = Output.WRITE
    source: Source = FromPaths()
    format: str = "text"  # an output format: a name in report.formats.FORMATS
    # Coverage (--check): a table per package (--coverage), and the percentage below which the
    # run fails (--fail-under). Run options, not settings: a threshold belongs to the CI job.
    coverage: bool = False
    fail_under: float | None = None
    jobs: int = 0  # worker processes; 0: the number of CPUs
    use_cache: bool = True
    verbosity: int = 0  # -1 quiet (no summary), 0 normal, 1 verbose (every skipped file and why)
    verify: bool = True  # the stability check before every write; --fast turns it off
    progress: bool = False  # a progress bar on stderr for a run over many files (stderr a terminal)
    diff: bool = False  # with Output.CHECK (--check --diff): the patch too, on stdout (the findings then on stderr)


@dataclass(frozen=True)
class Run:
    """A run over files."""

    rewrite: RewriteOptions
    run: RunOptions


@dataclass(frozen=True)
class InstallHook:
    """`--install-hook`: write the git pre-commit hook, and nothing else."""

    force: bool = False


Invocation = Run | InstallHook
