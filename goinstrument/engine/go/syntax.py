"""Parsing Go with tree-sitter: one parser, the queries we run, and node helpers."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import cache, cached_property
from operator import attrgetter

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from goinstrument import extension_module
from goinstrument.engine.edits import Edit, ordered
from goinstrument.engine.go import tolerance
from goinstrument.engine.result import Position, Problem


def _grammar() -> object:
    """tree-sitter-go's grammar, from its extension module alone where it can be found so
    (`extension_module`), else from the package."""
    binding = extension_module("tree_sitter_go", "_binding")
    if binding is None:
        import tree_sitter_go

        return tree_sitter_go.language()
    return binding.language()


LANGUAGE = Language(_grammar())

# The names a file uses, for the core to ask which are taken or declared where: one query,
# whose cost is its walk over the tree, whatever it matches (one walk for all kinds costs about
# what one alone would). Over a function's range alone (`Index.within`) it walks that range.
#   identifier: every name a Go identifier can stand for; field names (x.f, T{f: v}) are
#     left out where tree-sitter tells them apart, since they cannot clash with a variable.
#   package_use: where an imported package's name may be used (`pkg.Name`, expression or type).
#   declared: the names a declaration brings into some scope: parameters, results,
#     receivers, type parameters, variables, constants, local types.
# A file's structure (functions, comments, type aliases) is not queried: see `_tokens`.
_INDEX = """
(identifier) @identifier
(type_identifier) @identifier
(package_identifier) @identifier
(selector_expression operand: (identifier) @package_use)
(qualified_type package: (package_identifier) @package_use)
(parameter_declaration name: (identifier) @declared)
(variadic_parameter_declaration name: (identifier) @declared)
(short_var_declaration left: (expression_list (identifier) @declared))
(var_spec name: (identifier) @declared)
(const_spec name: (identifier) @declared)
(range_clause left: (expression_list (identifier) @declared))
(receive_statement left: (expression_list (identifier) @declared))
(type_parameter_declaration name: (identifier) @declared)
(type_switch_statement alias: (expression_list (identifier) @declared))
(type_spec name: (type_identifier) @declared)
"""


@cache
def _parser() -> Parser:
    return Parser(LANGUAGE)


@cache
def query(source: str) -> Query:
    """The compiled query (compiling costs milliseconds: once per source, when first used)."""
    return Query(LANGUAGE, source)


# The last few sources parsed, with their trees, and whether the tree is of the bytes
# themselves (not of tolerance's stand-ins). A file's output is read more than once by the check.
_TREES: dict[bytes, tuple[Tree, bool]] = {}
_TREES_KEPT = 4


def parse(src: bytes, *, keep: bool = True) -> Tree:
    """The tree of `src`; valid Go the grammar lacks is bridged by `tolerance` (positions kept).

    Trees are never edited in place, so the same bytes give back the same tree: the last few
    files' trees are kept (`keep=False` for a source that is not a file being rewritten).
    """
    kept = _TREES.get(src)
    if kept is not None:
        return kept[0]
    origin = _DERIVED.pop(src, None) if keep else None
    again = parse_edited(origin[0], origin[1], src) if origin is not None else None
    if again is not None:
        return again
    plain = _parser().parse(src)
    tree = plain if not plain.root_node.has_error else tolerance.parse(src, _parser().parse)
    if keep:
        _keep(src, tree, tree is plain)
    return tree


def parse_plain(src: bytes) -> Tree | None:
    """The grammar's own tree of `src`, None where it has an error (tolerance's trees are of its
    stand-ins, not of the bytes): one to parse an edited copy of `src` from (parse_edited)."""
    tree = _parser().parse(src)
    return None if tree.root_node.has_error else tree


def _keep(src: bytes, tree: Tree, plain: bool) -> None:
    if len(_TREES) >= _TREES_KEPT:
        del _TREES[next(iter(_TREES))]
    _TREES[src] = (tree, plain)


# The last few rewrites' outputs, each with the source and the edits that made it (`derived`):
# the first `parse` of an output starts from its source's tree (the stability check reads it).
_DERIVED: dict[bytes, tuple[bytes, Sequence[Edit]]] = {}


def derived(new: bytes, old: bytes, edits: Sequence[Edit]) -> None:
    """Tell `parse` that `new` is `old` with `edits` applied (edits.apply): parsed, it is parsed
    incrementally from `old`'s tree (parse_edited)."""
    if len(_DERIVED) >= _TREES_KEPT:
        del _DERIVED[next(iter(_DERIVED))]
    _DERIVED[new] = (old, edits)


