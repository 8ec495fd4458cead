"""Build constraints as Go reads them, and when a file can never build.

Most cases are ported from Go's own tests: go/build/constraint/expr_test.go (the two
grammars) and go/build/build_test.go (TestShouldBuild, TestMatchFile). The rest state
the product rule: a file is skipped only when no real GOOS/GOARCH pair and no choice of
the free tags satisfies it, with ``ignore`` and ``exclude`` false.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from goinstrument.engine.go import buildtags
from goinstrument.engine.go.buildtags import (
    KNOWN_ARCH,
    KNOWN_OS,
    PLATFORMS,
    UNIX_OS,
    And,
    ConstraintError,
    Not,
    Or,
    Tag,
    can_build,
    header_constraints,
    name_tags,
    parse_go_build,
    parse_plus_build,
)

GO = shutil.which("go") or "go"  # the tests that run it are skipped without it
needs_go = pytest.mark.skipif(GO is None, reason="needs the Go toolchain")


def goroot() -> Path:
    return Path(subprocess.check_output([GO, "env", "GOROOT"], text=True).strip())


def tags_of(x) -> set[str]:
    """The tags an expression consults, as Go's Eval observes them."""
    seen: set[str] = set()

    x.eval(noting(seen, lambda tag: False))
    return seen


def noting(seen: set[str], answer: Callable[[str], bool]) -> Callable[[str], bool]:
    """`answer`, which first notes each tag it is asked about in `seen`."""

    def consult(tag: str) -> bool:
        seen.add(tag)
        return answer(tag)

    return consult


# --- //go:build expressions (expr_test.go) -----------------------------------------


@pytest.mark.parametrize(
    "text, want",
    [
        # parseExprTests
        ("x", "x"),
        ("x&&y", "x && y"),
        ("x||y", "x || y"),
        ("(x)", "x"),
        ("x||y&&z", "x || (y && z)"),
        ("x&&y||z", "(x && y) || z"),
        ("x&&(y||z)", "x && (y || z)"),
        ("(x||y)&&z", "(x || y) && z"),
        ("!(x&&y)", "!(x && y)"),
        # lexTests that parse
        ("x.y", "x.y"),
        ("x_y", "x_y"),
        ("αx", "αx"),
        ("go1.2", "go1.2"),
        ("386", "386"),
        # exprStringTests
        ("!abc", "!abc"),
        ("abc && (def || ghi)", "abc && (def || ghi)"),
        ("(abc && def) || ghi", "(abc && def) || ghi"),
        # spacing is spaces and tabs
        ("\tlinux &&\t!cgo ", "linux && !cgo"),
    ],
)
def test_go_build_expressions_parse_as_in_go(text, want):
    assert str(parse_go_build(text)) == want


def test_go_build_keeps_go_tree_shape():
    assert parse_go_build("x || y && !z") == Or((Tag("x"), And((Tag("y"), Not(Tag("z"))))))


@pytest.mark.parametrize(
    "text, offset, err",
    [
        # parseExprErrorTests: Go's SyntaxError offset and text
        ("x && ", 5, "unexpected end of expression"),
        ("x && (", 6, "missing close paren"),
        ("x && ||", 5, "unexpected token ||"),
        ("x && !", 6, "unexpected end of expression"),
        ("x && !!", 6, "double negation not allowed"),
        ("x !", 2, "unexpected token !"),
        ("x && (y", 5, "missing close paren"),
        # lexTests that fail; offsets are bytes ("α" is two)
        ("αx²", 3, "invalid syntax at ²"),
        ("x~", 1, "invalid syntax at ~"),
        ("x ~", 2, "invalid syntax at ~"),
        ("x &", 2, "invalid syntax at &"),
        ("x &y", 2, "invalid syntax at &"),
        ("x!y", 1, "unexpected token !"),
        ("x y", 2, "unexpected token y"),
        # constraintTests: "//go:build" alone
        ("", 0, "unexpected end of expression"),
        ("linux && (amd64 ))", 17, "unexpected token )"),
        ("(a && (b || c)", 0, "missing close paren"),
        ("(a && (b || ", 12, "missing close paren"),
    ],
)
def test_go_build_errors_as_in_go(text, offset, err):
    with pytest.raises(ConstraintError) as caught:
        parse_go_build(text)
    assert (caught.value.line, caught.value.col) == (1, offset + 1)
    assert caught.value.message == "invalid //go:build line: " + err


