"""The layers of goinstrument/, read from the import graph (ast, every import: at module level, inside
functions and under TYPE_CHECKING alike, since an import inside a function is a dependency all the same).

- The engine is pure: bytes and options in, bytes, findings and coverage out. It imports no layer
  above it, nothing that reaches files, processes or git, and calls no I/O.
- The backends only render: they import nothing of goinstrument but the package's own constants.
- No import cycle anywhere.
- Each module imports only modules of its own layer or of a lower one:
  the entry point > cli, config, settings > driver > report > options (the run's values) > engine > backends > the package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

PACKAGE = Path(__file__).parent.parent / "goinstrument"
ENTRY = "goinstrument:main"  # the installed command (pyproject's [project.scripts]): the top of the graph

# Highest first. A module's layer is that of the longest prefix naming it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry point", (ENTRY, "goinstrument.__main__", "goinstrument.server", "goinstrument.zygote")),
    ("command line", ("goinstrument.cli", "goinstrument.config", "goinstrument.settings")),
    ("driver", ("goinstrument.driver",)),
    ("report", ("goinstrument.report",)),
    ("run options", ("goinstrument.options",)),
    ("engine", ("goinstrument.engine",)),
    ("backends", ("goinstrument.backends",)),
    ("package", ("goinstrument",)),  # __version__ and outside_current_directory: the standard library only
]

# What the engine must not import: the layers above it, and what reaches files, processes, git or the clock.
ENGINE_FORBIDDEN = (
    "goinstrument.driver", "goinstrument.report", "goinstrument.cli", "goinstrument.config",
    "goinstrument.settings", "goinstrument.options", "goinstrument.__main__",
    "os", "subprocess", "pygit2", "shutil", "tempfile", "glob", "socket", "multiprocessing", "concurrent",
    "importlib", "argparse", "time", "datetime", "io",
)  # fmt: skip
BACKENDS_FORBIDDEN = (
    "goinstrument.engine", "goinstrument.driver", "goinstrument.report", "goinstrument.cli",
    "goinstrument.config", "goinstrument.settings", "goinstrument.options",
)  # fmt: skip
# Calls that read or write: builtins by name, and the file methods of Path (a str method never has these names).
IO_BUILTINS = frozenset({"open", "print", "input", "exec", "eval", "__import__"})
IO_METHODS = frozenset({
    "read_text", "read_bytes", "write_text", "write_bytes", "open", "touch", "mkdir", "unlink", "rmdir",
    "iterdir", "glob", "rglob", "exists", "is_file", "is_dir", "stat", "lstat", "resolve", "chmod",
    "samefile", "readlink", "symlink_to", "hardlink_to",
})  # fmt: skip
STREAMS = frozenset({"stdin", "stdout", "stderr"})


class Import(NamedTuple):
    module: str  # the importing node: a module, or ENTRY
    target: str  # a goinstrument module or package, or the top-level name of any other module
    line: int


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str:
    """The module an import names: a goinstrument module (or its package), else the top-level name."""
    if name.split(".")[0] != "goinstrument":
        return name.split(".")[0]
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _entry_point(tree: ast.Module) -> ast.FunctionDef | None:
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"), None)


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    # The package's main() is the installed command: its imports are the entry point's, not the package's.
    entry = _entry_point(tree) if module == "goinstrument" else None
    in_entry = {id(n) for n in ast.walk(entry)} if entry is not None else set()
    for node in ast.walk(tree):
        importer = ENTRY if id(node) in in_entry else module
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, _target(alias.name), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield Import(importer, _target(full if full in MODULES else base), node.lineno)


IMPORTS = list(dict.fromkeys(i for module, path in MODULES.items() for i in _imports(module, path)))


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _layer(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if _within(module, prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _where(i: Import) -> str:
    path = MODULES["goinstrument" if i.module == ENTRY else i.module]
    return f"{path.relative_to(PACKAGE.parent)}:{i.line}: {i.module} imports {i.target}"


def test_the_graph_is_read() -> None:
    """The reader sees imports inside functions and relative ones (else the tests below prove nothing)."""
    assert any(i.module == ENTRY and i.target == "goinstrument.cli" for i in IMPORTS)
    assert not any(i.module == "goinstrument" and i.target == "goinstrument.cli" for i in IMPORTS)
    assert any(i.module == "goinstrument.engine.core" and i.target == "goinstrument.engine.go.syntax" for i in IMPORTS)
    assert any(i.module == "goinstrument.driver.run" and i.target == "goinstrument.driver.stdin" for i in IMPORTS)  # in a function
    assert len(MODULES) > 40


def test_the_engine_imports_nothing_above_it_and_nothing_that_does_io() -> None:
    wrong = [_where(i) for i in IMPORTS if _within(i.module, ("goinstrument.engine",)) and _within(i.target, ENGINE_FORBIDDEN)]
    assert not wrong, "\n".join(wrong)


def _io_calls(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS:
            yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: calls {node.func.id}()"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in IO_METHODS:
            yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: calls .{node.func.attr}()"
        elif isinstance(node, ast.Attribute) and node.attr in STREAMS:
            yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: uses .{node.attr}"


def test_the_engine_does_no_io() -> None:
    wrong = [line for module, path in MODULES.items() if _within(module, ("goinstrument.engine",)) for line in _io_calls(path)]
    assert not wrong, "\n".join(wrong)


def test_the_io_check_sees_io() -> None:
    assert list(_io_calls(MODULES["goinstrument.driver.fileio"]))


def test_the_backends_import_no_layer_above_them() -> None:
    wrong = [_where(i) for i in IMPORTS if _within(i.module, ("goinstrument.backends",)) and _within(i.target, BACKENDS_FORBIDDEN)]
    assert not wrong, "\n".join(wrong)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per strongly connected component that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_path_back(min(c), c, edges) for c in components]


def _path_back(start: str, component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from `start` back to itself inside the component (breadth first)."""
    came_from: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges.get(node, set()) & component):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        if i.target in MODULES and i.target != i.module:
            edges.setdefault(i.module, set()).add(i.target)
    return edges


def test_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_each_module_imports_only_its_layer_or_lower() -> None:
    wrong = [
        f"{_where(i)} ({LAYERS[_layer(i.module)][0]} imports {LAYERS[_layer(i.target)][0]})"
        for i in IMPORTS
        if i.target in MODULES and _layer(i.target) < _layer(i.module)
    ]
    assert not wrong, "\n".join(wrong)


def test_every_rewrite_option_has_its_row_in_the_settings_table() -> None:
    """What a rewrite reads (engine.options) and how a flag or the file spells it (settings) are
    two modules: every field but `action` (--remove, never a file key) has one row, in field order."""
    from goinstrument.engine.options import RewriteOptions
    from goinstrument.settings import SETTINGS

    fields = [name for name in RewriteOptions._fields if name != "action"]
    assert list(SETTINGS) == fields
