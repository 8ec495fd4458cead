"""Go build constraints, read exactly as Go reads them, and the "could it ever build?" rule.

A file is skipped only when no real GOOS/GOARCH pair, no compiler and no choice of the
other tags satisfies both its name (``x_windows.go``) and its constraint lines, with the
tags ``ignore`` and ``exclude`` false. A toolchain is exactly one of ``gc`` and
``gccgo``, and has the release tags ``go1.1`` to ``go1.21`` (every toolchain that can
build code using go.opentelemetry.io/otel has them). Everything else about a tag is left
free: ``cgo``, ``go1.22`` and later, custom tags may be true or false.

The parts mirror Go's own code (Go 1.26):

- ``go/build/constraint/expr.go``: the ``//go:build`` grammar (``parse_go_build``) and
  the ``// +build`` grammar (``parse_plus_build``);
- ``go/build/build.go``: ``parseFileHeader`` and ``shouldBuild`` (``header_constraints``),
  ``goodOSArchFile`` (``name_tags``) and ``matchTag`` (``_platforms``);
- ``internal/syslist/syslist.go``: ``KnownOS``, ``KnownArch`` and ``UnixOS``.

Satisfiability brings the expression to negation normal form, fixes the tags a platform
decides, and searches the free tags with pure-literal elimination and case splits.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable
from typing import Any, Final

from goinstrument.engine.result import Value
from goinstrument.tuples import NamedTuple

# --- Go's lists --------------------------------------------------------------------

KNOWN_OS = frozenset(
    [
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "hurd",
        "illumos",
        "ios",
        "js",
        "linux",
        "nacl",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "wasip1",
        "windows",
        "zos",
    ]
)
"""syslist.KnownOS: every GOOS that was, is or will be; used for file names."""

UNIX_OS = frozenset(["aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux", "netbsd", "openbsd", "solaris"])
"""syslist.UnixOS: the GOOS values for which the ``unix`` tag is true."""

KNOWN_ARCH = frozenset(
    [
        "386",
        "amd64",
        "amd64p32",
        "arm",
        "armbe",
        "arm64",
        "arm64be",
        "loong64",
        "mips",
        "mipsle",
        "mips64",
        "mips64le",
        "mips64p32",
        "mips64p32le",
        "ppc",
        "ppc64",
        "ppc64le",
        "riscv",
        "riscv64",
        "s390",
        "s390x",
        "sparc",
        "sparc64",
        "wasm",
    ]
)
"""syslist.KnownArch: every GOARCH that was, is or will be; used for file names."""

PLATFORMS = tuple(
    tuple(pair.split("/"))
    for pair in [
        "aix/ppc64",
        "android/386",
        "android/amd64",
        "android/arm",
        "android/arm64",
        "darwin/amd64",
        "darwin/arm64",
        "dragonfly/amd64",
        "freebsd/386",
        "freebsd/amd64",
        "freebsd/arm",
        "freebsd/arm64",
        "illumos/amd64",
        "ios/amd64",
        "ios/arm64",
        "js/wasm",
        "linux/386",
        "linux/amd64",
        "linux/arm",
        "linux/arm64",
        "linux/loong64",
        "linux/mips",
        "linux/mips64",
        "linux/mips64le",
        "linux/mipsle",
        "linux/ppc64",
        "linux/ppc64le",
        "linux/riscv64",
        "linux/s390x",
        "netbsd/386",
        "netbsd/amd64",
        "netbsd/arm",
        "netbsd/arm64",
        "openbsd/386",
        "openbsd/amd64",
        "openbsd/arm",
        "openbsd/arm64",
        "openbsd/ppc64",
        "openbsd/riscv64",
        "plan9/386",
        "plan9/amd64",
        "plan9/arm",
        "solaris/amd64",
        "wasip1/wasm",
        "windows/386",
        "windows/amd64",
        "windows/arm64",
    ]
)
"""The real GOOS/GOARCH pairs, as ``go tool dist list`` prints them for Go 1.26.