@pytest.mark.parametrize(
    "text",
    [
        # TestSizeLimits
        "a || " * 1002,
        "a && " * 1002,
        "(a &&" * 1002,
        "(a ||" * 1002,
    ],
)
def test_go_build_size_limit(text):
    with pytest.raises(ConstraintError, match="build expression too large"):
        parse_go_build(text)


def test_go_build_deep_nesting_within_the_limit_needs_no_recursion():
    def negated(times: int, tag: str) -> bytes:
        return ("//go:build " + "!(" * times + tag + ")" * times + "\n").encode()

    assert can_build("x.go", negated(999, "ignore"))  # odd: !ignore
    assert not can_build("x.go", negated(998, "ignore"))  # even: ignore
    alternating = "(a && !(b || " * 249 + "(c && !c)" + "))" * 249
    assert can_build("x.go", f"//go:build {alternating}\n".encode())


@pytest.mark.parametrize(
    "text, ok, tags",
    [
        # exprEvalTests: every tag is consulted, as Go's Eval does
        ("x", False, {"x"}),
        ("x && y", False, {"x", "y"}),
        ("x || y", False, {"x", "y"}),
        ("!x && yes", True, {"x", "yes"}),
        ("yes || y", True, {"y", "yes"}),
    ],
)
def test_eval_consults_every_tag(text, ok, tags):
    seen: set[str] = set()
    assert parse_go_build(text).eval(noting(seen, lambda tag: tag == "yes")) is ok
    assert seen == tags


# --- // +build lines (expr_test.go) -------------------------------------------------


@pytest.mark.parametrize(
    "text, want",
    [
        # parsePlusBuildExprTests: space is OR, comma is AND, bad words are "ignore"
        ("x", "x"),
        ("x,y", "x && y"),
        ("x y", "x || y"),
        ("x y,z", "x || (y && z)"),
        ("x,y z", "(x && y) || z"),
        ("x,!y !z", "(x && !y) || !z"),
        ("!! x", "ignore || x"),
        ("!!x", "ignore"),
        ("!x", "!x"),
        ("!", "ignore"),
        ("", "ignore"),
        ("x,", "x && ignore"),
        ("linux,386 darwin,!cgo", "(linux && 386) || (darwin && !cgo)"),
    ],
)
def test_plus_build_parses_as_in_go(text, want):
    assert str(parse_plus_build(text)) == want


@pytest.mark.parametrize("text", ["a " * 102, "a," * 102])
def test_plus_build_too_complex_is_dropped(text):
    # TestPlusSizeLimits: Go returns errComplex, and shouldBuild skips the line.
    assert parse_plus_build(text) is None
    assert can_build("x.go", f"// +build {text}\n\npackage p\n".encode())


# --- the header (build_test.go TestShouldBuild) ---------------------------------------

