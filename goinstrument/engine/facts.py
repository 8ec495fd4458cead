"""What one file holds that planning reads: immutable facts, and the names its new imports get."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from functools import cached_property

from tree_sitter import Node

from goinstrument.backends.protocol import Backend
from goinstrument.engine.go import syntax, tolerance
from goinstrument.engine.imports import ImportSpec, default_package_name, read_imports

CONTEXT_PATHS = ("context", "golang.org/x/net/context")


class FileFacts:
    """The parsed file: its imports, the names it imports `context` under, its package and line ending."""

    def __init__(self, src: bytes, root: Node, eol: bytes, imports: tuple[ImportSpec, ...], package: str) -> None:
        self.src = src
        self.root = root
        self.eol = eol
        self.imports = imports
        self.package = package

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

    def has_identifier(self, word: bytes, start: int = 0, end: int | None = None) -> bool:
        """Whether an identifier of the file starting in [start, end) is `word` (of the kinds
        syntax.Identifiers holds). Each place the bytes spell `word` is looked up in the tree: a
        name is spelled in a few places, and a file has thousands of identifiers (on an edited
        file's tree, collecting them is the whole query). Where the tree holds stand-ins for some
        letters (tolerance.py), the identifiers' text decides, as it reads them."""
        end = len(self.src) if end is None else end
        if not self._tree_bytes:
            return word in syntax.Identifiers(self.root).names_in(start, end)
        at = self.src.find(word, start, end)
        while at >= 0:
            node = self.root.descendant_for_byte_range(at, at + len(word))
            if node is not None and node.start_byte == at and node.end_byte == at + len(word) and node.type in syntax.IDENTIFIER_KINDS:
                return True
            at = self.src.find(word, at + 1, end)
        return False

    @cached_property
    def _tree_bytes(self) -> bool:
        """Whether the tree's text is the file's bytes (not tolerance's stand-in letters)."""
        return not tolerance.letter_masks(self.src)


class TakenNames:
    """The names a new name must avoid, asked one at a time (`name in taken`).

    A name is taken if it is in `names` (imports, the package's other files, names
    chosen already) or is an identifier of the file, or of its bytes `start:end`
    (a function's) when a range is given (FileFacts.has_identifier: a name the
    bytes never spell, the usual `otel`, `span`, `ctx`, is decided by that alone).
    """

    def __init__(self, facts: FileFacts, names: set[str], start: int = 0, end: int | None = None) -> None:
        self._facts = facts
        self._names = names
        self._range = (start, end)

    def __contains__(self, name: object) -> bool:
        if name in self._names:
            return True
        return isinstance(name, str) and self._facts.has_identifier(name.encode(), *self._range)

    def __or__(self, names: Iterable[str]) -> TakenNames:
        return TakenNames(self._facts, self._names | set(names), *self._range)

    def add(self, name: str) -> None:
        self._names.add(name)


def fresh(preferred: tuple[str, ...], taken: Container[str]) -> str:
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

    def __init__(self, facts: FileFacts, backend: Backend, sibling_names: frozenset[str], more: Mapping[str, tuple[str, ...]] | None = None):
        self._facts = facts
        self._preferred = {**(more or {}), **backend.preferred_names}  # `more`: packages of --expected-errors
        self._sibling_names = sibling_names
        self._second: dict[str, str] = {}  # path -> name of the second import

    @cached_property
    def _taken(self) -> TakenNames:
        return TakenNames(self._facts, {s.local_name for s in self._facts.imports} | set(self._sibling_names))

    @cached_property
    def renamed(self) -> dict[ImportSpec, str]:
        """Imports of the backend's packages under a name another file of the package declares -> their new name."""
        preferred = self._preferred
        taken = self._taken | ()
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
        preferred = self._preferred
        names = {path: existing[path] for path in preferred if path in existing}
        taken = self._taken | self.renamed.values() if len(names) < len(preferred) else TakenNames(self._facts, set())
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
        for path in sorted(paths & set(self._facts.existing_imports)):
            if syntax.declares(top, names[path].encode()):
                names[path] = self._second_import(path)
        return names

    def _second_import(self, path: str) -> str:
        if path not in self._second:
            taken = self._taken | self._second.values() | self.renamed.values()
            preferred = self._preferred[path][1:] or (path.rsplit("/", 1)[-1] + "pkg",)
            self._second[path] = fresh(preferred, taken)
        return self._second[path]

    def additions(self, used: set[str]) -> list[tuple[str | None, str]]:
        """The imports to add, as (name or None for the default, path)."""
        existing = self._facts.existing_imports
        missing: list[tuple[str | None, str]] = [
            (None if (name := self.chosen[path]) == default_package_name(path) else name, path) for path in sorted(used) if path not in existing
        ]
        return missing + [(name, path) for path, name in sorted(self._second.items())]
