"""Reading a file's imports and adding new ones so that gofmt, goimports and gci stay silent.

gofmt sorts each run of consecutive import lines; goimports also wants a blank
line wherever a run passes from one group to another: the standard library,
third-party paths (a dot in the first element), and, with `-local PREFIXES`,
the paths starting with one of the prefixes (the module's own), in that order
(gci's standard, default and prefix sections). So a new third-party import
goes, in sorted position, into a run of third-party imports if the file has
one; else into a new run of its own, before the first run of local imports
if there is one (after the standard library's), or else at the end of the
last import block, after a blank line.
"""

from __future__ import annotations

import functools
import re

from tree_sitter import Node

from goinstrument.engine.edits import Edit, Ranges, insert
from goinstrument.engine.go import scopes, syntax
from goinstrument.engine.go.syntax import line_end, line_start, package_uses, text
from goinstrument.tuples import NamedTuple

_VERSION_SUFFIX = re.compile(r"^v[0-9]+$")


class ImportSpec(NamedTuple):
    name: str | None  # explicit name: alias, "_" or "."
    path: str
    start: int
    end: int
    row: int
    end_row: int
    in_block: bool  # inside import ( ... )

    @property
    def local_name(self) -> str:
        return self.name if self.name is not None else default_package_name(self.path)


@functools.cache  # asked of each import of a file (local_name) again and again: a few dozen paths a run
def default_package_name(path: str) -> str:
    """The name a package is usually declared with: the last path element, minus a major version."""
    parts = path.split("/")
    last = parts[-1]
    if _VERSION_SUFFIX.match(last) and len(parts) > 1:
        last = parts[-2]
    if path.startswith("gopkg.in/"):
        last = last.split(".")[0]
    return last.replace("-", "_").replace(".", "_")


def read_imports(root: Node) -> list[ImportSpec]:
    specs = []
    for decl in syntax.import_declarations(root):
        for child in decl.named_children:
            if child.type == "import_spec":
                specs.append(_spec(child, in_block=False))
            elif child.type == "import_spec_list":
                specs.extend(_spec(s, in_block=True) for s in child.named_children if s.type == "import_spec")
    return specs


def _spec(node: Node, in_block: bool) -> ImportSpec:
    name_node = node.child_by_field_name("name")
    path_node = node.child_by_field_name("path")
    path = text(path_node)[1:-1]
    name = text(name_node) if name_node is not None else None
    return ImportSpec(name, path, node.start_byte, node.end_byte, node.start_point[0], node.end_point[0], in_block)


def import_blocks(root: Node) -> list[Node]:
    return [
        child
        for decl in root.named_children
        if decl.type == "import_declaration"
        for child in decl.named_children
        if child.type == "import_spec_list"
    ]


def _is_third_party(path: str) -> bool:
    return "." in path.split("/")[0]


def is_local(path: str, local: tuple[str, ...]) -> bool:
    """goimports -local: a path starting with one of the prefixes (as strings), or a prefix less its "/"."""
    return any(path.startswith(prefix) or prefix.rstrip("/") == path for prefix in local if prefix)


def _group(path: str, local: tuple[str, ...]) -> int:
    """goimports' group of a path: 0 the standard library, 1 third-party, 2 local."""
    if is_local(path, local):
        return 2
    return 1 if _is_third_party(path) else 0


def _runs(specs: list[ImportSpec]) -> list[list[ImportSpec]]:
    """Runs of specs on consecutive lines inside import blocks, as gofmt sorts them."""
    runs: list[list[ImportSpec]] = []
    for spec in specs:
        if not spec.in_block:
            continue
        if runs and runs[-1][-1].end_row + 1 == spec.row and runs[-1][-1].in_block:
            runs[-1].append(spec)
        else:
            runs.append([spec])
    return runs


def spec_text(name: str | None, path: str) -> bytes:
    return (f'{name} "{path}"' if name else f'"{path}"').encode()


def plan_additions(
    src: bytes, root: Node, specs: list[ImportSpec], new: list[tuple[str | None, str]], eol: bytes, local: tuple[str, ...] = ()
) -> list[Edit]:
    """Edits adding the imports `new`, (name or None, path) pairs; `local`: goimports' -local prefixes."""
    if not new:
        return []
    new = sorted(new, key=lambda item: (item[1], item[0] or ""))
    blocks = import_blocks(root)
    if not blocks:
        return _single_line_to_block(root, src, specs, new, eol, local)
    if not all(_gofmt_layout(src, block) for block in blocks):
        # `import ("context")` or `import ()`: not gofmt's layout; add declarations of our own.
        return _separate_declarations(src, root, new, eol)
    edits: list[Edit] = []
    homeless: list[tuple[str | None, str]] = []
    runs = _runs(specs)
    locals_ = [run for run in runs if any(_group(s.path, local) == 2 for s in run)]
    for kind in (0, 1, 2):
        group = [item for item in new if _group(item[1], local) == kind]
        fitting = [run for run in runs if all(_group(s.path, local) == kind for s in run)]
        if group and fitting:
            edits += _into_run(src, fitting[-1], group, eol)
        elif group and kind == 1 and locals_:
            # A third-party group of its own, before the module's own imports (and after the standard library's).
            edits.append(insert(line_start(src, locals_[0][0].start), _lines(group, eol) + eol))
        elif group and kind == 0 and runs:
            # Standard-library imports where a block holds only others: a group of their own before
            # those, as goimports has them (and as a one-line import made a block gets them).
            first = runs[0][0]
            indent = src[line_start(src, first.start) : first.start]
            text = b"".join(indent + spec_text(name, path) + eol for name, path in group)
            edits.append(insert(line_start(src, first.start), text + eol))
        else:
            homeless += group
    if homeless:
        at = line_start(src, blocks[-1].children[-1].start_byte)
        edits.append(insert(at, b"".join(eol + _lines(group, eol) for group in _groups(homeless, local))))
    return edits