SHOULD_BUILD = [
    # (name, content, shouldBuild with only "yes" set, tags consulted)
    ("Yes", "// +build yes\n\npackage main\n", True, {"yes"}),
    ("Yes2", "//go:build yes\npackage main\n", True, {"yes"}),
    ("Or", "// +build no yes\n\npackage main\n", True, {"yes", "no"}),
    ("Or2", "//go:build no || yes\npackage main\n", True, {"yes", "no"}),
    ("And", "// +build no,yes\n\npackage main\n", False, {"yes", "no"}),
    ("And2", "//go:build no && yes\npackage main\n", False, {"yes", "no"}),
    (
        "Cgo",
        "// +build cgo\n\n// Copyright The Go Authors.\n\n// This package implements parsing of tags like\n// +build tag1\npackage build",
        False,
        {"cgo"},
    ),
    (
        "Cgo2",
        "//go:build cgo\n// Copyright The Go Authors.\n\n// This package implements parsing of tags like\n// +build tag1\npackage build",
        False,
        {"cgo"},
    ),
    (
        "AfterPackage",
        "// Copyright The Go Authors.\n\npackage build\n\n"
        "// shouldBuild checks tags given by lines of the form\n// +build tag\n//go:build tag\n"
        "func shouldBuild(content []byte)\n",
        True,
        set(),
    ),
    ("TooClose", "// +build yes\npackage main\n", True, set()),
    ("TooClose2", "//go:build yes\npackage main\n", True, {"yes"}),
    ("TooCloseNo", "// +build no\npackage main\n", True, set()),
    ("TooCloseNo2", "//go:build no\npackage main\n", False, {"no"}),
    ("BinaryOnly", "//go:binary-only-package\n// +build yes\npackage main\n", True, set()),
    ("BinaryOnly2", "//go:binary-only-package\n//go:build no\npackage main\n", False, {"no"}),
    ("ValidGoBuild", "// +build yes\n\n//go:build no\npackage main\n", False, {"no"}),
    ("MissingBuild2", "/* */\n// +build yes\n\n//go:build no\npackage main\n", False, {"no"}),
    ("Comment1", "/*\n//go:build no\n*/\n\npackage main\n", True, set()),
    ("Comment2", "/*\ntext\n*/\n\n//go:build no\npackage main\n", False, {"no"}),
    ("Comment3", "/*/*/ /* hi *//* \ntext\n*/\n\n//go:build no\npackage main\n", False, {"no"}),
    ("Comment4", "/**///go:build no\npackage main\n", True, set()),
    ("Comment5", "/**/\n//go:build no\npackage main\n", False, {"no"}),
    # and a few more
    ("PlusBuildLinesAnd", "// +build yes\n// +build no\n\npackage main\n", False, {"yes", "no"}),
    ("CRLF", "// +build no\r\n\r\npackage main\r\n", False, {"no"}),
    ("Indented", "   //go:build yes\n", True, {"yes"}),
    ("NoSpace", "//+build no\n\npackage main\n", False, {"no"}),
    ("NotPlusBuild", "// +buildno\n\npackage main\n", True, set()),
    ("NotGoBuild", "//go:buildno\npackage main\n", True, set()),
    ("ByteOrderMark", "\ufeff//go:build no\npackage main\n", False, {"no"}),
    ("PlusBuildInBlockComment", "/*\n// +build no\n\n*/\npackage main\n", True, set()),
]


@pytest.mark.parametrize("name, content, should_build, tags", SHOULD_BUILD, ids=[c[0] for c in SHOULD_BUILD])
def test_header_constraints_as_go_should_build(name, content, should_build, tags):
    constraints = header_constraints(content.encode())
    seen: set[str] = set()
    results = [x.eval(noting(seen, lambda tag: tag == "yes")) for x in constraints]
    assert all(results) is should_build
    assert seen == tags


def test_plus_build_after_a_slash_star_comment_is_not_in_the_header():
    # "ended" is set by the /* line, so no later blank line extends the header.
    assert can_build("x.go", b"/* c */\n// +build ignore\n\npackage p\n")
    assert not can_build("x.go", b"// c\n// +build ignore\n\npackage p\n")


def test_go_build_line_wins_over_plus_build():
    assert can_build("x.go", b"// +build ignore\n\n//go:build linux\n\npackage p\n")
    assert not can_build("x.go", b"// +build linux\n\n//go:build ignore\n\npackage p\n")


@pytest.mark.parametrize(
    "content, line, col, message",
    [
        (b"//go:build linux &&\n\npackage p\n", 1, 20, "invalid //go:build line: unexpected end of expression"),
        (b"// c\n  //go:build linux && (amd64 ))\n", 2, 31, "invalid //go:build line: unexpected token )"),
        (b"//go:build (linux\n", 1, 12, "invalid //go:build line: missing close paren"),
        (b"//go:build\n", 1, 11, "invalid //go:build line: unexpected end of expression"),
        (b"//go:build linux\n// c\n\t//go:build amd64\n", 3, 2, "multiple //go:build comments"),
        (b"//go:build linux\n//go:build !!x\n", 2, 1, "multiple //go:build comments"),
        (b"\xef\xbb\xbf//go:build a ~\n", 1, 17, "invalid //go:build line: invalid syntax at ~"),
        ("//go:build é ~\n".encode(), 1, 15, "invalid //go:build line: invalid syntax at ~"),
    ],
)
def test_malformed_go_build_is_an_error_with_its_position(content, line, col, message):
    with pytest.raises(ConstraintError) as caught:
        can_build("x.go", content)
    assert (caught.value.line, caught.value.col, caught.value.message) == (line, col, message)


