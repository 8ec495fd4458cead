"""`.goinstrument.toml`: the same settings as the flags, for a whole repository.

The file is looked for from the working directory upwards and no further than the git
root. Its keys come from the settings table in `options` (the flags' names without the
dashes in front: `span-name`, `tests`, `all`...); each value is checked and converted by
its setting's kind, and every problem is reported as `path:line:col: message`. Path
globs are anchored to the file's directory (`globs.anchor`), so they hold from anywhere.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from goinstrument.engine.options import BadValue
from goinstrument.settings import Setting, file_keys

FILE_NAME = ".goinstrument.toml"


class ConfigError(Exception):
    """A configuration file that cannot be used; str() is `path:line:col: message`, one line per problem."""


def load(start: Path, *, backend_given: bool = False) -> dict[str, Any]:
    """Settings field name -> value from the nearest .goinstrument.toml; {} when there is none.

    `backend_given`: the command line names the backend, so the file's is not used (nor trusted).
    """
    path = find(start)
    return {} if path is None else parse(path, backend_given=backend_given)


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


def parse(path: Path, *, backend_given: bool = False) -> dict[str, Any]:
    """Settings field name -> value from one configuration file; ConfigError when it cannot be used.

    A backend of the user's own (`module:attribute`) is code: one the file names is refused
    unless the user trusts it (`backend.untrusted`) or the command line names the backend.
    """
    import tomllib  # loaded only where there is a file to parse: a few ms of every run's start-up

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
            field, setting = _known_key(key, value)
            values[field] = setting.kind.from_file(key, value, directory)
        except BadValue as exc:
            problems.append((*_key_position(text, key), str(exc)))
            continue
        if field == "backend" and not backend_given:
            from goinstrument.backends.loader import untrusted

            refusal = untrusted(values[field])
            if refusal is not None:
                problems.append((*_key_position(text, key), refusal))
    if problems:
        raise ConfigError("\n".join(f"{shown}:{line}:{col}: {message}" for line, col, message in sorted(problems)))
    return values


# --- the keys --------------------------------------------------------------------------------


def _known_key(key: str, value: Any) -> tuple[str, Setting]:
    keys = file_keys()
    if key in keys:
        return keys[key]
    known = ", ".join(sorted(keys))
    if key.replace("_", "-") in keys:
        raise BadValue(f'unknown key "{key}": keys are spelled with dashes, "{key.replace("_", "-")}"')
    if isinstance(value, dict):
        raise BadValue(f'unknown table "{key}": settings are top-level keys (known: {known})')
    raise BadValue(f'unknown key "{key}" (known: {known})')


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


# Compiled by `re` for the first error of a file (its cache keeps it): a run without one never does.
_AT = r"(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)"


def _syntax_error(text: str, error: str) -> tuple[int, int, str]:
    """tomllib's `Message (at line N, column M)` as line, byte column and message."""
    found = re.fullmatch(_AT, error, re.S)
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