def _gofmt_layout(src: bytes, block: Node) -> bool:
    """A block with specs whose `)` starts a line of its own."""
    closing = block.children[-1]
    return block.named_child_count > 0 and src[line_start(src, closing.start_byte) : closing.start_byte].strip() == b""


def _groups(items: list[tuple[str | None, str]], local: tuple[str, ...]) -> list[list[tuple[str | None, str]]]:
    """Standard-library paths, third-party ones, then the local ones: goimports' groups, in its order."""
    groups = [[i for i in items if _group(i[1], local) == kind] for kind in (0, 1, 2)]
    return [g for g in groups if g]


def _lines(items: list[tuple[str | None, str]], eol: bytes) -> bytes:
    return b"".join(b"\t" + spec_text(name, path) + eol for name, path in items)


def _single_line_to_block(
    root: Node, src: bytes, specs: list[ImportSpec], new: list[tuple[str | None, str]], eol: bytes, local: tuple[str, ...]
) -> list[Edit]:
    """Turn the last one-line import into a block, as goimports would merge separate import lines anyway."""
    singles = [s for s in specs if not s.in_block and s.path != "C"]
    if not singles:
        return _separate_declarations(src, root, new, eol)
    spec = singles[-1]
    decl = spec_node_parent(root, spec)
    existing = src[spec.start : spec.end]
    entries = sorted([(spec.name, spec.path), *new], key=lambda item: (item[1], item[0] or ""))
    body = eol.join(_lines(group, eol) for group in _groups(entries, local))
    body = body.replace(b"\t" + spec_text(spec.name, spec.path) + eol, b"\t" + existing + eol, 1)
    return [Edit(decl.start_byte, decl.end_byte, b"import (" + eol + body + b")")]


def _separate_declarations(src: bytes, root: Node, new: list[tuple[str | None, str]], eol: bytes) -> list[Edit]:
    """`import "path"` lines after the last import declaration: always valid Go, whatever the layout."""
    decls = [d for d in root.named_children if d.type in ("import_declaration", "package_clause")]
    at = line_end(src, decls[-1].end_byte)
    return [insert(at, b"".join(eol + b"import " + spec_text(name, path) for name, path in new))]


def spec_node_parent(root: Node, spec: ImportSpec) -> Node:
    for decl in root.named_children:
        if decl.type == "import_declaration" and decl.start_byte <= spec.start < decl.end_byte:
            return decl
    raise ValueError("import spec outside any declaration")


def _into_run(src: bytes, run: list[ImportSpec], new: list[tuple[str | None, str]], eol: bytes) -> list[Edit]:
    indent = src[line_start(src, run[0].start) : run[0].start]
    edits = []
    for name, path in new:
        text = indent + spec_text(name, path) + eol
        before = next((s for s in run if (s.path, s.name or "") > (path, name or "")), None)
        if before is not None:
            edits.append(insert(line_start(src, before.start), text))
        else:
            # At the start of the next line (not the end of this one): the same bytes, and an
            # edit deleting the last spec's line (an import the same run drops) does not overlap it.
            edits.append(insert(line_end(src, run[-1].end) + len(eol), text))
    return edits


def rename_imports(root: Node, renamed: dict[ImportSpec, str], skip: list[tuple[int, int]]) -> list[Edit]:
    """Give each import its new name, and every use of it in the file: not a local of that
    name, and not a use inside the `skip` ranges (code being deleted)."""
    edits: list[Edit] = []
    uses = package_uses(root) if renamed else []
    skipped = Ranges(skip)
    for spec, name in renamed.items():
        new = name.encode()
        if spec.name is None:
            edits.append(insert(spec.start, new + b" "))
        else:
            edits.append(Edit(spec.start, spec.start + len(spec.name.encode()), new))
        old = spec.local_name.encode()
        edits += [
            Edit(use.start_byte, use.end_byte, new)
            for use in uses
            if use.text == old and not scopes.resolves_locally(use, old) and use.start_byte not in skipped
        ]
    return edits