def parse_edited(old: bytes, edits: Sequence[Edit], new: bytes, tree: Tree | None = None) -> Tree | None:
    """Have `parse(new)` answer from an incremental parse, where `new` is `old` with `edits` applied
    (edits.apply) and `old`'s tree is at hand: tree-sitter reuses what the edits left alone, and its
    tree is the one a full parse gives. The tree kept, or None: a result in error is not kept
    (`parse` then does it all, tolerance included), nor is anything without `old`'s own tree.
    `tree`: `old`'s, where it is not one `parse` keeps (an earlier run's: driver/trees.py); a
    tree of `old` itself, never of tolerance's stand-ins."""
    if tree is None:
        kept = _TREES.get(old)
        if kept is None or not kept[1]:
            return None
        tree = kept[0]
    if not edits or new in _TREES:
        return None
    tree = tree.copy()
    merged = _merged(edits)
    points = _points(old, [offset for start, end, _ in merged for offset in (start, end)])
    for i, (start, end, text) in reversed(list(enumerate(merged))):  # from the end: each edit's offsets are still old's
        start_point, end_point = points[2 * i], points[2 * i + 1]
        rows = text.count(b"\n")
        column = len(text) - (text.rfind(b"\n") + 1) if rows else start_point[1] + len(text)
        tree.edit(start, end, start + len(text), start_point, end_point, (start_point[0] + rows, column))
    again = _parser().parse(new, tree)
    if again.root_node.has_error:
        return None
    _keep(new, again, True)
    return again


def _merged(edits: Sequence[Edit]) -> list[tuple[int, int, bytes]]:
    """The edits in the order `edits.apply` applies them, those that touch made one."""
    merged: list[tuple[int, int, bytes]] = []
    for edit in ordered(edits):
        if merged and merged[-1][1] == edit.start:
            start, _, text = merged[-1]
            merged[-1] = (start, edit.end, text + edit.text)
        else:
            merged.append((edit.start, edit.end, edit.text))
    return merged


def _points(src: bytes, offsets: list[int]) -> list[tuple[int, int]]:
    """The (row, byte column) of each of the ascending offsets, as tree-sitter counts them."""
    points, row, counted = [], 0, 0
    for offset in offsets:
        row += src.count(b"\n", counted, offset)
        counted = offset
        points.append((row, offset - (src.rfind(b"\n", 0, offset) + 1)))
    return points


_FUNCTIONS = frozenset(("function_declaration", "method_declaration", "func_literal"))


def _tokens(root: Node, word: bytes, kind: str) -> list[Node]:
    """The nodes of type `kind` that are the text `word` wherever the tree's bytes spell it, in order.

    A file's structure is found from its keywords' tokens: a function (declaration, method or
    literal) is the parent of its `func` token, a type alias a child of the declaration of its
    `type` token, and a comment starts with `//` or `/*`. A look-up per place the bytes spell the
    word (a string or a comment holding it is no token of that type) costs a fifteenth of a query's
    walk over the whole tree (measured on the standard library, with the same nodes found).
    The tree's own bytes are searched: tolerance's stand-in letters (tolerance.py) never touch these."""
    text, base = root.text or b"", root.start_byte  # the root starts at the first token: blank lines before it are not its
    at_token = root.descendant_for_byte_range
    found, size = [], len(word)
    at = text.find(word)
    while at >= 0:
        node = at_token(base + at, base + at + size)
        if node is not None and node.start_byte == base + at and node.type == kind:
            found.append(node)
        at = text.find(word, at + size)
    return found


