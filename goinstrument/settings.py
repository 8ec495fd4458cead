"""The one table flags and `.goinstrument.toml` keys come from: how each rewrite option is spelled.

Every rewrite option is one field of `RewriteOptions` (goinstrument.engine.options,
what the engine reads) and one row of `SETTINGS` here (`Setting`): its flag, its
key in `.goinstrument.toml`, its help and its `Kind`, the one piece of code that
checks and converts its value from either place. `cli` and `config` build from
this table; the engine never reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from goinstrument.engine.options import (
    ATTRIBUTE_KINDS,
    BadValue,
    check_attribute_kinds,
    check_attribute_prefix,
    check_error_mode,
    check_sentinels,
    check_span_name,
    shown,
)
from goinstrument.tuples import NamedTuple

# --- kinds: how one setting's value is read from a flag and from the file -------------------------


class Kind(NamedTuple):
    """How a setting is spelled: argparse keywords for its flag, and the check for a file value."""

    from_file: Callable[[str, Any, Path], Any]  # (key, TOML value, directory of the file) -> value
    flag: Callable[[str, str], dict[str, Any]]  # (dest, metavar) -> argparse add_argument keywords


def _file_boolean(key: str, value: Any, _: Path) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f'"{key}" must be true or false, not {shown(value)}')
    return value


def _file_text(key: str, value: Any, _: Path) -> str:
    if not isinstance(value, str):
        raise BadValue(f'"{key}" must be a string, not {shown(value)}')
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
    raise BadValue(f'"{key}" must be {names} or "module:attribute", not {shown(value)}')


def _file_span_name(key: str, value: Any, directory: Path) -> str:
    return check_span_name(key, _file_text(key, value, directory))


def _file_globs(key: str, value: Any, directory: Path) -> tuple[str, ...]:
    from goinstrument.driver.globs import anchor

    if not isinstance(value, list):
        raise BadValue(f'"{key}" must be an array of glob strings, not {shown(value)}')
    for glob in value:
        if not isinstance(glob, str):
            raise BadValue(f'"{key}" must hold glob strings, not {shown(glob)}')
        if not glob:
            raise BadValue(f'"{key}" holds an empty glob')
        if glob.startswith("/"):
            raise BadValue(f'"{key}" globs are relative to the directory of .goinstrument.toml, not {shown(glob)}')
    return tuple(anchor(glob, directory) for glob in value)


def _file_attributes(key: str, value: Any, _: Path) -> frozenset[str]:
    if not isinstance(value, list):
        quoted = ", ".join(f'"{kind}"' for kind in ATTRIBUTE_KINDS)
        raise BadValue(f'"{key}" must be an array of {quoted}, not {shown(value)}')
    return check_attribute_kinds(key, value)


def _file_sentinels(key: str, value: Any, _: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise BadValue(f'"{key}" must be an array of strings such as "io.EOF", not {shown(value)}')
    return check_sentinels(key, value)


def _file_attribute_prefix(key: str, value: Any, _: Path) -> str:
    if not isinstance(value, str):
        raise BadValue(f'"{key}" must be a string, not {shown(value)}')
    return check_attribute_prefix(key, value)


def _file_count(key: str, value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadValue(f'"{key}" must be a whole number, 0 or more, not {shown(value)}')
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


ATTRIBUTES = Kind(_file_attributes, _flag_list("--attributes", check_attribute_kinds))
ERROR_MODE = Kind(
    lambda key, value, _: check_error_mode(key, value),
    lambda dest, metavar: {"metavar": metavar, "type": _flag_type(lambda t: check_error_mode("--errors", t))},
)
SENTINELS = Kind(_file_sentinels, _flag_list("--expected-errors", check_sentinels))
ATTRIBUTE_PREFIX = Kind(
    _file_attribute_prefix,
    lambda dest, metavar: {"metavar": metavar, "type": _flag_type(lambda t: check_attribute_prefix("--attribute-prefix", t))},
)
COUNT = Kind(_file_count, lambda dest, metavar: {"metavar": metavar, "type": _flag_type(_flag_count)})


class Setting(NamedTuple):
    """Where a rewrite option comes from: its flags, its key in the file, its help."""

    kind: Kind
    help: str
    flags: tuple[str, ...] = ()  # the first is the main spelling; () for a file-only key
    key: str | None = None  # its key in .goinstrument.toml; None for a flag-only setting
    metavar: str = ""


SETTINGS: dict[str, Setting] = {
    # Field of RewriteOptions -> how it is spelled; every field but `action` (--remove, not a file key:
    # a repository never wants it for good) has one, in the fields' order (tests/test_layers.py checks).
    "tracer": Setting(TEXT, "tracer name; default: the package import path from go.mod", ("--tracer", "--app"), "tracer", "NAME"),
    "backend": Setting(BACKEND, '"otel" (default), "datadog", or your own as module:attribute', ("--backend",), "backend", "NAME"),
    "span_name": Setting(
        SPAN_NAME, "span name template: {name} (default), {func}, {type}, {package}, {path}", ("--span-name",), "span-name", "TEMPLATE"
    ),
    "all_functions": Setting(BOOLEAN, "--no-all: instrument only the functions named by //instrument:include", ("--all",), "all"),
    "include_tests": Setting(BOOLEAN, "also instrument _test.go files", ("--tests",), "tests"),
    "include_generated": Setting(BOOLEAN, "also instrument generated files", ("--generated",), "generated"),
    "literals": Setting(BOOLEAN, "--no-literals: leave function literals alone", ("--literals",), "literals"),
    "name_results": Setting(
        BOOLEAN, "--no-name-results: never name an unnamed error result (no error block for those)", ("--name-results",), "name-results"
    ),
    "attributes": Setting(ATTRIBUTES, "comma-separated: args, results, code", ("--attributes",), "attributes", "LIST"),
    "attribute_prefix": Setting(
        ATTRIBUTE_PREFIX,
        'before the names of argument attributes (default "arg.": arg.id); "" for none',
        ("--attribute-prefix",),
        "attribute-prefix",
        "TEXT",
    ),
    "errors": Setting(
        ERROR_MODE,
        "on error: status (default: status Error, error.type), event (and an exception event: RecordError), none",
        ("--errors",),
        "errors",
        "MODE",
    ),
    "expected_errors": Setting(
        SENTINELS,
        "comma-separated errors (errors.Is) that do not mark a span failed, as path.Name (default: context.Canceled)",
        ("--expected-errors",),
        "expected-errors",
        "LIST",
    ),
    "min_statements": Setting(COUNT, "leave functions with fewer than N top-level statements alone", ("--min-statements",), "min-statements", "N"),
    "line_directives": Setting(
        BOOLEAN, "emit //line directives so stack traces keep the original line numbers", ("--line-directives",), "line-directives"
    ),
    "http_handlers": Setting(
        BOOLEAN,
        "also give a span (from r.Context()) to functions with an *http.Request parameter and no context",
        ("--http-handlers",),
        "http-handlers",
    ),
    "local_prefixes": Setting(
        TEXT,
        "comma-separated import path prefixes of the file's own group, as goimports -local; default: the module path from go.mod",
        ("--local-prefixes",),
        "local-prefixes",
        "PREFIXES",
    ),
    "include_paths": Setting(GLOBS, "only paths matching these globs", (), "include", "GLOB"),
    "exclude_paths": Setting(GLOBS, "leave paths matching GLOB alone (repeatable)", ("--exclude",), "exclude", "GLOB"),
}


def settings() -> list[tuple[str, Setting]]:
    """(field name, Setting) for every rewrite option that a flag or the file can set."""
    return list(SETTINGS.items())


def file_keys() -> dict[str, tuple[str, Setting]]:
    """Key in .goinstrument.toml -> (field name, Setting)."""
    return {s.key: (name, s) for name, s in settings() if s.key is not None}
