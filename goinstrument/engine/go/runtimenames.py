"""The names the Go runtime gives declared functions that are not spelled as written.

- A method declared on an alias (`type B = T`, `type P = *T`) belongs to the
  aliased type, and the runtime names it so: `T.M` (`(*T).M` for a pointer
  receiver, which a span name writes as `T.M`). Aliases of aliases are
  followed. Only aliases declared at the top level of the same file are seen
  here; `aliased_types` is what a driver passes for the package's other files.
- `func init()` may be declared many times in a package; cmd/compile calls the
  k-th one (counting across the package's files in the order it compiles them,
  see package_scope.init_functions_before) `init.k`, so its literals are
  `init.0.func1`, `init.1.func1`, ...
"""

from __future__ import annotations

from collections.abc import Mapping

from tree_sitter import Node

from goinstrument.engine.go import syntax


def aliases(root: Node) -> dict[str, str]:
    """Top-level `type A = X` of the file: alias name -> the text of X's type name, `*` before it
    for a pointer (`type P = *T` gives `*T`)."""
    found: dict[str, str] = {}
    for decl in root.named_children:
        if decl.type != "type_declaration":
            continue
        for spec in decl.named_children:
            if spec.type != "type_alias" or spec.child_by_field_name("type_parameters") is not None:
                continue
            name, target = spec.child_by_field_name("name"), _base(spec.child_by_field_name("type"))
            if name is not None and target is not None:
                found[syntax.text(name)] = target
    return found


def _base(node: Node | None) -> str | None:
    """The named type a receiver alias stands for: `T` gives T, `*T` and `(*T)` give *T; anything else None."""
    pointer = ""
    while node is not None and node.type in ("pointer_type", "parenthesized_type"):
        pointer = "*" if node.type == "pointer_type" else pointer
        node = node.named_children[0] if node.named_children else None
    return pointer + syntax.text(node) if node is not None and node.type == "type_identifier" else None


def resolve(type_name: str, aliases: Mapping[str, str]) -> str:
    """The type a receiver type name stands for, following aliases (a cycle, invalid Go, stops)."""
    return resolve_pointer(type_name, aliases)[0]


def resolve_pointer(type_name: str, aliases: Mapping[str, str]) -> tuple[str, bool]:
    """(the type a receiver type name stands for, whether an alias on the way is a pointer to it)."""
    seen, pointer = {type_name}, False
    while type_name in aliases and aliases[type_name].lstrip("*") not in seen:
        target = aliases[type_name]
        pointer |= target.startswith("*")
        type_name = target.lstrip("*")
        seen.add(type_name)
    return type_name, pointer


def receiver(type_name: str, pointer: bool, generic: bool) -> str:
    """A method's receiver as the runtime writes it in a name: `T`, `(*T)`, `T[...]`, `(*T[...])`."""
    spelled = type_name + ("[...]" if generic else "")
    return f"(*{spelled})" if pointer else spelled


def qualified_prefix(package: str, import_path: str, test_file: bool) -> str:
    """What the runtime writes before a function's name: the package's import path, escaped as
    cmd/compile escapes it (objabi.PathToPrefix: `gopkg.in/yaml%2ev3`), `_test` after it for an
    external test package; `main` for package main outside a test build (`go test` compiles a
    main package under its import path). The package name where the import path is unknown."""
    if not import_path or (package == "main" and not test_file):
        return package
    if package.endswith("_test") and test_file:
        import_path += "_test"
    return _path_to_prefix(import_path)


def _path_to_prefix(path: str) -> str:
    data = path.encode()
    slash = data.rfind(b"/")
    out = []
    for i, byte in enumerate(data):
        c = chr(byte)
        if byte <= 0x20 or byte >= 0x7F or c in '%"' or (c == "." and i > slash):
            out.append(f"%{byte:02x}")
        else:
            out.append(c)
    return "".join(out)


def is_init(node: Node) -> bool:
    """A package initialisation function: `func init()` at top level (never a method)."""
    if node.type != "function_declaration":  # asked first: a method or a literal has no name to read
        return False
    name = node.child_by_field_name("name")
    return name is not None and name.text == b"init" and node.parent is not None and node.parent.type == "source_file"
