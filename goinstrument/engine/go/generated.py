"""Whether a Go file is generated, exactly as go/ast.IsGenerated decides.

go/ast (generator, in $GOROOT/src/go/ast/ast.go) looks at every comment that
starts before the `package` keyword, line comments and block comments alike.
A comment's text is its source text with the `//` or `/* */` markers kept and
carriage returns removed (go/scanner.stripCR); the text is split at newlines,
and the file is generated when one of those lines starts with
`// Code generated ` and ends with ` DO NOT EDIT.`. So an indented line
comment counts (the indentation is not part of the comment), and so does a
`// Code generated ... DO NOT EDIT.` line at the start of a line inside a
block comment; a marker after the package clause does not.

Only comments and blanks can stand before the package clause, so a small scan
of those is all this needs: no parse.
"""

from __future__ import annotations

_PREFIX = b"// Code generated "
_SUFFIX = b" DO NOT EDIT."
_BOM = b"\xef\xbb\xbf"
_BLANKS = b" \t\r\n"


def is_generated(src: bytes) -> bool:
    """go/ast.IsGenerated for the file `src`."""
    return any(_marks_generated(comment) for comment in leading_comments(src))


def leading_comments(src: bytes) -> list[bytes]:
    """The text of each comment before the package clause, as go/scanner gives it (CRs removed)."""
    comments: list[bytes] = []
    at = len(_BOM) if src.startswith(_BOM) else 0
    while True:
        while at < len(src) and src[at] in _BLANKS:
            at += 1
        if src.startswith(b"//", at):
            end = src.find(b"\n", at)
            end = len(src) if end < 0 else end
        elif src.startswith(b"/*", at):
            close = src.find(b"*/", at + 2)
            if close < 0:
                return comments  # not terminated: go/parser rejects the file
            end = close + 2
        else:
            return comments  # the package clause, or something go/parser rejects
        comments.append(_strip_cr(src[at:end]))
        at = end


def _marks_generated(comment: bytes) -> bool:
    if _PREFIX not in comment:
        return False
    # CutPrefix, then CutSuffix of the rest: the two never share the space between them.
    return any(line.startswith(_PREFIX) and line[len(_PREFIX) :].endswith(_SUFFIX) for line in comment.split(b"\n"))


def _strip_cr(text: bytes) -> bytes:
    """go/scanner's stripCR: every \\r goes, except in `*\\r/` of a block comment (it would close it)."""
    if b"\r" not in text:
        return text
    block = text.startswith(b"/*")
    out = bytearray()
    for j, ch in enumerate(text):
        keep_in_block = block and len(out) > 2 and out[-1] == ord("*") and text[j + 1 : j + 2] == b"/"
        if ch != 0x0D or keep_in_block:
            out.append(ch)
    return bytes(out)
