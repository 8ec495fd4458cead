"""What one file holds that planning reads: immutable facts, and the names its new imports get."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from tree_sitter import Node

from goinstrument import syntax
from goinstrument.backend import Backend
from goinstrument.imports import ImportSpec, default_package_name, read_imports

CONTEXT_PATHS = ("context", "golang.org/x/net/context")


@dataclass(frozen=True)
class FileFacts:
    """The parsed file: its imports, the names it imports `context` under, its package and line ending."""

    src: bytes
    root: Node
    eol: bytes
    imports: tuple[ImportSpec, ...]
    package: str

    @classmethod
    def read(cls, src: bytes, root: Node) -> FileFacts:
        eol = b"\r\n" if b"\r\n" in src[: src.find(b"\n") + 1] else b"\n"
        clause = next((c for c in root.named_children if c.type == "package_clause"), None)
        package = syntax.text(clause.named_children[0]) if clause is not None and clause.named_children else ""
        return cls(src, root, eol, tuple(read_imports(root)), package)

    @cached_property
    def existing_imports(self) -> dict[str, str]:
        """Import path -> the name the file uses for it (blank and dot imports left out)."""
        return {s.path: s.local_name for s in self.imports if s.name not in ("_", ".")}

    @cached_property
    def imported_under(self) -> dict[str, frozenset[bytes]]:
        """Import path -> every name the file imports it under (a package may be imported twice)."""
        found: dict[str, set[bytes]] = {}
        for spec in self.imports:
            if spec.name not in ("_", "."):
                found.setdefault(spec.path, set()).add(spec.local_name.encode())
        return {path: frozenset(names) for path, names in found.items()}

    @cached_property
    def context_names(self) -> frozenset[str]:
        return frozenset(s.local_name for s in self.imports if s.path in CONTEXT_PATHS and s.name != "_")

    @cached_property
    def identifiers(self) -> syntax.Identifiers:
        """Every identifier of the file, collected the first time a name has to be chosen."""
        return syntax.Identifiers(self.root)


def fresh(preferred: tuple[str, ...], taken: set[str]) -> str:
    """The first preferred name not taken, else the last one numbered."""
    for name in preferred:
        if name not in taken:
            return name
    base = preferred[-1]
    n = 1
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


class ImportNames:
    """The name allocator for the backend's imports in one file.

    An import the file has is reused under its name; a missing one gets a
    name free in the file and in the package's other files. An import of
    one of the backend's packages whose name another file of the package
    declares (Go forbids a name in both the file and the package block) is
    renamed to a fresh name, its uses following (`renamed`). Where a
    function's own declaration shadows an import's name, the package is
    imported a second time under a fresh name (allocated once per file).
    """

    def __init__(self, facts: FileFacts, backend: Backend, sibling_names: frozenset[str]):
        self._facts = facts
        self._backend = backend
        self._sibling_names = sibling_names
        self._second: dict[str, str] = {}  # path -> name of the second import

    @cached_property
    def _taken(self) -> set[str]:
        facts = self._facts
        names = {n.decode() for n in facts.identifiers.all_names()} | {s.local_name for s in facts.imports}
        return names | set(self._sibling_names)

    @cached_property
    def renamed(self) -> dict[ImportSpec, str]:
        """Imports of the backend's packages under a name another file of the package declares -> their new name."""
        preferred = self._backend.preferred_names
        taken = set(self._taken)
        found: dict[ImportSpec, str] = {}
        for spec in self._facts.imports:
            if spec.path in preferred and spec.name not in ("_", ".") and spec.local_name in self._sibling_names:
                found[spec] = fresh(preferred[spec.path], taken)
                taken.add(found[spec])
        return found

    @cached_property
    def chosen(self) -> dict[str, str]:
        """Import path -> the name inserted code calls it by."""
        existing = dict(self._facts.existing_imports)
        existing.update({spec.path: name for spec, name in self.renamed.items() if existing.get(spec.path) == spec.local_name})
        preferred = self._backend.preferred_names
        names = {path: existing[path] for path in preferred if path in existing}
        taken = set(self._taken) | set(self.renamed.values()) if len(names) < len(preferred) else set()
        for path in preferred:
            if path not in existing:
                names[path] = fresh(preferred[path], taken)
                taken.add(names[path])
        return names

    def for_function(self, func: Node, paths: set[str]) -> dict[str, str]:
        """Package names for one function's inserted code: a second import where its declaration shadows one."""
        names = dict(self.chosen)
        top = func
        while top.parent is not None and top.parent.type != "source_file":
            top = top.parent
        shadowing: set[bytes] | None = None
        for path in sorted(paths & set(self._facts.existing_imports)):
            if shadowing is None:
                shadowing = syntax.declared_names(top)
            if names[path].encode() in shadowing:
                names[path] = self._second_import(path)
        return names

    def _second_import(self, path: str) -> str:
        if path not in self._second:
            taken = self._taken | set(self._second.values()) | set(self.renamed.values())
            preferred = self._backend.preferred_names[path][1:] or (path.rsplit("/", 1)[-1] + "pkg",)
            self._second[path] = fresh(preferred, taken)
        return self._second[path]

    def additions(self, used: set[str]) -> list[tuple[str | None, str]]:
        """The imports to add, as (name or None for the default, path)."""
        existing = self._facts.existing_imports
        missing: list[tuple[str | None, str]] = [
            (None if (name := self.chosen[path]) == default_package_name(path) else name, path)
            for path in sorted(used)
            if path not in existing
        ]
        return missing + [(name, path) for path, name in sorted(self._second.items())]