The ports ``go tool dist list -broken`` adds (freebsd/riscv64, linux/sparc64,
openbsd/mips64) are left out, so files only for them count as never built.
"""

_ALWAYS_FALSE = ("ignore", "exclude")
COMPILERS = ("gc", "gccgo")
OLDEST_RELEASE = 21  # go1.1 ... go1.21 are true for every toolchain considered
_ALWAYS_TRUE = tuple(f"go1.{minor}" for minor in range(1, OLDEST_RELEASE + 1))

# --- errors ------------------------------------------------------------------------


class ConstraintError(Exception):
    """A //go:build problem Go refuses to build with; ``line`` and ``col`` are 1-based, col in bytes."""

    def __init__(self, line: int, col: int, message: str):
        super().__init__(f"{line}:{col}: {message}")
        self.line = line
        self.col = col
        self.message = message


class _SyntaxError(Exception):
    """constraint.SyntaxError: ``offset`` is a byte offset into the expression text."""

    def __init__(self, offset: int, err: str):
        super().__init__(err)
        self.offset = offset
        self.err = err


# --- expressions -------------------------------------------------------------------


class Tag(Value):
    """constraint.TagExpr."""

    __slots__ = ("tag",)

    def __init__(self, tag: str) -> None:
        self.tag: Final = tag

    def __str__(self) -> str:
        return self.tag

    def eval(self, ok: Callable[[str], bool]) -> bool:
        return ok(self.tag)


class Not(Value):
    """constraint.NotExpr."""

    __slots__ = ("x",)

    def __init__(self, x: Expr) -> None:
        self.x: Final = x

    def __str__(self) -> str:
        return f"!({self.x})" if isinstance(self.x, (And, Or)) else f"!{self.x}"

    def eval(self, ok: Callable[[str], bool]) -> bool:
        return not self.x.eval(ok)


class And(Value):
    """constraint.AndExpr, with a chain ``x && y && z`` kept as one node of several operands."""

    __slots__ = ("xs",)

    def __init__(self, xs: tuple[Expr, ...]) -> None:
        self.xs: Final = xs

    def __str__(self) -> str:
        return " && ".join(f"({x})" if isinstance(x, Or) else str(x) for x in self.xs)

    def eval(self, ok: Callable[[str], bool]) -> bool:
        # Like Go, evaluate every operand so that ``ok`` observes every tag.
        return all([x.eval(ok) for x in self.xs])


class Or(Value):
    """constraint.OrExpr, with a chain ``x || y || z`` kept as one node of several operands."""

    __slots__ = ("xs",)

    def __init__(self, xs: tuple[Expr, ...]) -> None:
        self.xs: Final = xs

    def __str__(self) -> str:
        return " || ".join(f"({x})" if isinstance(x, And) else str(x) for x in self.xs)

    def eval(self, ok: Callable[[str], bool]) -> bool:
        return any([x.eval(ok) for x in self.xs])


Expr = Tag | Not | And | Or


def _join(kind: type, operands: list[Expr]) -> Expr:
    return operands[0] if len(operands) == 1 else kind(tuple(operands))


# --- whitespace as Go's strings.TrimSpace / unicode.IsSpace see it --------------------

_ASCII_SPACE = b" \t\n\v\f\r"
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_GO_FIELDS = f"[{_GO_SPACE}]+"  # compiled by `re` (and kept in its cache) for the first `// +build` line


def _trim_left(b: bytes) -> bytes:
    b = b.lstrip(_ASCII_SPACE)
    if b and b[0] >= 0x80:
        b = b.decode("utf-8", "surrogateescape").lstrip(_GO_SPACE).encode("utf-8", "surrogateescape")
    return b


def _trim_space(b: bytes) -> bytes:
    b = _trim_left(b).rstrip(_ASCII_SPACE)
    if b and b[-1] >= 0x80:
        b = b.decode("utf-8", "surrogateescape").rstrip(_GO_SPACE).encode("utf-8", "surrogateescape")
    return b