class Index:
    """The nodes of one tree the core asks for, by kind, each list in source order.

    The structure's kinds are found from their tokens (`_tokens`), each when first asked for; the
    names' kinds (`_INDEX`) by the whole query when a whole list is asked for, else over a range."""

    def __init__(self, root: Node):
        self.root = root  # holds the tree alive while the index is cached
        self._found: dict[str, list[Node]] | None = None  # the whole query's captures, once run

    def _kind(self, name: str) -> list[Node]:
        if self._found is None:
            self._found = QueryCursor(query(_INDEX)).captures(self.root)
        nodes = self._found.get(name, [])
        nodes.sort(key=_START)
        return nodes

    def has(self, kind: str) -> bool:
        """Whether the nodes of `kind` are at hand without another query."""
        return self._found is not None

    @cached_property
    def functions(self) -> list[Node]:
        found = []
        for token in _tokens(self.root, b"func", "func"):
            parent = token.parent
            if parent is not None and parent.type in _FUNCTIONS and parent.start_byte == token.start_byte:
                found.append(parent)
        return found

    @cached_property
    def comments(self) -> list[Node]:
        found = _tokens(self.root, b"//", "comment") + _tokens(self.root, b"/*", "comment")
        found.sort(key=_START)
        return found

    @cached_property
    def aliases(self) -> list[Node]:
        found = []
        for token in _tokens(self.root, b"type", "type"):
            parent = token.parent
            if parent is not None and parent.type == "type_declaration":
                names = (spec.child_by_field_name("name") for spec in parent.named_children if spec.type == "type_alias")
                found += [name for name in names if name is not None and name.type == "type_identifier"]
        return found

    @cached_property
    def package_uses(self) -> list[Node]:
        return self._kind("package_use")

    @cached_property
    def package_use_starts(self) -> list[int]:
        return [n.start_byte for n in self.package_uses]

    @cached_property
    def identifiers(self) -> list[Node]:
        return self._kind("identifier")

    @cached_property
    def identifier_starts(self) -> list[int]:
        return [n.start_byte for n in self.identifiers]

    @cached_property
    def _declared(self) -> tuple[list[int], list[Node]]:
        nodes = self._kind("declared")
        return [n.start_byte for n in nodes], nodes

    def declared_in(self, node: Node) -> list[Node]:
        return self.within("declared", node.start_byte, node.end_byte)

    def within(self, kind: str, start: int, end: int) -> list[Node]:
        """The nodes of `kind` (identifier, declared or package_use) that start in [start, end), in
        source order: from the whole query where it ran, else from the query over that range alone
        (most files are asked about a few functions: the whole query would walk the whole tree)."""
        if not self.has(kind):
            cursor = QueryCursor(query(_INDEX))  # compiled once: a query of one kind would cost ms more
            cursor.set_byte_range(start, end)
            # From the top-level nodes the range holds, not from the root: a walk from the root steps
            # over every top-level node before the range, which, function after function, is
            # quadratic in a file. No pattern reaches above a top-level node.
            tops = self.root.children
            i = bisect.bisect_right(tops, start, key=_END)  # the first top-level node ending after start
            found: list[Node] = []
            while i < len(tops) and tops[i].start_byte < end:
                found += cursor.captures(tops[i]).get(kind, [])
                i += 1
            return sorted((n for n in found if start <= n.start_byte < end), key=_START)
        if kind == "declared":
            starts, nodes = self._declared
        elif kind == "identifier":
            starts, nodes = self.identifier_starts, self.identifiers
        else:
            starts, nodes = self.package_use_starts, self.package_uses
        return nodes[bisect.bisect_left(starts, start) : bisect.bisect_left(starts, end)]


_START = attrgetter("start_byte")
_END = attrgetter("end_byte")


# The last few trees' indexes, by their root node: a Node is equal to (and hashes as) another
# of the same tree at the same place only, and holds its tree, so a key is never another tree's.
_INDEXES: dict[Node, Index] = {}
_INDEXES_KEPT = 4


def index(node: Node) -> Index:
    """The index of the tree `node` belongs to, built once per tree."""
    root = node
    while root.parent is not None:
        root = root.parent
    found = _INDEXES.get(root)
    return found if found is not None else _remember(Index(root))


def _remember(made: Index) -> Index:
    if len(_INDEXES) >= _INDEXES_KEPT:
        del _INDEXES[next(iter(_INDEXES))]
    _INDEXES[made.root] = made
    return made


def functions(root: Node) -> list[Node]:
    """Function declarations, methods and literals, in source order."""
    return index(root).functions


# Where a declaration holds the names it brings (the `declared` patterns of _INDEX): the field of
# the declaring node, holding the name itself or (a statement's) an expression_list of names.
_NAMED_BY = {
    "parameter_declaration": "name",
    "variadic_parameter_declaration": "name",
    "var_spec": "name",
    "type_parameter_declaration": "name",
}
_LISTED_BY = {"short_var_declaration": "left", "range_clause": "left", "receive_statement": "left", "type_switch_statement": "alias"}


def import_declarations(root: Node) -> list[Node]:
    """The file's import declarations, in order: the parents of its `import` tokens, not a walk over
    every declaration of the file."""
    found = []
    for token in _tokens(root, b"import", "import"):
        decl = token.parent
        if decl is not None and decl.type == "import_declaration" and decl.parent == root:
            found.append(decl)
    return found


