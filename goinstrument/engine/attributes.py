"""Span attributes from a function's signature: basic-typed parameters and results, and code location.

Only Go's predeclared basic types (and slices of the ones OpenTelemetry has
slice attributes for) become attributes; anything else would need a
conversion we cannot check without types.
"""

from __future__ import annotations

import sys

from tree_sitter import Node

from goinstrument.backends.protocol import Attribute, go_string
from goinstrument.engine.go import syntax

CODE_FUNCTION = "code.function.name"
CODE_FILE = "code.file.path"
CODE_LINE = "code.line.number"

# Go type -> (attribute constructor, conversion applied to the value or "")
_SCALARS = {
    "string": ("String", ""),
    "bool": ("Bool", ""),
    "int": ("Int", ""),
    "int64": ("Int64", ""),
    "float64": ("Float64", ""),
    "float32": ("Float64", "float64"),
    **{t: ("Int64", "int64") for t in ("int8", "int16", "int32", "rune", "uint", "uint8", "byte", "uint16", "uint32", "uint64", "uintptr")},
}
_SLICES = {"string": "StringSlice", "bool": "BoolSlice", "int": "IntSlice", "int64": "Int64Slice", "float64": "Float64Slice"}


def _of(name: str, type_node: Node | None, variadic: bool = False) -> Attribute | None:
    if type_node is None or name == "_":
        return None
    if variadic or type_node.type == "slice_type":
        element = type_node if variadic else type_node.child_by_field_name("element")
        if element is not None and element.type == "type_identifier" and syntax.text(element) in _SLICES:
            return Attribute(name, _SLICES[syntax.text(element)], name)
        return None
    if type_node.type != "type_identifier" or syntax.text(type_node) not in _SCALARS:
        return None
    constructor, conversion = _SCALARS[syntax.text(type_node)]
    return Attribute(name, constructor, f"{conversion}({name})" if conversion else name)


def from_parameters(params: Node | None, skip: str) -> list[Attribute]:
    """Named parameters of basic types, in order; `skip` is the context parameter."""
    found = []
    for decl in params.named_children if params is not None else []:
        variadic = decl.type == "variadic_parameter_declaration"
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        for name_node in decl.children_by_field_name("name"):
            name = syntax.text(name_node)
            attribute = _of(name, decl.child_by_field_name("type"), variadic) if name != skip else None
            if attribute is not None:
                found.append(attribute)
    return found


def code_location(function: str, file_path: str, line: int) -> list[Attribute]:
    """OpenTelemetry semantic conventions: code.function.name, code.file.path, code.line.number."""
    return [
        Attribute(CODE_FUNCTION, "String", go_string(function)),
        Attribute(CODE_FILE, "String", go_string(file_path)),
        Attribute(CODE_LINE, "Int", str(line)),
    ]


# What a name from the file system holds (a tracer or code.file.path from a directory): the driver
# decodes names as os.fsdecode does, a byte that is not UTF-8 a lone surrogate; these undo and redo it.
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def name_bytes(text: str) -> bytes:
    """os.fsencode(text)."""
    return text.encode(_FS_ENCODING, _FS_ERRORS)


def name_text(data: bytes) -> str:
    """os.fsdecode(data)."""
    return data.decode(_FS_ENCODING, _FS_ERRORS)
