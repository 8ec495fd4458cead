"""The grammar gaps bridged by tolerance.py: new(expr), a local new/make, and Go letters tree-sitter refuses.

The golden pair grammar_new_expr shows the rewrite; fixtures/gomod/bodies/newexpr.go builds it with Go.
"""

from __future__ import annotations

import subprocess

import pytest
from gotools import go_bin, go_environ

from goinstrument.engine.go import syntax, tolerance


@pytest.mark.parametrize(
    "code",
    [
        "p := new(42)",
        'p := new("a" + "b")',
        "p := new(T{n: 1})",
        "p := new(f())",
        "p := new(new(f()))",
        "p := []*int{new(1), new(len(`)`))}",
        "make := func(n int) int { return n }\n\tp := make(8)",
        "new := func(n int) int { return n }\n\tp := new(n - 1)",
    ],
)
def test_calls_with_an_expression_parse_and_keep_their_positions(code: str):
    src = f"package p\n\ntype T struct{{ n int }}\n\nfunc f() int {{ return 1 }}\n\nfunc g(n int) {{\n\t{code}\n\t_ = p\n}}\n".encode()
    tree = syntax.parse(src)
    assert syntax.first_error(tree.root_node) is None
    last = tree.root_node.named_children[-1]
    assert src[last.start_byte : last.end_byte].startswith(b"func g(n int)")
    assert last.end_byte == len(src) - 1


@pytest.mark.parametrize("code", ["p := new(int)", "p := new([]int)", "p := make(map[string]int, 4)", "p := make(chan func() error)"])
def test_calls_with_a_type_are_parsed_as_they_are(code: str):
    src = f"package p\n\nfunc g() {{\n\t{code}\n\t_ = p\n}}\n".encode()
    tree = syntax.parse(src)
    assert syntax.first_error(tree.root_node) is None
    text = tree.root_node.text or b""
    assert b"ne_" not in text and b"mak_" not in text


@pytest.mark.parametrize(
    "code",
    [
        "p := new(42",  # unclosed
        "p := new(42)) + ",
        "p := make(8) +",
        "x := ;",
    ],
)
def test_what_go_rejects_stays_rejected(code: str):
    src = f"package p\n\nfunc g() {{\n\t{code}\n}}\n".encode()
    assert syntax.first_error(syntax.parse(src).root_node) is not None


def test_unsupported_letters_parse_and_are_restored():
    src = "package p\n\nvar ͺ, aﹰ, ﾞb = 1, 2, 3 // ͺ in a comment\n".encode()
    tree = syntax.parse(src)
    assert syntax.first_error(tree.root_node) is None
    masks = tolerance.letter_masks(src)
    assert set(masks) == {"ͺ", "ﹰ", "ﾞ"}
    assert all(len(k.encode()) == len(v.encode()) and v not in src.decode() for k, v in masks.items())
    assert tolerance.restore(src, tree.root_node.text or b"") == src


def test_letters_are_found_among_other_non_ascii_bytes_and_not_made_of_bytes_apart():
    """letter_masks looks at the bytes that are not ASCII alone: a letter between others is found;
    bytes of one that ASCII keeps apart are none (not UTF-8 at all: no masks)."""
    assert set(tolerance.letter_masks("package p\n\n// é\nvar xͺé = 1 // ü\n".encode())) == {"ͺ"}
    assert tolerance.letter_masks(b"package p\n\n// \xcd a\xba\n") == {}
    assert tolerance.letter_masks("package p\n\n// é ü ß\n".encode()) == {}


def test_stand_ins_avoid_letters_the_file_holds():
    thaana = "".join(map(chr, range(0x0780, 0x0790)))
    src = f"package p\n\nvar ͺ{thaana} = 1\n".encode()
    masks = tolerance.letter_masks(src)
    assert masks["ͺ"] not in thaana
    assert syntax.first_error(syntax.parse(src).root_node) is None


GO_LETTERS = """package main

import (
	"fmt"
	"unicode"
)

func main() {
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if unicode.IsLetter(r) {
			fmt.Printf("%x\\n", r)
		}
	}
}
"""


@pytest.mark.slow
def test_every_letter_go_accepts_makes_an_identifier(tmp_path):
    """Every rune unicode.IsLetter accepts (Go's identifier letters) starts and continues an identifier."""
    (tmp_path / "main.go").write_text(GO_LETTERS)
    (tmp_path / "go.mod").write_text("module letters\n\ngo 1.21\n")
    proc = subprocess.run([go_bin(), "run", "."], cwd=tmp_path, capture_output=True, text=True, env=go_environ())
    assert proc.returncode == 0, proc.stderr
    letters = [chr(int(line, 16)) for line in proc.stdout.split()]
    assert len(letters) > 100_000
    rejected = []
    for i in range(0, len(letters), 1000):
        chunk = letters[i : i + 1000]
        src = ("package p\n\n" + "".join(f"var {c}, a{c} = 1, 2\n" for c in chunk)).encode()
        if syntax.first_error(syntax.parse(src).root_node) is not None:
            rejected += [c for c in chunk if syntax.first_error(syntax.parse(f"package p\n\nvar {c}, a{c} = 1, 2\n".encode()).root_node)]
    assert rejected == [], [hex(ord(c)) for c in rejected]
