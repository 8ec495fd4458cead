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


# How a module's go.mod lacks a module the spans import (missing_requirements), and so what fixes it:
ABSENT = "absent"  # not required at all: `go get` it (then tidy, or it stays `// indirect`)
INDIRECT = "indirect"  # required `// indirect` only: `go mod tidy` makes it direct
IMPLIED = "implied"  # a backend's module of its own, not listed, which a required one requires: `go mod tidy` lists it


def missing_requirements(
    files: list[str],
    import_paths: tuple[str, ...],
    other_paths: tuple[str, ...] = (),
    modules: tuple[str, ...] = (),
    outputs: dict[str, bytes] | None = None,
) -> list[tuple[str, str, str, str]]:
    """(module root, module path, import path, how it lacks it: ABSENT, INDIRECT or IMPLIED) for
    each module holding one of `files` whose go.mod does not require directly the module providing
    an import path of `import_paths` (the spans' first lines': every file with a span imports
    them), or of `other_paths` (what some spans add: a server span's, start attributes', the error
    block's) that one of its `files` imports; in the files' order, each module once, its first such
    path. A file's imports are read from `outputs` (its bytes by path, where they are at hand: a
    staged blob's are not the working tree's), else from the file on disk.

    The module providing a path is the longest of the module itself, the modules its go.mod
    requires and `modules` (the backend's modules of their own) whose path is the import path or
    a prefix of it, as the go command picks among those of its build list:
    go.opentelemetry.io/otel/trace is a module of its own, which a tidy go.mod lists `// indirect`
    beside a direct otel until the code imports trace: the build passes, and `go mod tidy` then
    makes it direct. Not listed at all, the build fails ("updates to go.mod needed"), and `go mod
    tidy` lists it from otel's requirements (a `go get` of it would upgrade otel and the go line)."""
    held: dict[str, tuple[str, list[str]]] = {}  # module root -> (module path, its files)
    for file in files:
        found = _module_of(os.path.dirname(os.path.abspath(file)))
        if found is not None:
            held.setdefault(found[0], (found[1], []))[1].append(file)
    missing: list[tuple[str, str, str, str]] = []
    for root, (module, members) in held.items():
        try:
            with open(os.path.join(root, "go.mod"), encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        direct, listed = required_modules(text), required_modules(text, indirect=True)
        for path in (*import_paths, *(p for p in other_paths if p not in import_paths)):
            provider = max((m for m in (module, *listed, *modules) if _provides(m, path)), key=len, default=None)
            if provider == module or provider in direct:
                continue
            if path not in import_paths and not any(path in _imports_of(file, outputs) for file in members):
                continue  # (read up to the first file importing it: in practice one path gets here, trace)
            missing.append((root, module, path, INDIRECT if provider in listed else ABSENT if provider is None else IMPLIED))
            break
    return missing


def _imports_of(file: str, outputs: dict[str, bytes] | None) -> list[str]:
    """The file's import paths: of its bytes in `outputs`, else of the file on disk ([] unread)."""
    data = outputs.get(file) if outputs is not None else None
    if data is None:
        try:
            with open(file, "rb") as f:
                data = f.read()
        except OSError:
            return []
    return imported_paths(data)


# Go's tokens before and between the import declarations (the spec's source file: package clause,
# then import declarations): white space, comments (a cgo preamble is one) and semicolons.
_BETWEEN = re.compile(r"(?:\s|//[^\n]*|/\*.*?\*/|;)*", re.DOTALL)
_IDENTIFIER = re.compile(r"[^\W\d]\w*")  # a letter (or _) then letters and digits, Unicode's
_KEYWORD = re.compile(r"(package|import)(?!\w)")
_IMPORT_NAME = re.compile(r"[^\W\d]\w*|\.")  # a name, _ or .
_IMPORT_PATH = re.compile(r'"((?:[^"\\\n]|\\.)*)"|`([^`]*)`')


def imported_paths(src: bytes) -> list[str]:
    """The import paths a Go file's import declarations name, as written between the quotes (no
    escape undone: no import path holds one), read as Go's grammar has them: after the package
    clause, before any other declaration; [] where it has no package clause."""
    text = src.decode("utf-8", "replace")
    pos = _between(text, 1 if text.startswith("\ufeff") else 0)  # a byte order mark first is ignored, as by gc
    keyword = _KEYWORD.match(text, pos)
    name = _IDENTIFIER.match(text, _between(text, keyword.end())) if keyword and keyword.group(1) == "package" else None
    if name is None:
        return []
    paths: list[str] = []
    pos = name.end()
    while (keyword := _KEYWORD.match(text, _between(text, pos))) is not None and keyword.group(1) == "import":
        pos = _between(text, keyword.end())
        grouped = text.startswith("(", pos)
        pos = pos + 1 if grouped else pos
        while True:
            pos = _between(text, pos)
            if grouped and text.startswith(")", pos):
                pos += 1
                break
            named = _IMPORT_NAME.match(text, pos)
            literal = _IMPORT_PATH.match(text, _between(text, named.end()) if named else pos)
            if literal is None:
                return paths
            paths.append(literal.group(1) if literal.group(1) is not None else literal.group(2))
            pos = literal.end()
            if not grouped:
                break
    return paths


def _between(text: str, pos: int) -> int:
    return _BETWEEN.match(text, pos).end()  # type: ignore[union-attr]  # it matches the empty string


def go_version_of(file_path: str | os.PathLike[str], module: Module = ON_DISK) -> tuple[int, int] | None:
    """The language version of the module holding the file (`module` as for import_path), or None
    outside any module. A staged blob's is read from its module's go.mod in the working tree: the
    index gives its module path, and a go line seldom changes in the commit that uses it."""
    found = _module_of(os.path.dirname(os.path.abspath(file_path))) if module == ON_DISK else module
    return None if found is None or not found[0] else _go_version_in(found[0])
