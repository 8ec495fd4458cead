"""One file's way through the tool, without I/O: content rules, the rewrite, the safety check."""

from __future__ import annotations

import dataclasses
import os
import re

from goinstrument import buildtags, core, gofmt, gomod, remove, syntax
from goinstrument.backend import load_backend
from goinstrument.fileinfo import FileInfo, import_name_candidates
from goinstrument.package_scope import package_declarations
from goinstrument.result import Position, Problem, Result
from goinstrument.options import Action, RewriteOptions

_PACKAGE = re.compile(rb"^package\b", re.MULTILINE)
_GENERATED = re.compile(rb"^(?:\xef\xbb\xbf)?// Code generated .* DO NOT EDIT\.\r?$", re.MULTILINE)


def is_generated(src: bytes) -> bool:
    """Go's rule (go.dev/s/generatedcode): the marker comment stands before the package clause."""
    package = _PACKAGE.search(src)
    return _GENERATED.search(src, 0, package.start() if package else len(src)) is not None


def tracer_for(path: str | os.PathLike, settings: RewriteOptions, src: bytes) -> str:
    if settings.tracer:
        return settings.tracer
    found = gomod.import_path(path)
    if found:
        return found
    match = re.search(rb"^package\s+(\w+)", src, re.MULTILINE)
    return match.group(1).decode() if match else "main"


def _not_utf8(display: str, src: bytes) -> Problem | None:
    try:
        src.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = src.count(b"\n", 0, exc.start) + 1
        col = exc.start - (src.rfind(b"\n", 0, exc.start) + 1) + 1
        return Problem(display, Position(line, col), "not valid UTF-8; left untouched")
    return None


def rewrite_source(path: str | os.PathLike, src: bytes, settings: RewriteOptions, check: bool = False) -> Result:
    """Instrument one file's bytes; bad input comes back as a Result with a problem, never raised."""
    display = os.fspath(path)
    if b'context"' not in src and b"context`" not in src:
        # No import of "context" (or golang.org/x/net/context): no function can take one.
        return Result(src, src, skipped="does not import context")
    problem = _not_utf8(display, src)
    if problem is not None:
        return Result(src, src, problem=problem)
    if not settings.include_generated and is_generated(src):
        return Result(src, src, skipped="generated file")
    try:
        if not buildtags.can_build(os.path.basename(display), src):
            return Result(src, src, skipped="build constraint never satisfied")
    except buildtags.ConstraintError as exc:
        return Result(src, src, problem=Problem(display, Position(exc.line, exc.col), exc.message))
    backend = load_backend(settings.backend)
    # --check and --remove add no import, so the names the package declares do not matter: skip reading it.
    reads_package = not check and settings.action is not Action.REMOVE
    directory = os.path.dirname(os.path.abspath(path))
    siblings = package_declarations(directory, import_name_candidates(backend)) if reads_package else frozenset()
    info = FileInfo(display, tracer_for(path, settings, src), gomod.import_path(path) or "", siblings, backend)
    if settings.action is Action.REMOVE:
        result = remove.remove(src, settings, info)
    else:
        result = _instrument(src, settings, info, check)
    if result.changed:
        error = syntax.first_error(syntax.parse(result.output).root_node)
        if error is not None:
            pos = syntax.position(error)
            message = f"internal error: the instrumented output would not parse at {pos.line}:{pos.col}; left untouched"
            return Result(src, src, problem=Problem(display, Position(1, 1), message))
    return result


def _instrument(src: bytes, settings: RewriteOptions, info: FileInfo, check: bool) -> Result:
    """Instrument; a file go-instrument instrumented loses go-instrument's blocks first (migration)."""
    base = src
    if not check and remove.may_hold_go_instrument(src):
        stripped = remove.strip_go_instrument(src, settings, info)
        base = stripped.output if stripped.problem is None else src
    result = core.instrument(base, settings, info)
    if result.relayout:
        result = dataclasses.replace(result, output=gofmt.relayout(base, result.output))
    return dataclasses.replace(result, source=src) if base is not src else result
