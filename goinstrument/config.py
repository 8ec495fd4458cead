"""`.goinstrument.toml`: the same settings as the flags, for a whole repository, and its path globs.

The file is looked for from the working directory upwards and no further than the git
root. Its keys are the flags' names without the dashes in front (`span-name`, `tests`,
`all`...); each is mapped to its Settings field and checked, and every problem is
reported as `path:line:col: message`.

Path globs (`include`, `exclude`, `--exclude`) are slash-separated: `*` and `?` never
cross a `/`, `**` as a whole segment matches any number of directories (none included),
and a glob that matches a directory covers every file below it. `load` anchors the
file's globs to the file's directory, so they hold from anywhere; `anchor` and `matches`
are the one implementation the rest of the tool uses.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
import string
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from goinstrument.settings import ATTRIBUTE_KINDS

FILE_NAME = ".goinstrument.toml"

SPAN_NAME_PLACEHOLDERS = ("name", "func", "type", "package", "path")
BUILTIN_BACKENDS = ("otel", "datadog")


class ConfigError(Exception):
    """A configuration file that cannot be used; str() is `path:line:col: message`, one line per problem."""


class _BadValue(ValueError):
    """One key's value cannot be used; the message says why, without the position."""


def load(start: Path) -> dict[str, Any]:
    """Settings field name -> value from the nearest .goinstrument.toml; {} when there is none."""
    path = find(start)
    return {} if path is None else parse(path)