@pytest.mark.parametrize(
    "content",
    [
        b"package p\n\n//go:build (\n",  # after the package clause: a comment like any other
        b"/*\n//go:build (\n*/\npackage p\n",  # inside /* */
        b"// +build linux,(amd64\n\npackage p\n",  # bad +build words only become "ignore"
    ],
)
def test_lines_go_does_not_read_are_no_error(content):
    assert isinstance(can_build("x.go", content), bool)


def test_bad_plus_build_words_mean_ignore():
    assert not can_build("x.go", b"// +build linux,(amd64\n\npackage p\n")
    assert can_build("x.go", b"// +build linux (amd64\n\npackage p\n")


# --- file names (goodOSArchFile, TestMatchFile) -------------------------------------


@pytest.mark.parametrize(
    "filename, tags",
    [
        ("x.go", ()),
        ("x_linux.go", ("linux",)),
        ("x_linux_amd64.go", ("amd64", "linux")),
        ("x_linux_amd64_test.go", ("amd64", "linux")),
        ("x_amd64.go", ("amd64",)),
        ("linux.go", ()),  # Go 1.4+: a bare name is no constraint
        ("plan9_test.go", ()),
        ("x_test.go", ()),
        ("x_windows_test.go", ("windows",)),
        ("x_linux_foo.go", ()),
        ("x_foo_linux.go", ("linux",)),
        ("x_amd64_linux.go", ("linux",)),  # arch then OS is not a pair; the last part counts
        ("x_unix.go", ()),  # unix is a tag, not a GOOS
        ("x_linux.s.go", ("linux",)),  # cut at the first dot
        ("x_nacl.go", ("nacl",)),
        ("dir_linux/x.go", ()),
    ],
)
def test_name_tags(filename, tags):
    assert name_tags(filename) == tags


@pytest.mark.parametrize(
    "filename, content, buildable",
    [
        ("foo_arm.go", "", True),
        ("foo1_arm.go", "// +build linux\n\npackage main\n", True),
        ("foo_darwin.go", "", True),
        ("foo_linux.go", "", True),
        ("foo_android.go", "", True),
        ("foo_plan9_amd64.go", "", True),
        ("foo_plan9_arm64.go", "", False),  # no such port
        ("foo_windows.go", "//go:build linux\n", False),
        ("foo_windows.go", "//go:build !linux\n", True),
        ("foo_linux.go", "//go:build android\n", True),
        ("foo_darwin.go", "//go:build ios\n", True),
        ("foo_solaris.go", "//go:build illumos\n", True),
        ("foo_ios.go", "//go:build darwin\n", True),
        ("foo_nacl.go", "", False),
        ("foo_zos.go", "", False),
        ("foo_sparc64.go", "", False),
        ("foo_js.go", "//go:build wasm\n", True),
        ("foo_js.go", "//go:build amd64\n", False),
    ],
)
def test_name_and_header_together(filename, content, buildable):
    assert can_build(filename, content.encode()) is buildable


# --- the product rule --------------------------------------------------------------

ALL_OS = " && ".join(f"!{goos}" for goos in sorted(KNOWN_OS))


