"""Names declared at package level by the other files of a package.

An import is file-scoped, but Go forbids a name that is both imported in one
file and declared at package level in another. Before choosing an import name
such as `codes`, we look at the top-level declarations of the sibling files.
A line scanner is enough: it only has to find names that may clash, and a
name found by mistake costs no more than an import alias.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

_TOP_LEVEL = re.compile(rb"^(?:func|var|const|type)\s+((?:\w+\s*,\s*)*\w+)", re.MULTILINE)
# A group's first member may share the `(` line (a one-line group runs on to a later
# `)`: more names than declared, which costs at most an import alias).
_GROUP = re.compile(rb"^(?:var|const|type)\s*\((.*?)^\)", re.MULTILINE | re.DOTALL)
_GROUP_MEMBER = re.compile(rb"^\s*((?:\w+\s*,\s*)*\w+)", re.MULTILINE)
_GROUP_FIRST = re.compile(rb"^(?:var|const|type)\s*\(\s*((?:\w+\s*,\s*)*\w+)", re.MULTILINE)  # `const (k = 1)`
_WORD = re.compile(rb"\w+")

# Predeclared names whose package-level declaration changes what a file means
# (typenames.py). They occur in almost every file, so a file is scanned for
# them only when it holds one of the usual forms of such a declaration.
PREDECLARED = frozenset({"error"})


def _declaration_forms(name: bytes) -> tuple[bytes, ...]:
    """`type error ...`, `var error ...`, a group member on its own line (gofmt's tab), ..."""
    return (b"type " + name, b"var " + name, b"const " + name, b"func " + name, b"\n\t" + name)


def declared_names(src: bytes) -> set[str]:
    names: set[bytes] = set()
    for pattern in (_TOP_LEVEL, _GROUP_FIRST):
        for match in pattern.finditer(src):
            names.update(_WORD.findall(match.group(1)))
    for group in _GROUP.finditer(src):
        for member in _GROUP_MEMBER.finditer(group.group(1)):
            names.update(_WORD.findall(member.group(1)))
    return {n.decode("utf-8", "replace") for n in names}


@lru_cache(maxsize=256)
def package_declarations(directory: str, wanted: frozenset[str]) -> frozenset[str]:
    """Which of `wanted` some .go file in `directory` declares at top level (tests
    included: they share the package). Only files that mention one of them are scanned."""
    # Substring tests are fast; a name holding another (otelcodes, codes) needs no test of its own.
    rare = wanted - PREDECLARED
    words = [w.encode() for w in rare if not any(o != w and o in w for o in rare)]
    forms = [form for name in wanted & PREDECLARED for form in _declaration_forms(name.encode())]
    names: set[str] = set()
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(".go") and e.is_file()]
    except OSError:
        return frozenset()
    for entry in entries:  # regular files only: a pipe named x.go would block the read
        try:
            with open(entry.path, "rb") as f:
                data = f.read()
            if any(word in data for word in words) or any(form in data for form in forms):
                names |= declared_names(data) & wanted
        except OSError:
            continue
    return frozenset(names)