def _text(b: bytes) -> str:
    """Bytes as a Go string: undecodable bytes survive and are no letter, digit or space."""
    return b.decode("utf-8", "surrogateescape")


# --- //go:build ---------------------------------------------------------------------

_MAX_SIZE = 1000  # expr.go maxSize


def _is_tag_char(c: str) -> bool:
    """unicode.IsLetter, unicode.IsDigit, '_' or '.' (str.isalpha is L*, str.isdecimal is Nd)."""
    return c.isalpha() or c.isdecimal() or c == "_" or c == "."


class _Lexer:
    """exprParser.lex: tokens are ``( ) ! && ||`` and tags; only space and tab separate them."""

    def __init__(self, s: str):
        self.s = s
        self.i = 0
        self.tok = ""
        self.is_tag = False
        self.pos = 0

    def error(self, offset: int, err: str) -> _SyntaxError:
        return _SyntaxError(len(self.s[:offset].encode("utf-8", "surrogateescape")), err)

    def lex(self) -> None:
        s, i = self.s, self.i
        self.is_tag = False
        while i < len(s) and s[i] in " \t":
            i += 1
        if i >= len(s):
            self.tok, self.pos, self.i = "", i, i
            return
        c = s[i]
        if c in "()!":
            self.tok, self.pos, self.i = c, i, i + 1
            return
        if c in "&|":
            if i + 1 >= len(s) or s[i + 1] != c:
                raise self.error(i, "invalid syntax at " + c)
            self.tok, self.pos, self.i = c + c, i, i + 2
            return
        end = i
        while end < len(s) and _is_tag_char(s[end]):
            end += 1
        if end == i:
            shown = "\ufffd" if "\udc80" <= c <= "\udcff" else c
            raise self.error(i, "invalid syntax at " + shown)
        self.tok, self.pos, self.i, self.is_tag = s[i:end], i, end, True


def _parse_expr(text: str) -> Expr:
    """expr.go parseExpr, with its recursive or/and/not/atom unrolled onto an explicit stack.

    Go's recursion is bounded by maxSize (1000 operands); Python's default recursion
    limit is not, so open parentheses are kept in ``groups`` instead of on the call stack.
    Errors (offsets and texts) are Go's, including "unexpected end of expression" turning
    into "missing close paren" inside parentheses.
    """
    p = _Lexer(text)
    size = 0
    groups: list[tuple[int, bool, list[Expr], list[Expr]]] = []  # (paren pos, negated, ors, ands)
    ors: list[Expr] = []
    ands: list[Expr] = []
    while True:
        # not(): one operand, possibly negated.
        size += 1
        if size > _MAX_SIZE:
            raise p.error(p.pos, "build expression too large")
        p.lex()
        negated = False
        if p.tok == "!":
            p.lex()
            if p.tok == "!":
                raise p.error(p.pos, "double negation not allowed")
            negated = True
        # atom(): a parenthesized expression or a tag.
        if p.tok == "(":
            groups.append((p.pos, negated, ors, ands))
            ors, ands = [], []
            continue
        if not p.is_tag:
            if p.tok == "":
                raise p.error(p.pos, "missing close paren" if groups else "unexpected end of expression")
            raise p.error(p.pos, "unexpected token " + p.tok)
        x: Expr = Tag(p.tok)
        p.lex()
        # The operand is complete; close every group the next token ends.
        while True:
            ands.append(Not(x) if negated else x)
            if p.tok == "&&":
                break
            ors.append(_join(And, ands))
            ands = []
            if p.tok == "||":
                break
            x = _join(Or, ors)
            if not groups:
                if p.tok != "":
                    raise p.error(p.pos, "unexpected token " + p.tok)
                return x
            paren_pos, negated, ors, ands = groups.pop()
            if p.tok != ")":
                raise p.error(paren_pos, "missing close paren")
            p.lex()