def find(start: Path) -> Path | None:
    """The .goinstrument.toml in `start` or the nearest directory above it, up to the git root.

    The git root is the first directory holding `.git` (a directory, or a file for a
    worktree or submodule); a file above it belongs to another project and is not used.
    Outside any repository the search goes up to the filesystem root.
    """
    here = Path(os.path.abspath(start))
    for directory in (here, *here.parents):
        candidate = directory / FILE_NAME
        if candidate.exists() or candidate.is_symlink():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def parse(path: Path) -> dict[str, Any]:
    """Settings field name -> value from one configuration file; ConfigError when it cannot be used."""
    shown = _shown(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{shown}:1:1: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(data, exc.start)
        raise ConfigError(f"{shown}:{line}:{col}: not UTF-8") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = _syntax_error(text, str(exc))
        raise ConfigError(f"{shown}:{line}:{col}: invalid TOML: {message}") from None
    directory = Path(os.path.abspath(path.parent))
    values: dict[str, Any] = {}
    problems: list[tuple[int, int, str]] = []
    for key, value in document.items():
        try:
            field, convert = _known_key(key, value)
            values[field] = convert(key, value, directory)
        except _BadValue as exc:
            problems.append((*_key_position(text, key), str(exc)))
    if problems:
        raise ConfigError("\n".join(f"{shown}:{line}:{col}: {message}" for line, col, message in sorted(problems)))
    return values


# --- the keys --------------------------------------------------------------------------------

Convert = Callable[[str, Any, Path], Any]


def _known_key(key: str, value: Any) -> tuple[str, Convert]:
    if key in KEYS:
        return KEYS[key]
    known = ", ".join(sorted(KEYS))
    if key.replace("_", "-") in KEYS:
        raise _BadValue(f'unknown key "{key}": keys are spelled with dashes, "{key.replace("_", "-")}"')
    if isinstance(value, dict):
        raise _BadValue(f'unknown table "{key}": settings are top-level keys (known: {known})')
    raise _BadValue(f'unknown key "{key}" (known: {known})')


def _boolean(key: str, value: Any, _: Path) -> bool:
    if not isinstance(value, bool):
        raise _BadValue(f'"{key}" must be true or false, not {_toml(value)}')
    return value


def _text(key: str, value: Any, _: Path) -> str:
    if not isinstance(value, str):
        raise _BadValue(f'"{key}" must be a string, not {_toml(value)}')
    if not value:
        raise _BadValue(f'"{key}" must not be empty')
    return value


def _backend(key: str, value: Any, directory: Path) -> str:
    if isinstance(value, str) and (value in BUILTIN_BACKENDS or _is_module_attribute(value)):
        return value
    raise _BadValue(f'"{key}" must be "otel", "datadog" or "module:attribute", not {_toml(value)}')


def _is_module_attribute(value: str) -> bool:
    module, colon, attribute = value.partition(":")
    dotted = (*module.split("."), *attribute.split("."))
    return bool(colon) and all(part.isidentifier() for part in dotted)


def _span_name(key: str, value: Any, directory: Path) -> str:
    return check_span_name(key, _text(key, value, directory))


def check_span_name(key: str, template: str) -> str:
    """The template, if it only uses known placeholders; _BadValue (a ValueError) otherwise."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)]
    except ValueError:
        braces = '"{{" or "}}"'
        raise _BadValue(f'"{key}" has an unmatched "{{" or "}}" (write {braces} for the brace itself)') from None
    for name, spec, conversion in fields:
        if name is not None and (name not in SPAN_NAME_PLACEHOLDERS or spec or conversion):
            placeholder = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            known = " ".join(f"{{{p}}}" for p in SPAN_NAME_PLACEHOLDERS)
            raise _BadValue(f'"{key}" has an unknown placeholder {placeholder} (known: {known})')
    return template


def _globs(key: str, value: Any, directory: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _BadValue(f'"{key}" must be an array of glob strings, not {_toml(value)}')
    for glob in value:
        if not isinstance(glob, str):
            raise _BadValue(f'"{key}" must hold glob strings, not {_toml(glob)}')
        if not glob:
            raise _BadValue(f'"{key}" holds an empty glob')
        if glob.startswith("/"):
            raise _BadValue(f'"{key}" globs are relative to the directory of {FILE_NAME}, not {_toml(glob)}')
    return tuple(anchor(glob, directory) for glob in value)


def _attributes(key: str, value: Any, _: Path) -> frozenset[str]:
    kinds = ", ".join(f'"{kind}"' for kind in ATTRIBUTE_KINDS)
    if not isinstance(value, list):
        raise _BadValue(f'"{key}" must be an array of {kinds}, not {_toml(value)}')
    for kind in value:
        if kind not in ATTRIBUTE_KINDS:
            raise _BadValue(f'"{key}" must hold {kinds}, not {_toml(kind)}')
    return frozenset(value)


def _count(key: str, value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _BadValue(f'"{key}" must be a whole number, 0 or more, not {_toml(value)}')
    return value


# key in the file -> (Settings field, check and convert)
KEYS: dict[str, tuple[str, Convert]] = {
    "tracer": ("tracer", _text),
    "backend": ("backend", _backend),
    "span-name": ("span_name", _span_name),
    "include": ("include_paths", _globs),
    "exclude": ("exclude_paths", _globs),
    "tests": ("include_tests", _boolean),
    "generated": ("include_generated", _boolean),
    "literals": ("literals", _boolean),
    "name-results": ("name_results", _boolean),
    "all": ("all_functions", _boolean),
    "attributes": ("attributes", _attributes),
    "min-statements": ("min_statements", _count),
    "line-directives": ("line_directives", _boolean),
}


def _toml(value: Any) -> str:
    """A value as the file spells it, for messages; containers and dates by their kind."""
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


# --- positions ---------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """The path as messages show it: relative to the working directory, as git shows paths."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _key_position(text: str, key: str) -> tuple[int, int]:
    """Line and column of the first line that sets `key` (or opens it as a table); tomllib keeps none."""
    spelled = "|".join(re.escape(s) for s in (key, f'"{key}"', f"'{key}'"))
    assignment = re.compile(rf"(\s*)(?:{spelled})\s*[=.]")
    header = re.compile(rf"(\s*)\[\[?\s*(?:{spelled})\s*[].]")
    for pattern in (assignment, header):
        for number, line in enumerate(text.split("\n"), 1):
            found = pattern.match(line)
            if found:
                return number, len(found.group(1).encode()) + 1
    return 1, 1


_AT = re.compile(r"(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)", re.S)


def _syntax_error(text: str, error: str) -> tuple[int, int, str]:
    """tomllib's `Message (at line N, column M)` as line, byte column and message."""
    found = _AT.fullmatch(error)
    if found is None:
        return 1, 1, error
    message = found["message"][:1].lower() + found["message"][1:]
    lines = text.split("\n")
    if found["line"] is None:  # at end of document
        return len(lines), len(lines[-1].encode()) + 1, message
    line, col = int(found["line"]), int(found["col"])
    before = lines[line - 1][: col - 1] if line <= len(lines) else ""
    return line, len(before.encode()) + 1, message


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


# --- path globs --------------------------------------------------------------------------------


def anchor(glob: str, directory: Path | str) -> str:
    """The glob as an absolute glob: a relative one is taken from `directory`, whose own
    glob characters are escaped. `..` and `.` segments are resolved, a trailing `/` dropped."""
    if glob.startswith("/"):
        return posixpath.normpath(glob)
    base = re.sub(r"([*?[])", r"[\1]", Path(os.path.abspath(directory)).as_posix())
    return posixpath.normpath(f"{base}/{glob}")


def matches(glob: str, path: str) -> bool:
    """Whether the slash-separated `path`, or a directory above it, matches the whole `glob`.

    Both are absolute or both relative to the same directory.
    """
    pattern = _regex(glob)
    candidate = path
    while candidate:
        if pattern.fullmatch(candidate):
            return True
        candidate = candidate.rpartition("/")[0]
    return False


@functools.lru_cache(maxsize=256)
def _regex(glob: str) -> re.Pattern[str]:
    out, i, n = [], 0, len(glob)
    while i < n:
        at_segment_start = i == 0 or glob[i - 1] == "/"
        if at_segment_start and glob.startswith("**/", i):
            out.append("(?:.*/)?")  # zero or more directories
            i += 3
        elif at_segment_start and glob[i:] == "**":
            out.append(".*")
            i += 2
        elif glob[i:] == "/**":
            out.append("(?:/.*)?")  # everything below, the directory itself included
            i += 3
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and (end := _class_end(glob, i)) > 0:
            out.append(_class(glob[i + 1 : end]))
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out), re.S)


def _class_end(glob: str, start: int) -> int:
    """The index of the `]` closing the class opened at `start`, or -1 (then `[` is itself)."""
    j = start + 1
    if j < len(glob) and glob[j] in "!^":
        j += 1
    if j < len(glob) and glob[j] == "]":
        j += 1
    return glob.find("]", j)


def _class(body: str) -> str:
    """A `[...]` class (`[!...]` negated) as a regex class that never matches `/`."""
    negated = body[:1] in ("!", "^")
    body = body[1:] if negated else body
    body = re.sub(r"([\\\[&~|^])", r"\\\1", body)
    return f"(?!/)[{'^' if negated else ''}{body}]"