@pytest.mark.parametrize(
    "line, buildable",
    [
        ("//go:build ignore", False),
        ("//go:build exclude", False),
        ("//go:build !ignore", True),
        ("//go:build !windows", True),
        ("//go:build linux && !cgo", True),
        ("//go:build go1.21", True),
        ("//go:build cgo", True),
        # A toolchain is one compiler, and every toolchain considered has go1.1 to go1.21.
        ("//go:build gc && gccgo", False),
        ("//go:build gc || gccgo", True),
        ("//go:build !gc && !gccgo", False),
        ("//go:build gccgo && linux", True),
        ("//go:build !go1.1", False),
        ("//go:build !go1.21", False),
        ("//go:build !go1.22", True),
        ("//go:build go1.99", True),
        ("// +build gc,gccgo", False),
        ("//go:build mytag", True),
        ("//go:build linux && windows", False),
        ("//go:build linux && amd64 && !amd64", False),
        ("//go:build mytag && !mytag", False),
        ("//go:build (mytag || other) && !mytag && !other", False),
        ("//go:build unix && windows", False),
        ("//go:build unix && !linux && !darwin && !freebsd && !netbsd && !openbsd", True),  # aix, dragonfly, ...
        ("//go:build unix && js", False),
        ("//go:build android && linux", True),
        ("//go:build android && !linux", False),
        ("//go:build illumos && solaris", True),
        ("//go:build ios && darwin", True),
        ("//go:build ios && !darwin", False),
        ("//go:build darwin && !ios", True),
        ("//go:build linux && arm64 || windows && ppc64", True),
        ("//go:build windows && ppc64", False),
        ("//go:build wasip1 && wasm", True),
        ("//go:build nacl", False),
        ("//go:build hurd || zos", False),
        ("//go:build hurd || zos || mytag", True),
        (f"//go:build {ALL_OS}", False),
        (f"//go:build {ALL_OS} || cgo", True),
        (
            "//go:build !386 && !amd64 && !arm && !arm64 && !loong64 && !mips && !mipsle && !mips64"
            " && !mips64le && !ppc64 && !ppc64le && !riscv64 && !s390x && !wasm",
            False,
        ),
        ("// +build ignore", False),
        ("// +build linux,windows", False),
        ("// +build linux windows", True),
        ("// +build !windows,!linux,!darwin,!freebsd", True),
    ],
)
def test_can_build_rule(line, buildable):
    assert can_build("x.go", f"{line}\n\npackage p\n".encode()) is buildable


def test_many_free_tags():
    wide = " && ".join(f"(t{i} || !t{i + 1})" for i in range(40))
    assert can_build("x.go", f"//go:build {wide}\n".encode())
    assert not can_build("x.go", f"//go:build {wide} && !t0 && t40\n".encode())
    # a pigeonhole-like contradiction over 40 free tags
    pairs = [f"(x{i} || y{i}) && (!x{i} || !y{i}) && (x{i} || !y{i}) && (!x{i} || y{i})" for i in range(10)]
    assert not can_build("x.go", ("//go:build " + " && ".join(pairs) + "\n").encode())