def _split_go_build(line: str) -> tuple[str, int] | None:
    """expr.go splitGoBuild for a trimmed line: the expression and its byte offset in the line."""
    if not line.startswith("//go:build"):
        return None
    rest = line[len("//go:build") :]
    expr = rest.lstrip(_GO_SPACE)
    if len(expr) == len(rest) and rest != "":
        return None  # //go:buildsomethingelse
    prefix = line[: len(line) - len(expr)]
    return expr.rstrip(_GO_SPACE), len(prefix.encode("utf-8", "surrogateescape"))


def parse_go_build(expr: str) -> Expr:
    """Parse the expression of a ``//go:build`` line (the text after the prefix).

    Raises ConstraintError on line 1 with the byte column of the error in ``expr``.
    """
    try:
        return _parse_expr(expr)
    except _SyntaxError as exc:
        raise ConstraintError(1, exc.offset + 1, "invalid //go:build line: " + exc.err) from None


# --- // +build -----------------------------------------------------------------------

_MAX_OLD_SIZE = 100  # parsePlusBuildExpr maxOldSize


def _is_valid_tag(word: str) -> bool:
    """expr.go isValidTag."""
    return word != "" and all(_is_tag_char(c) for c in word)


def _split_plus_build(line: str) -> str | None:
    """expr.go splitPlusBuild for one line without its newline: the text after ``+build``."""
    if not line.startswith("//"):
        return None
    line = line[2:].strip(_GO_SPACE)  # the space in "// +build" is optional
    if not line.startswith("+build"):
        return None
    rest = line[len("+build") :]
    text = rest.strip(_GO_SPACE)
    if len(text) == len(rest) and rest != "":
        return None  # //+buildsomethingelse
    return text


def parse_plus_build(text: str) -> Expr | None:
    """expr.go parsePlusBuildExpr: space is OR, comma is AND, ``!`` is NOT.

    Bad words become the tag ``ignore``, as in Go; None when the line is too complex
    (more than 100 operators), which Go reports and go/build then skips.
    """
    size = 0
    clauses: list[Expr] = []
    for clause in re.split(_GO_FIELDS, text):
        if not clause:
            continue
        literals: list[Expr] = []
        for lit in clause.split(","):
            if lit.startswith("!!") or lit == "!":
                literals.append(Tag("ignore"))
                continue
            negated = lit.startswith("!")
            word = lit[1:] if negated else lit
            z: Expr = Tag(word) if _is_valid_tag(word) else Tag("ignore")
            literals.append(Not(z) if negated else z)
        size += len(literals) - 1 + (1 if clauses else 0)
        if size > _MAX_OLD_SIZE:
            return None
        clauses.append(_join(And, literals))
    return _join(Or, clauses) if clauses else Tag("ignore")


# --- the file header ---------------------------------------------------------------


class _Header(NamedTuple):
    start: int  # 3 after a UTF-8 byte order mark, else 0
    end: int  # offset after the last blank line that ends the // comment run
    go_build: bytes | None  # the trimmed //go:build line
    go_build_line: int  # its 1-based line
    go_build_col: int  # 1-based byte column where the trimmed line starts


def _is_go_build_comment(line: bytes) -> bool:
    """build.go isGoBuildComment, for a trimmed line."""
    if not line.startswith(b"//go:build"):
        return False
    rest = line[len(b"//go:build") :]
    return not rest or len(_trim_left(rest)) < len(rest)


def _skip_comments(line: bytes, in_slash_star: bool) -> tuple[bool, bool]:
    """The Comments loop of parseFileHeader: (line holds only comments, still inside /* */)."""
    while line:
        if in_slash_star:
            i = line.find(b"*/")
            if i < 0:
                return True, True
            in_slash_star = False
            line = _trim_space(line[i + 2 :])
            continue
        if line.startswith(b"//"):
            return True, False
        if line.startswith(b"/*"):
            in_slash_star = True
            line = _trim_space(line[2:])
            continue
        return False, False
    return True, in_slash_star


