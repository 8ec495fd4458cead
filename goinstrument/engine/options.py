"""What a rewrite is told: `RewriteOptions`, the values that decide what a file becomes, and the checks of those values.

The only options the engine sees, and (through all its fields) the cache key.
How each one is spelled on the command line and in `.goinstrument.toml` is
the settings table of `goinstrument.options`, one row per field here.
"""

from __future__ import annotations

import enum
from typing import Any

from goinstrument.tuples import NamedTuple

ATTRIBUTE_KINDS = ("args", "results", "code")
ERROR_MODES = ("status", "event", "none")
# Not failures by default: the caller gave up (a deadline passed is a failure: kept marked).
EXPECTED_ERRORS = ("context.Canceled",)
SPAN_NAME_PLACEHOLDERS = ("name", "func", "type", "package", "path")
DEFAULT_BACKEND = "otel"


class BadValue(ValueError):
    """A setting's value cannot be used; the message says why, without a position."""


def shown(value: Any) -> str:
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


def check_span_name(key: str, template: str) -> str:
    """The template, if it only uses known placeholders; BadValue otherwise."""
    import string  # here: a run with the default template never loads it

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


def check_attribute_kinds(key: str, kinds: list[Any]) -> frozenset[str]:
    quoted = ", ".join(f'"{kind}"' for kind in ATTRIBUTE_KINDS)
    for kind in kinds:
        if kind not in ATTRIBUTE_KINDS:
            raise BadValue(f'"{key}" must hold {quoted}, not {shown(kind)}')
    return frozenset(kinds)


def check_error_mode(key: str, value: Any) -> str:
    if value not in ERROR_MODES:
        quoted = ", ".join(f'"{mode}"' for mode in ERROR_MODES)
        raise BadValue(f'"{key}" must be {quoted}, not {shown(value)}')
    return str(value)


def split_sentinel(value: str) -> tuple[str, str]:
    """`database/sql.ErrNoRows` -> ("database/sql", "ErrNoRows")."""
    path, _, name = value.rpartition(".")
    return path, name


def check_sentinels(key: str, values: list[Any]) -> tuple[str, ...]:
    """Expected errors as `import/path.Name`: an import path and an exported name."""
    for value in values:
        if not isinstance(value, str):
            raise BadValue(f'"{key}" must hold strings such as "io.EOF", not {shown(value)}')
        path, name = split_sentinel(value)
        elements = path.split("/")
        valid_path = bool(path) and all(e and e not in (".", "..") and all(c.isalnum() or c in "-._~" for c in e) for e in elements)
        if not valid_path or not name.isidentifier() or not name[0].isupper() or not name.isascii():
            raise BadValue(
                f'"{key}" holds {value!r}: an expected error is an import path and an exported name, such as "io.EOF" or "database/sql.ErrNoRows"'
            )
    return tuple(dict.fromkeys(values))


def check_attribute_prefix(key: str, value: str) -> str:
    if any(c in value for c in '"\\\n'):
        raise BadValue(f'"{key}" must not hold quotes, backslashes or line breaks')
    return value


class Action(enum.Enum):
    """What is done to each function."""

    INSTRUMENT = "instrument"
    REMOVE = "remove"  # strip the spans goinstrument (or go-instrument) added


class RewriteOptions(NamedTuple):
    """What a file becomes: every field but `action` a setting, from a flag or the file (flags win)."""

    tracer: str | None = None  # default: the package import path from go.mod
    backend: str = DEFAULT_BACKEND  # a built-in backend's name, or module:attribute
    span_name: str = "{name}"  # a template over SPAN_NAME_PLACEHOLDERS
    all_functions: bool = True  # False: only the functions named by //instrument:include
    include_tests: bool = False
    include_generated: bool = False
    literals: bool = True
    name_results: bool = True
    attributes: frozenset[str] = frozenset()  # of ATTRIBUTE_KINDS
    attribute_prefix: str = "arg."
    errors: str = "status"  # one of ERROR_MODES
    expected_errors: tuple[str, ...] = EXPECTED_ERRORS
    min_statements: int = 0
    line_directives: bool = False
    http_handlers: bool = False
    local_prefixes: str | None = None  # comma-separated; default: the module path from go.mod
    # Globs over slash-separated paths: anchored at the file's directory, or (flags) the working directory.
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    action: Action = Action.INSTRUMENT  # --remove; not a file key: a repository never wants it for good

    def cache_key(self) -> str:
        """Everything that decides the bytes a file becomes: every field."""
        return repr(tuple((name, _stable(value)) for name, value in self._asdict().items()))


def _stable(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value
