"""The import path of a Go package, from the nearest go.mod above it."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from goinstrument.engine.options import RewriteOptions

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


# `go 1.22`, `go 1.22.3`, `go 1.21rc1`: the go.mod's language version (cmd/go's gover.Lang).
_GO_LINE = re.compile(rb"^[ \t]*go[ \t]+(?P<major>\d+)\.(?P<minor>\d+)", re.MULTILINE)


def go_version(gomod: bytes) -> tuple[int, int] | None:
    """The (major, minor) language version a go.mod's `go` line names, or None without one."""
    match = _GO_LINE.search(gomod)
    return (int(match.group("major")), int(match.group("minor"))) if match else None


@lru_cache(maxsize=256)
def _go_version_in(root: str) -> tuple[int, int] | None:
    try:
        with open(os.path.join(root, "go.mod"), "rb") as f:
            return go_version(f.read())
    except OSError:
        return None


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
    rel = os.path.relpath(directory, root).replace(os.sep, "/")
    if path == "std":  # GOROOT/src: the standard library's import paths have no module prefix (net/http)
        return rel if rel != "." else None
    return path if rel == "." else f"{path}/{rel}"


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


def _unquote(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`' else token


def required_modules(gomod_text: str, indirect: bool = False) -> frozenset[str]:
    """The module paths a go.mod's `require` directives name, single or in `require (` blocks, less
    those marked `// indirect` (unless `indirect`): go.sum need not hold what a direct import of one
    needs (a `go get go.opentelemetry.io/otel/trace` leaves otel itself indirect, and the build fails)."""
    found: set[str] = set()
    in_block = False
    for raw in gomod_text.splitlines():
        line, _, comment = raw.partition("//")
        line = line.strip()
        if comment.strip().startswith("indirect") and not indirect:
            if in_block and line.startswith(")"):
                in_block = False
            continue
        if in_block:
            if line.startswith(")"):
                in_block = False
            elif line:
                found.add(_unquote(line.split()[0]))
            continue
        words = line.split()
        if not words or words[0] != "require":
            continue
        rest = line[len("require") :].strip()
        if rest.startswith("("):
            rest = rest[1:].strip()
            in_block = not rest.endswith(")")
            rest = rest.rstrip(")").strip()
        if rest:
            found.add(_unquote(rest.split()[0]))
    return frozenset(found)


def _provides(module: str, import_path: str) -> bool:
    return import_path == module or import_path.startswith(module + "/")


def missing_requirements(files: list[str], import_paths: tuple[str, ...]) -> list[tuple[str, str, str, bool]]:
    """(module root, module path, import path, listed as indirect) for each module holding one of
    `files` whose go.mod requires no module providing an import path of `import_paths` (the spans'
    imports) directly, in the files' order, each module once. A module providing the path itself
    needs nothing."""
    missing: list[tuple[str, str, str, bool]] = []
    seen: set[str] = set()
    for file in files:
        found = _module_of(os.path.dirname(os.path.abspath(file)))
        if found is None or found[0] in seen:
            continue
        root, module = found
        seen.add(root)
        try:
            with open(os.path.join(root, "go.mod"), encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        required = required_modules(text)
        for path in import_paths:
            if not any(_provides(m, path) for m in (module, *required)):
                missing.append((root, module, path, any(_provides(m, path) for m in required_modules(text, indirect=True))))
                break
    return missing


def go_version_of(file_path: str | os.PathLike[str], module: Module = ON_DISK) -> tuple[int, int] | None:
    """The language version of the module holding the file (`module` as for import_path), or None
    outside any module. A staged blob's is read from its module's go.mod in the working tree: the
    index gives its module path, and a go line seldom changes in the commit that uses it."""
    found = _module_of(os.path.dirname(os.path.abspath(file_path))) if module == ON_DISK else module
    return None if found is None or not found[0] else _go_version_in(found[0])