def _parse_file_header(src: bytes) -> _Header:
    """build.go parseFileHeader: scan the leading comments and blank lines.

    Offsets are into ``src``; a leading UTF-8 byte order mark is skipped, as go/build's
    reader does. Raises ConstraintError for a second //go:build line.
    """
    start = pos = 3 if src.startswith(b"\xef\xbb\xbf") else 0
    end = pos
    ended = False  # saw a line not starting with //: no more blank-line cuts
    in_slash_star = False
    go_build, go_build_line, go_build_col = None, 0, 0
    line_no = 0
    while pos < len(src):
        line_no += 1
        newline = src.find(b"\n", pos)
        raw = src[pos:newline] if newline >= 0 else src[pos:]
        line_start = pos
        pos = newline + 1 if newline >= 0 else len(src)
        line = _trim_space(raw)
        if not line and not ended:
            end = pos
            continue
        if not line.startswith(b"//"):
            ended = True
        if not in_slash_star and _is_go_build_comment(line):
            line_begin = 0 if line_no == 1 else line_start  # a byte order mark counts, as in go/scanner
            col = line_start - line_begin + len(raw) - len(_trim_left(raw)) + 1
            if go_build is not None:
                raise ConstraintError(line_no, col, "multiple //go:build comments")
            go_build, go_build_line, go_build_col = line, line_no, col
        comments_only, in_slash_star = _skip_comments(line, in_slash_star)
        if not comments_only:
            break
    return _Header(start, end, go_build, go_build_line, go_build_col)


def _plus_build_lines(src: bytes, start: int, end: int) -> tuple[str, ...]:
    """The ``+build`` texts of shouldBuild's loop over the header part before ``end``."""
    if src.find(b"+build", start, end) < 0:
        return ()
    found = []
    for raw in src[start:end].split(b"\n"):
        line = _trim_space(raw)
        if line.startswith(b"//") and b"+build" in line:
            text = _split_plus_build(_text(line))
            if text is not None:
                found.append(text)
    return tuple(found)


def _go_build_expression(header: _Header) -> Expr:
    """Parse the header's //go:build line; errors carry the position in the file."""
    assert header.go_build is not None
    expr, offset = _split_go_build(_text(header.go_build))  # type: ignore[misc]
    try:
        return _parse_expr(expr)
    except _SyntaxError as exc:
        col = header.go_build_col + offset + exc.offset
        raise ConstraintError(header.go_build_line, col, "invalid //go:build line: " + exc.err) from None


def header_constraints(src: bytes) -> list[Expr]:
    """build.go shouldBuild: the expressions that must all hold for the file to build.

    The //go:build line alone when there is one; otherwise each ``+build`` line in the
    part of the header that a blank line closes (lines Go cannot parse are left out).
    """
    header = _parse_file_header(src)
    if header.go_build is not None:
        return [_go_build_expression(header)]
    parsed = (parse_plus_build(text) for text in _plus_build_lines(src, header.start, header.end))
    return [x for x in parsed if x is not None]


# --- the file name -----------------------------------------------------------------


def name_tags(filename: str) -> tuple[str, ...]:
    """build.go goodOSArchFile: the tags a name such as ``x_linux_amd64_test.go`` requires.

    Everything from the first ``.`` and before the first ``_`` is ignored, so
    ``linux.go`` requires nothing.
    """
    name = posixpath.basename(filename).split(".", 1)[0]
    i = name.find("_")
    if i < 0:
        return ()
    parts = name[i:].split("_")
    if parts[-1] == "test":
        parts.pop()
    if len(parts) >= 2 and parts[-2] in KNOWN_OS and parts[-1] in KNOWN_ARCH:
        return (parts[-1], parts[-2])
    if parts[-1] in KNOWN_OS or parts[-1] in KNOWN_ARCH:
        return (parts[-1],)
    return ()


# --- satisfiability ----------------------------------------------------------------