def declares(node: Node, name: bytes) -> bool:
    """Whether a declaration anywhere inside `node`, whatever its scope, declares `name` (as a
    `declared` capture of _INDEX would say). Each place the node's bytes spell it is looked up in
    the tree: a name is spelled in a few places, where the query would walk every node of `node`."""
    text, start = node.text or b"", node.start_byte
    at = text.find(name)
    while at >= 0:
        found = node.descendant_for_byte_range(start + at, start + at + len(name))
        if found is not None and found.start_byte == start + at and found.end_byte == start + at + len(name) and _declaring(found):
            return True
        at = text.find(name, at + 1)
    return False


def _declaring(name: Node) -> bool:
    parent = name.parent
    if parent is None:
        return False
    if name.type == "type_identifier":
        return parent.type == "type_spec" and parent.child_by_field_name("name") == name
    if name.type != "identifier":
        return False
    if parent.type in _NAMED_BY:
        return name in parent.children_by_field_name(_NAMED_BY[parent.type])
    if parent.type == "const_spec":
        # The grammar puts a const_spec's commas in its `name` field, and the query then captures
        # its first name only (`const a, b = 1, 2` declares `a` to it): kept so, as the query has it.
        return parent.child_by_field_name("name") == name
    statement = parent.parent
    if parent.type != "expression_list" or statement is None or statement.type not in _LISTED_BY:
        return False
    return statement.child_by_field_name(_LISTED_BY[statement.type]) == parent


def type_alias_names(root: Node) -> set[bytes]:
    """Every name a `type X = ...` declares anywhere in the file."""
    return {raw(n) for n in index(root).aliases}


def package_uses(root: Node) -> list[Node]:
    """Every identifier that may name an imported package (`x` in `x.Y`), in source order."""
    return index(root).package_uses


def package_uses_in(root: Node, start: int, end: int) -> list[Node]:
    """The package uses (as package_uses) that start in [start, end) (Index.within)."""
    return index(root).within("package_use", start, end)


def comments(root: Node) -> list[Node]:
    return index(root).comments


def text(node: Node | None) -> str:
    """The source text of a node ("" for none), decoded."""
    return raw(node).decode("utf-8", "replace")


def raw(node: Node | None) -> bytes:
    """The source bytes of a node (b"" for none)."""
    return node.text or b"" if node is not None else b""


def position(node: Node) -> Position:
    row, col = node.start_point
    return Position(row + 1, col + 1)


