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

from goinstrument import syntax


def aliases(root: Node) -> dict[str, str]:
    """Top-level `type A = X` of the file: alias name -> the text of X's type name, a pointer dropped."""
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
    """The named type a receiver alias stands for: `T`, `*T` and `(*T)` give T; anything else None."""
    while node is not None and node.type in ("pointer_type", "parenthesized_type"):
        node = node.named_children[0] if node.named_children else None
    return syntax.text(node) if node is not None and node.type == "type_identifier" else None


def resolve(type_name: str, aliases: Mapping[str, str]) -> str:
    """The type a receiver type name stands for, following aliases (a cycle, invalid Go, stops)."""
    seen = {type_name}
    while type_name in aliases and aliases[type_name] not in seen:
        type_name = aliases[type_name]
        seen.add(type_name)
    return type_name


def is_init(node: Node) -> bool:
    """A package initialisation function: `func init()` at top level (never a method)."""
    name = node.child_by_field_name("name")
    return node.type == "function_declaration" and name is not None and name.text == b"init" and node.parent is not None and node.parent.type == "source_file"
