"""The import path of a Go package, from the nearest go.mod above it."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from goinstrument.options import RewriteOptions

# `module path`, `module "path"`, or the block form `module (` path `)`, as modfile reads them.
_MODULE = re.compile(
    rb'^[ \t]*module[ \t]*(?:\([ \t]*(?://[^\n]*)?\n\s*)?(?P<q>["`]?)(?P<path>[^"`\s()]+)(?P=q)[ \t]*(?://.*)?$',
    re.MULTILINE,
)


@lru_cache(maxsize=4096)
def _module_of(directory: str) -> tuple[str, str] | None:
    """(module root, module path) of the go.mod at or above `directory`."""
    gomod = os.path.join(directory, "go.mod")
    try:
        with open(gomod, "rb") as f:
            match = _MODULE.search(f.read())
        if match:
            return directory, match.group("path").decode("utf-8", "replace")
    except OSError:
        pass
    parent = os.path.dirname(directory)
    return None if parent == directory else _module_of(parent)


def import_path(file_path: str | os.PathLike[str]) -> str | None:
    """`module/sub/dir` for a file in `sub/dir` of a module, or None outside any module."""
    directory = os.path.dirname(os.path.abspath(file_path))
    found = _module_of(directory)
    if found is None:
        return None
    root, module = found
    rel = os.path.relpath(directory, root).replace(os.sep, "/")
    if module == "std":  # GOROOT/src: the standard library's import paths have no module prefix (net/http)
        return rel if rel != "." else None
    return module if rel == "." else f"{module}/{rel}"


def tracer_for(place: str | os.PathLike[str], options: RewriteOptions, src: bytes) -> str:
    """The tracer name: --tracer, else the package's import path, else its package name."""
    if options.tracer:
        return options.tracer
    found = import_path(place)
    if found:
        return found
    match = re.search(rb"^package\s+(\w+)", src, re.MULTILINE)
    return match.group(1).decode() if match else "main"
