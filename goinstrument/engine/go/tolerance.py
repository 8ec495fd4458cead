"""Valid Go that tree-sitter-go (0.25.0, the newest release) rejects, parsed without moving a byte.

Two gaps of the grammar, and only these, are bridged:

- `new(expr)` (Go 1.26: `new(42)`, `new(T{})`, `new(f())`) and a call of a
  local `new` or `make` with an expression: the grammar takes `new(` and
  `make(` as the builtins and wants a type inside. Where a parse error lies
  inside such a call's parentheses, the callee is renamed for the parser to a
  name of the same length (`ne_`, `mak_`), so it parses as the plain call it
  is. The callee's name never flows into inserted code.
- Identifiers with the 22 letters Go accepts (unicode.IsLetter, Unicode 15)
  that are not XID_Start, which the grammar's identifier pattern requires
  (`ͺ`, `ำ`, Arabic isolated forms, halfwidth sound marks, ...). Each is
  replaced, wherever it occurs, by a letter of the same UTF-8 length that the
  file does not hold; `restore` maps them back in the output, so names the
  core writes (span names, the context parameter) are the file's own.

Byte offsets, lines and columns stay those of the file. A file still in error
after this is rejected as before.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from tree_sitter import Tree

# Go letters (unicode.IsLetter in Go 1.26, Unicode 15.0) tree-sitter-go's identifiers refuse.
UNSUPPORTED_LETTERS = frozenset(
    chr(c)
    for c in (
        *(0x037A, 0x0E33, 0x0EB3, 0x2E2F, 0xFC5E, 0xFC5F, 0xFC60, 0xFC61, 0xFC62, 0xFC63, 0xFDFA),
        *(0xFDFB, 0xFE70, 0xFE72, 0xFE74, 0xFE76, 0xFE78, 0xFE7A, 0xFE7C, 0xFE7E, 0xFF9E, 0xFF9F),
    )
)


@functools.cache
def _unsupported() -> re.Pattern[bytes]:
    """One pass over the bytes finds any of them (22 `in` tests took 7 times as long). Compiled for
    the first file that is not ASCII (4 ms: a run of ASCII files never pays it)."""
    return re.compile(b"|".join(re.escape(letter.encode()) for letter in sorted(UNSUPPORTED_LETTERS)))


# Stand-ins by UTF-8 length: XID_Start letters of rare blocks (Thaana, CJK Extension A, CJK Extension B).
_STAND_INS = {2: range(0x0780, 0x07A6), 3: range(0x3400, 0x4DC0), 4: range(0x20000, 0x2A6E0)}
_CALL = rb"(?<![\w.])(new|make)(\s*)\("  # compiled by `re` for the first parse in error (its cache keeps it)
_CALLEE_MASK = {b"new": b"ne_", b"make": b"mak_"}


def parse(src: bytes, parse_bytes: Callable[[bytes], Tree]) -> Tree:
    """The tree of `src`, through the masks above when the plain parse fails and a mask clears it."""
    tree = parse_bytes(src)
    if not tree.root_node.has_error:
        return tree
    masked = src
    letters = letter_masks(src)
    if letters:
        masked = _replace(masked, letters)
        tree = parse_bytes(masked)
    for _ in range(2):  # a masked call may reveal the next one in a nest
        if not tree.root_node.has_error:
            return tree
        calls = _mask_calls(masked, _error_starts(tree))
        if calls == masked:
            break
        masked = calls
        tree = parse_bytes(masked)
    return tree if not tree.root_node.has_error else parse_bytes(src)


def restore(src: bytes, output: bytes) -> bytes:
    """`output` with the stand-ins for `src`'s unsupported letters turned back into them."""
    letters = letter_masks(src)
    return _replace(output, {v: k for k, v in letters.items()}) if letters else output


@functools.lru_cache(maxsize=8)  # asked of a file's bytes by the core, its facts and remove: one search of them
def letter_masks(src: bytes) -> dict[str, str]:
    """Each unsupported letter `src` holds -> its stand-in (deterministic for a given src; not to be changed)."""
    if src.isascii() or not _unsupported().search(src):  # the bytes first: decoding costs more
        return {}
    try:
        text = src.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    found = sorted(set(text) & UNSUPPORTED_LETTERS)
    masks: dict[str, str] = {}
    for letter in found:
        pool = _STAND_INS[len(letter.encode())]
        masks[letter] = next(chr(c) for c in pool if chr(c) not in text and chr(c) not in masks.values())
    return masks


def _replace(data: bytes, masks: dict[str, str]) -> bytes:
    for old, new in masks.items():
        data = data.replace(old.encode(), new.encode())
    return data


def _error_starts(tree: Tree) -> list[int]:
    starts, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            starts.append(node.start_byte)
        stack.extend(child for child in node.children if child.has_error or child.is_missing)
    return starts


def _mask_calls(src: bytes, errors: list[int]) -> bytes:
    """Rename the callee of each `new(` / `make(` call whose parentheses hold a parse error."""
    out = bytearray(src)
    for match in re.finditer(_CALL, src):
        close = _closing(src, match.end() - 1)
        if any(match.start() <= e <= close for e in errors):
            out[match.start(1) : match.end(1)] = _CALLEE_MASK[match.group(1)]
    return bytes(out)


def _closing(src: bytes, open_at: int) -> int:
    """The offset of the bracket closing the one at `open_at` (or the end), skipping literals and comments."""
    depth, at = 0, open_at
    while at < len(src):
        ch = src[at : at + 1]
        if ch in b"([{":
            depth += 1
        elif ch in b")]}":
            depth -= 1
            if depth == 0:
                return at
        elif ch in b"\"'`":
            at = _literal_end(src, at)
        elif src.startswith(b"//", at):
            at = src.find(b"\n", at)
            at = len(src) if at < 0 else at
        elif src.startswith(b"/*", at):
            at = src.find(b"*/", at + 2)
            at = len(src) if at < 0 else at + 1
        at += 1
    return len(src)


def _literal_end(src: bytes, start: int) -> int:
    """The offset of the quote closing the string, rune or raw string literal opened at `start`."""
    quote = src[start : start + 1]
    at = start + 1
    while at < len(src):
        ch = src[at : at + 1]
        if ch == b"\\" and quote != b"`":
            at += 2
            continue
        if ch == quote or (ch == b"\n" and quote != b"`"):
            return at
        at += 1
    return len(src)
