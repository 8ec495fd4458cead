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


def module_path(gomod: bytes) -> str | None:
    """The module path a go.mod's bytes declare, or None."""
    match = _MODULE.search(gomod)
    return match.group("path").decode("utf-8", "replace") if match else None


@lru_cache(maxsize=4096)
def _module_of(directory: str) -> tuple[str, str] | None:
    """(module root, module path) of the go.mod at or above `directory`."""
    gomod = os.path.join(directory, "go.mod")
    try:
        with open(gomod, "rb") as f:
            module = module_path(f.read())
        if module is not None:
            return directory, module
    except OSError:
        pass
    parent = os.path.dirname(directory)
    return None if parent == directory else _module_of(parent)


def module_above(directory: str) -> tuple[str, str] | None:
    """(module root, module path) of the go.mod above `directory` (not in it), on disk."""
    parent = os.path.dirname(directory)
    return None if parent == directory else _module_of(parent)


Module = tuple[str, str] | None
ON_DISK: Module = ("", "")  # look for go.mod on disk (not a module: the default of the functions below)


def import_path(file_path: str | os.PathLike[str], module: Module = ON_DISK) -> str | None:
    """`module/sub/dir` for a file in `sub/dir` of a module, or None outside any module.

    The module is the nearest go.mod's on disk, unless `module` gives it ((root, path), or None:
    no module), as for a staged blob, whose go.mod is the index's."""
    directory = os.path.dirname(os.path.abspath(file_path))
    found = _module_of(directory) if module == ON_DISK else module
    if found is None:
        return None
    root, path = found
    rel = os.path.relpath(directory, root)
    return path if rel == "." else f"{path}/{rel.replace(os.sep, '/')}"


def module_of_file(file_path: str | os.PathLike[str], module: Module = ON_DISK) -> str | None:
    """The path of the module holding the file (its go.mod's `module`), or None outside any module
    (`module` as for import_path)."""
    found = _module_of(os.path.dirname(os.path.abspath(file_path))) if module == ON_DISK else module
    return None if found is None else found[1]


def tracer_for(place: str | os.PathLike[str], options: RewriteOptions, src: bytes, module: Module = ON_DISK) -> str:
    """The tracer name: --tracer, else the package's import path, else its package name."""
    if options.tracer:
        return options.tracer
    found = import_path(place, module)
    if found:
        return found
    match = re.search(rb"^package\s+(\w+)", src, re.MULTILINE)
    return match.group(1).decode() if match else "main"