def _platform_tags(
    goos: str, goarch: str, compiler: str, known: dict[str, bool] | None = None, fixed: dict[str, bool] | None = None
) -> dict[str, bool]:
    """build.go matchTag for the tags a platform and compiler decide; tags not listed here are free.
    `known` and `fixed` (_platforms'): the values every platform starts from and ends with, made once."""
    values = dict(known) if known is not None else dict.fromkeys(KNOWN_OS | KNOWN_ARCH, False)
    values.update({goos: True, goarch: True, "unix": goos in UNIX_OS})
    implied = {"android": "linux", "illumos": "solaris", "ios": "darwin"}.get(goos)
    if implied:
        values[implied] = True
    values.update({name: name == compiler for name in COMPILERS})
    values.update(fixed if fixed is not None else _fixed_tags())
    return values


def _fixed_tags() -> dict[str, bool]:
    """The tags no platform changes: the released Go versions true, ignore and exclude false."""
    return {**dict.fromkeys(_ALWAYS_TRUE, True), **dict.fromkeys(_ALWAYS_FALSE, False)}


@functools.cache
def platforms() -> tuple[tuple[dict[str, bool], ...], frozenset[str]]:
    """Each platform's tags, and the tags they decide: built for the first constraint to judge (a
    third of a millisecond a run of files without one does not pay), or by the hook's server once."""
    known, fixed = dict.fromkeys(KNOWN_OS | KNOWN_ARCH, False), _fixed_tags()
    every = tuple(_platform_tags(goos, goarch, compiler, known, fixed) for goos, goarch in PLATFORMS for compiler in COMPILERS)
    return every, frozenset(every[0])


Formula = Expr | bool


def _negation_normal_form(expr: Expr) -> Expr:
    """The same function with Not only on tags and nested Ands (Ors) flattened.

    Iterative: a Go expression may nest 1000 deep, past Python's recursion limit.
    """
    stack: list[list[Any]] = []  # [kind after negation, operands, next operand, converted, negated]
    node, negated = expr, False
    while True:
        while True:  # descend to the leftmost literal
            while isinstance(node, Not):
                node, negated = node.x, not negated
            if isinstance(node, Tag):
                result: Expr = Not(node) if negated else node
                break
            kind = type(node) if not negated else (Or if isinstance(node, And) else And)
            stack.append([kind, node.xs, 1, [], negated])
            node = node.xs[0]
        while stack:  # climb while nodes are complete
            frame = stack[-1]
            kind, operands, next_operand, converted, negated = frame
            if isinstance(result, kind):
                converted.extend(result.xs)
            else:
                converted.append(result)
            if next_operand < len(operands):
                node = operands[next_operand]
                frame[2] += 1
                break
            stack.pop()
            result = kind(tuple(converted))
        else:  # the stack ran empty: the root is complete
            return result


def _literal(node: Expr, values: dict[str, bool]) -> Formula:
    if isinstance(node, Tag):
        return values.get(node.tag, node)
    value = values.get(node.x.tag)  # type: ignore[union-attr]
    return node if value is None else not value


def _assign(formula: Expr, values: dict[str, bool]) -> Formula:
    """Substitute ``values`` into a negation normal form and simplify (iteratively)."""
    if isinstance(formula, (Tag, Not)):
        return _literal(formula, values)
    stack: list[list[Any]] = [[formula, 0, []]]  # [node, next operand, simplified operands]
    while True:
        frame = stack[-1]
        node, next_operand, done = frame
        if next_operand < len(node.xs):
            child = node.xs[next_operand]
            frame[1] += 1
            if isinstance(child, (And, Or)):
                stack.append([child, 0, []])
                continue
            value = _literal(child, values)
        else:
            stack.pop()
            value = _simplified(type(node), done)
            if not stack:
                return value
            frame = stack[-1]
            node, done = frame[0], frame[2]
        absorbing = isinstance(node, Or)  # True decides an Or, False an And
        if value is absorbing:
            frame[1] = len(node.xs)
            done[:] = [value]
        elif value is not (not absorbing):
            done.append(value)