def test_agrees_with_brute_force_on_random_expressions():
    """Every platform times every choice of the free tags, using Go's Eval."""
    rng = random.Random(1)
    pool = [
        "linux",
        "windows",
        "android",
        "darwin",
        "ios",
        "illumos",
        "solaris",
        "js",
        "nacl",
        "amd64",
        "arm64",
        "386",
        "wasm",
        "sparc",
        "unix",
        "ignore",
        "cgo",
        "foo",
        "bar",
        "gc",
        "gccgo",
        "go1.1",
        "go1.30",
    ]
    platform_values = [buildtags._platform_tags(goos, goarch, compiler) for goos, goarch in PLATFORMS for compiler in buildtags.COMPILERS]

    def random_expr(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            atom = rng.choice(pool)
        else:
            op = rng.choice([" && ", " || "])
            atom = "(" + op.join(random_expr(depth - 1) for _ in range(rng.randint(2, 3))) + ")"
        return "!" + atom if rng.random() < 0.3 else atom

    def brute_force(filename: str, x) -> bool:
        constraint = And((*tuple(Tag(t) for t in name_tags(filename)), x))
        free = sorted(tags_of(constraint) - set(platform_values[0]))
        for values in platform_values:
            for choice in itertools.product([False, True], repeat=len(free)):
                assignment = {**values, **dict(zip(free, choice, strict=False))}
                if constraint.eval(assignment.__getitem__):
                    return True
        return False

    outcomes = set()
    for _ in range(400):
        text = random_expr(3)
        filename = rng.choice(["x.go", "x_linux.go", "x_windows_amd64.go", "x_arm64.go", "x_ios.go"])
        want = brute_force(filename, parse_go_build(text))
        assert can_build(filename, f"//go:build {text}\n".encode()) is want, (filename, text)
        outcomes.add(want)
    assert outcomes == {True, False}


# --- the fast path -----------------------------------------------------------------


def test_header_scan_stops_at_the_package_clause():
    """What follows the package clause is not read: neither a constraint nor a malformed one counts."""
    body = b"package p\n\n" + b"//go:build ignore\n// +build ignore\n//go:build (\n" * 1000
    assert can_build("x.go", b"// Copyright\n\n" + body)


# --- Go's lists, when the toolchain is here ----------------------------------------


@needs_go
def test_lists_match_this_go():
    syslist = (goroot() / "src/internal/syslist/syslist.go").read_text()

    def go_map(name: str) -> frozenset[str]:
        match = re.search(rf"var {name} = map\[string\]bool\{{(.*?)\n\}}", syslist, re.S)
        assert match is not None, name
        body = match.group(1)
        return frozenset(re.findall(r'"(\w+)":\s*true', body))

    assert (go_map("KnownOS"), go_map("UnixOS"), go_map("KnownArch")) == (KNOWN_OS, UNIX_OS, KNOWN_ARCH)
    listed = subprocess.check_output([GO, "tool", "dist", "list"], text=True).split()
    assert sorted("/".join(p) for p in PLATFORMS) == sorted(listed)


# --- the standard library ----------------------------------------------------------


def go_rejects(path: Path, tmp_path: Path) -> str:
    """Go's own complaint about the file's constraints, from `go list` in a scratch module."""
    module = tmp_path / path.name.replace(".", "_")
    module.mkdir()
    (module / "go.mod").write_text("module scratch\n\ngo 1.21\n")
    shutil.copy(path, module / path.name)
    proc = subprocess.run([GO, "list", "-e", "-json", "."], cwd=module, capture_output=True, text=True)
    return proc.stdout + proc.stderr


@needs_go
def test_go_rejects_what_we_reject(tmp_path):
    bad = tmp_path / "bad.go"
    bad.write_bytes(b"//go:build linux &&\n\npackage p\n")
    with pytest.raises(ConstraintError):
        can_build(bad.name, bad.read_bytes())
    assert "parsing //go:build line" in go_rejects(bad, tmp_path)


@needs_go
def test_standard_library(tmp_path):
    src = goroot() / "src"
    files = sorted(p for p in src.rglob("*.go") if p.is_file())
    contents = [path.read_bytes() for path in files]
    start = time.perf_counter()
    unbuildable, errors = [], []
    for path, content in zip(files, contents, strict=False):
        try:
            if not can_build(path.name, content):
                unbuildable.append(path)
        except ConstraintError as exc:
            errors.append((path, exc))
    elapsed = time.perf_counter() - start
    print(f"\n{len(files)} files in {elapsed:.3f}s ({elapsed / len(files) * 1e6:.1f} µs/file); {len(unbuildable)} unbuildable, {len(errors)} errors")
    for path in unbuildable[::12]:
        first = next((line for line in path.read_text(errors="replace").splitlines() if "build" in line), "")
        print(f"  {path.relative_to(src)}: {first}")

    for path, error in errors:  # only where Go itself refuses the file
        assert "//go:build" in go_rejects(path, tmp_path), (path, error)

    # Everything left out names a tag a platform or toolchain decides, or "ignore": never only free tags.
    platform_words = KNOWN_OS | KNOWN_ARCH | {"unix", "ignore", *buildtags.COMPILERS, *buildtags._ALWAYS_TRUE}
    for path in unbuildable:
        header = header_constraints(path.read_bytes())
        mentioned = set(name_tags(path.name)).union(*(tags_of(x) for x in header))
        assert mentioned & platform_words, path
    ignored = [p for p in unbuildable if b"//go:build ignore\n" in p.read_bytes()]
    assert len(ignored) >= 50
    assert src / "syscall/mkasm.go" in unbuildable
    assert src / "runtime/mkfastlog2table.go" in unbuildable
    assert src / "internal/bytealg/compare_generic.go" in unbuildable  # every real arch excluded
    for kept in [
        "os/file_unix.go",
        "os/file_windows.go",
        "runtime/os_linux.go",
        "runtime/os_android.go",
        "syscall/syscall_illumos.go",
        "net/http/server.go",
    ]:
        assert src / kept not in unbuildable, kept
    assert elapsed < 2.0