def first_error(root: Node) -> Node | None:
    """The first ERROR or MISSING node, depth first, or None for a clean tree."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return node
        stack.extend(child for child in reversed(node.children) if child.has_error or child.is_missing)
    return root


# After these a newline ends the statement (the Go spec's semicolon rule): "found newline", as gofmt says.
_SEMICOLON_AFTER = frozenset(
    {
        "identifier",
        "field_identifier",
        "type_identifier",
        "package_identifier",
        "int_literal",
        "float_literal",
        "imaginary_literal",
        "rune_literal",
        "raw_string_literal",
        "interpreted_string_literal",
        "true",
        "false",
        "nil",
        "iota",
        "break",
        "continue",
        "fallthrough",
        "return",
        "++",
        "--",
        ")",
        "]",
        "}",
        '"',
        "`",
    }
)
_QUOTES = {'"': "string literal not terminated", "`": "raw string literal not terminated", "'": "rune literal not terminated"}


def _leaves(node: Node) -> list[Node]:
    """The tokens below `node`, in order (comments too)."""
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.child_count == 0:
            if n.end_byte > n.start_byte or n is node:
                out.append(n)
        else:
            stack.extend(reversed(n.children))
    return out


def _token(node: Node, src: bytes) -> str:
    """A token as gofmt names it: an identifier or a literal bare, anything else quoted."""
    text = src[node.start_byte : node.end_byte].decode("utf-8", "replace")
    text = text if len(text) <= 30 else text[:27] + "..."
    return text if (node.is_named and node.type != "ERROR") or node.type in _SEMICOLON_AFTER - {")", "]", "}", "++", "--"} else f"'{text}'"


def _byte_position(src: bytes, offset: int) -> Position:
    """The line:col (bytes) of `offset`, as go/token counts it: at the end, a final newline starts no line."""
    search_end = len(src) - 1 if offset >= len(src) and src.endswith(b"\n") else offset
    line_start = src.rfind(b"\n", 0, search_end) + 1
    return Position(src.count(b"\n", 0, line_start) + 1, offset - line_start + 1)


def _wants_more(token: Node) -> bool:
    """An operator or an opening delimiter: what comes after it is what does not fit."""
    return not token.is_named and not any(c.isalnum() for c in token.type) and token.type not in (")", "]", "}", "++", "--", ";")


def describe(src: bytes, root: Node, error: Node) -> tuple[Position, str]:
    """Where and what the first syntax error is, close to gofmt's words and position: a MISSING
    node is `expected 'X', found Y` at the token found instead (a newline that ends the statement,
    or EOF); an ERROR node is `unexpected Y` at its first token."""
    if error.is_missing:
        if error.type in _QUOTES:
            return position(error.parent or error), _QUOTES[error.type]
        leaves = [leaf for leaf in _leaves(root) if not leaf.is_missing and leaf.type != "comment"]
        before = [leaf for leaf in leaves if leaf.end_byte <= error.start_byte]
        after = [leaf for leaf in leaves if leaf.start_byte >= error.end_byte]
        expected = f"expected '{error.type}'"
        if not after:
            return _byte_position(src, len(src)), f"{expected}, found 'EOF'"
        found = after[0]
        if before and b"\n" in src[before[-1].end_byte : found.start_byte] and before[-1].type in _SEMICOLON_AFTER:
            return _byte_position(src, before[-1].end_byte), f"{expected}, found newline"
        return position(found), f"{expected}, found {_token(found, src)}"
    tokens = [leaf for leaf in _leaves(error) if leaf.type != "comment"]
    if tokens and tokens[-1].type == "{":  # `func F( {`: a body opened inside an unclosed parameter list
        depth = sum(1 if t.type == "(" else -1 if t.type == ")" else 0 for t in tokens[:-1])
        if depth > 0:
            return position(tokens[-1]), "expected ')', found '{'"
    if tokens and _wants_more(tokens[-1]):  # `x := 1 +` then `}`: gofmt blames the `}`
        following = [leaf for leaf in _leaves(root) if leaf.start_byte >= error.end_byte and leaf.type != "comment" and not leaf.is_missing]
        if not following:
            closing = _unclosed(root)
            return _byte_position(src, len(src)), f"expected '{closing}', found 'EOF'" if closing else "unexpected 'EOF'"
        return position(following[0]), f"unexpected {_token(following[0], src)}"
    first = tokens[0] if tokens else error
    return position(first), f"unexpected {_token(first, src)}"


def _unclosed(root: Node) -> str | None:
    """The closing token of what the file's end leaves open (a block's `}`, or `)`, `]`): gofmt
    says `expected '}', found 'EOF'` there; None when nothing is left open."""
    depth = {"{": 0, "(": 0, "[": 0}
    closes = {"}": "{", ")": "(", "]": "["}
    last_open = ""
    for leaf in _leaves(root):
        if leaf.is_missing:
            continue
        if leaf.type in depth:
            depth[leaf.type] += 1
            last_open = leaf.type
        elif leaf.type in closes:
            depth[closes[leaf.type]] -= 1
    wanted = [k for k, n in depth.items() if n > 0]
    if not wanted:
        return None
    opening = last_open if last_open in wanted else wanted[0]
    return {"{": "}", "(": ")", "[": "]"}[opening]


def syntax_problem(path: str, src: bytes, root: Node, error: Node) -> Problem:
    """The file's first syntax error, as a problem: `syntax error: expected '}', found 'EOF'; left untouched`."""
    pos, what = describe(src, root, error)
    return Problem(path, pos, f"syntax error: {what}; left untouched")


# The node kinds the index's `identifier` holds (the query's patterns of that capture).
IDENTIFIER_KINDS = frozenset(("identifier", "type_identifier", "package_identifier"))


class Identifiers:
    """All identifier occurrences of a file, to ask which names a byte range uses."""

    def __init__(self, root: Node):
        self._index = index(root)

    def names_in(self, start: int, end: int) -> set[bytes]:
        return {raw(n) for n in self._index.within("identifier", start, end)}


def line_start(src: bytes, offset: int) -> int:
    return src.rfind(b"\n", 0, offset) + 1


def line_end(src: bytes, offset: int) -> int:
    """Offset of the line terminator (\\r\\n or \\n) of the line holding offset, or len(src)."""
    end = src.find(b"\n", offset)
    if end < 0:
        return len(src)
    return end - 1 if end > 0 and src[end - 1 : end] == b"\r" else end


def indentation(src: bytes, offset: int) -> bytes:
    """The leading blanks of the line holding offset."""
    start = line_start(src, offset)
    end = start
    while end < len(src) and src[end : end + 1] in (b"\t", b" "):
        end += 1
    return src[start:end]