def _simplified(kind: type, operands: list[Formula]) -> Formula:
    if operands and isinstance(operands[0], bool):
        return operands[0]  # the absorbing value
    flat: list[Expr] = []
    for x in operands:
        if isinstance(x, And | Or) and isinstance(x, kind):
            flat.extend(x.xs)
        elif not isinstance(x, bool):  # only a first, absorbing operand is a bool
            flat.append(x)
    if not flat:
        return kind is And
    return _join(kind, flat)


def _polarities(formula: Expr) -> dict[str, int]:
    """For each tag, 1 if it appears only plain, 2 only negated, 3 both."""
    found: dict[str, int] = {}
    stack = [formula]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            found[node.tag] = found.get(node.tag, 0) | 1
        elif isinstance(node, Not):
            found[node.x.tag] = found.get(node.x.tag, 0) | 2  # type: ignore[union-attr]
        else:
            stack.extend(node.xs)
    return found


def _satisfiable(formula: Formula) -> bool:
    """Whether some values of the free tags make a negation normal form true.

    A tag that occurs with one sign only is set to make its occurrences true (that never
    loses a solution); a tag with both signs is tried both ways. Correct for any number
    of tags; only contrived lines with many two-signed tags branch much.
    """
    pending = [formula]
    while pending:
        f = pending.pop()
        if f is True:
            return True
        if f is False:
            continue
        polarity = _polarities(f)
        pure = {tag: sign == 1 for tag, sign in polarity.items() if sign != 3}
        if pure:
            pending.append(_assign(f, pure))
            continue
        tag = next(iter(polarity))
        pending.append(_assign(f, {tag: False}))
        pending.append(_assign(f, {tag: True}))
    return False


def satisfiable_on_some_platform(constraints: list[Expr]) -> bool:
    """True when one real GOOS/GOARCH, one compiler and some free tags satisfy every constraint."""
    if not constraints:
        return True
    formula = _negation_normal_form(_join(And, constraints))
    every, decidable = platforms()
    decided = [tag for tag in _polarities(formula) if tag in decidable]
    seen: set[tuple[bool, ...]] = set()
    for platform in every:
        key = tuple(platform[tag] for tag in decided)
        if key not in seen:
            seen.add(key)
            if _satisfiable(_assign(formula, dict(zip(decided, key, strict=True)))):
                return True
    return False


@functools.lru_cache(maxsize=2048)
def _plus_build_verdict(required: tuple[str, ...], plus_build: tuple[str, ...]) -> bool:
    constraints: list[Expr] = [Tag(tag) for tag in required]
    constraints += [x for x in map(parse_plus_build, plus_build) if x is not None]
    return satisfiable_on_some_platform(constraints)


@functools.lru_cache(maxsize=2048)
def _go_build_verdict(required: tuple[str, ...], go_build: bytes) -> bool | _SyntaxError:
    """The verdict for a trimmed //go:build line, or Go's syntax error for it."""
    expr, _ = _split_go_build(_text(go_build))  # type: ignore[misc]
    try:
        parsed = _parse_expr(expr)
    except _SyntaxError as exc:
        return exc.with_traceback(None)
    return satisfiable_on_some_platform([Tag(tag) for tag in required] + [parsed])


# --- the entry point ---------------------------------------------------------------


def can_build(filename: str, src: bytes) -> bool:
    """False only when no real GOOS/GOARCH and no choice of free tags satisfies the file's
    name and its build constraint lines (ignore/exclude false).

    Raises ConstraintError for a malformed //go:build line, or two of them.
    """
    required = name_tags(filename) if "_" in filename else ()
    header = _parse_file_header(src)
    if header.go_build is not None:
        verdict = _go_build_verdict(required, header.go_build)
        if isinstance(verdict, _SyntaxError):
            _go_build_expression(header)  # raises ConstraintError with the position in the file
        return bool(verdict)
    plus_build = _plus_build_lines(src, header.start, header.end)
    if not required and not plus_build:
        return True
    return _plus_build_verdict(required, plus_build)
