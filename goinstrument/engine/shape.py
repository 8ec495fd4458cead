"""One Shape per backend: the code a backend inserts, as syntax trees parsed from its own rendering.

DESIGN §4, §5 and §8b. A backend only *renders* (`lines(names, tracer,
span_name)`). Everything else about its code is derived here from that one
rendering: the backend renders with placeholder names (unique identifiers and
string literals), the rendering is parsed into template trees, and real
statements are matched against those trees node for node. A placeholder
matches one node and binds it; the same placeholder must bind the same text
everywhere. Recognising, bringing up to date (from the bound nodes), counting
the literals the inserted code holds and removing it all follow from that.

Variants: the rendering with and without the error block, with and without
start attributes and result attributes, each only where the backend's
rendering differs with them (that difference is how a backend declares what it
supports). An attribute list is variable-length: each argument is matched
against the one-attribute template, rendered with placeholder key,
constructor and value (the value matches any expression).

Ours or a person's (DESIGN §8b: "a person's span is never renamed or
removed"): a block is ours only when every statement matches a variant node
for node (the tracer expression included, its tracer a string literal), and
  - its tracer literal is the tracer we would write for this file, or
  - its span-name literal is one our span-name template could have produced
    (for the default `{name}`: a Go runtime name such as `F`, `T.M`,
    `F.func1`, `F.func1.2`; never with spaces or slashes).
So `otel.Tracer("old/tracer").Start(ctx, "OldName")` is ours and brought up
to date, and `otel.Tracer("github.com/acme/custom").Start(ctx, "HTTP GET
/users")` is a person's and left alone. A backend that renders neither a
tracer nor a span name has nothing a person chose: its exact shape is ours.

go-instrument's shape is a foreign Shape, derived the same way from a
rendering of the code go-instrument writes; it is matched for `--remove` and
migration and never rendered into output.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Generic, TypeVar, cast

from tree_sitter import Node

from goinstrument.backends.go_instrument import GoInstrument
from goinstrument.backends.protocol import ERROR_FORMS, Attribute, Backend, Names, go_string
from goinstrument.engine.attributes import name_text
from goinstrument.engine.go import syntax
from goinstrument.engine.imports import default_package_name
from goinstrument.engine.options import RewriteOptions, split_sentinel
from goinstrument.engine.result import Value
from goinstrument.tuples import NamedTuple

K = TypeVar("K")
V = TypeVar("V")

_PREFIX = "goinstrumentPlaceholder"
_CTX_LHS = _PREFIX + "CtxLhs"
_CTX = _PREFIX + "Ctx"
_SPAN = _PREFIX + "Span"
_ERR = _PREFIX + "Err"
_ROUTE = _PREFIX + "Route"  # the variable of a server span's route block (handlers.py)
_TRACER = _PREFIX + "Tracer"  # a string literal once rendered
_NAME = _PREFIX + "Name"  # a string literal once rendered
_KEY = _PREFIX + "Key"  # a string literal once rendered
_CONSTRUCTOR = _PREFIX + "Constructor"
_VALUE = _PREFIX + "Value"  # matches any expression
_SENTINEL = _PREFIX + "Sentinel"  # an expected error: matches any expression, one per `!errors.Is(err, X)`
_ATTRIBUTE = Attribute(_KEY, _CONSTRUCTOR, _VALUE)
_STRINGS = {go_string(p).encode(): p for p in (_TRACER, _NAME, _KEY)}
_FREE = tuple(p.encode() for p in (_TRACER, _NAME, _KEY, _VALUE, _SENTINEL, _CONSTRUCTOR))  # placeholders of more than one token
_IDENTIFIER_TYPES = ("identifier", "field_identifier", "package_identifier", "type_identifier")
_STRING_TYPES = ("interpreted_string_literal", "raw_string_literal")


class Style(NamedTuple):
    """How a rendering writes its parts (backend.Names): the error block's form, whether it skips
    expected errors, and whether start attributes are given to Start or set after it."""

    errors: str = "status"
    expected: bool = False
    at_start: bool = True

    @classmethod
    def of(cls, names: Names) -> Style:
        return cls(names.errors, bool(names.expected), names.attributes_at_start)

    def fit(self, parts: tuple[bool, bool, bool]) -> Style:
        """The style as a rendering with these parts can show it (no error block: no error form)."""
        return Style(self.errors if parts[0] else "", self.expected and parts[0], self.at_start or not parts[1])

    def names(self, names: Names) -> Names:
        """`names` rendering this style; its expected errors placeholders when it has none of its own."""
        expected = (names.expected or (_SENTINEL,)) if self.expected else ()
        return names._replace(errors=self.errors or "status", expected=expected, attributes_at_start=self.at_start)


CURRENT = Style()  # the default settings' style

# Every style a rendering may be in: the forms written now, and the one earlier versions wrote.
_STYLES = (
    *(Style(errors, expected, True) for errors in ERROR_FORMS if errors != "record" for expected in (False, True)),
    Style("record", False, False),
)


class Variant:
    """One rendering of a backend's code: which optional parts it has, and its statements as templates."""

    def __init__(
        self, errors: bool, start_attributes: bool, result_attributes: bool, statements: tuple[Node, ...], literals: int, style: Style = CURRENT
    ) -> None:
        self.errors = errors
        self.start_attributes = start_attributes
        self.result_attributes = result_attributes
        self.statements = statements
        self.literals = literals  # function literals at the top level of the rendering: the body's own come after
        self.style = style  # the first style rendered this way (others may render the same)

    @functools.cached_property
    def templates(self) -> tuple[_Template, ...]:
        """The statements as matching reads them, built once."""
        return tuple(_template(n) for n in self.statements)

    @functools.cached_property
    def punctuation(self) -> tuple[bytes | None, ...]:
        """For each statement, its ASCII punctuation in order (`_punctuation`), or None where it holds
        a placeholder that matches more than one token (a string literal, a value, an expected error,
        an attribute list). A statement that matches one without node for node has the same: its
        tokens are the template's, identifiers aside (a comment or a string in it would be a node
        the template lacks). Compared before the walk, it rules out most variants that differ."""
        return tuple(_statement_punctuation(n) for n in self.statements)


class _Template:
    """A template node, read once: what `_Binder` compares a real node with (the template's Nodes
    would be re-created, and their text decoded, at every match). A plain class: a dataclass
    costs a millisecond of start-up to create, and nothing compares or prints these."""

    __slots__ = ("attribute", "chain", "children", "kind", "placeholder", "text", "token", "type")

    def __init__(self, node: Node, placeholder: str | None, attribute: _Template | None, text: bytes | None, children: tuple[_Template, ...]) -> None:
        self.type = node.type
        self.kind = node.kind_id  # compared with a real node's: an int, where `type` makes a str
        self.placeholder = placeholder
        self.attribute = attribute  # an argument list of the one-attribute template: that template
        self.chain: _Template | None = None  # `left && <one expected error>`: that one's template
        self.text = text  # a named leaf's text (None: an anonymous token, or not a leaf)
        self.children = children
        # An anonymous token (`(`, `:=`, `defer`): a real node of its kind matches it, nothing more to ask.
        self.token = placeholder is None and attribute is None and text is None and not children

    @classmethod
    def of(cls, node: Node) -> _Template:
        placeholder = _placeholder(node)
        if placeholder is None and node.type == "argument_list" and _holds_attribute(node):
            return cls(node, None, cls.of(node.named_children[0]), None, ())
        right, left = node.child_by_field_name("right"), node.child_by_field_name("left")
        if node.type == "binary_expression" and right is not None and left is not None and _SENTINEL.encode() in (right.text or b""):
            chain = cls(node, None, None, None, (cls.of(left),))
            chain.chain = cls.of(right)
            return chain
        children = () if placeholder is not None else tuple(cls.of(c) for c in node.children)
        # A leaf's text, compared with a real leaf's; an anonymous leaf (`(`, `:=`, `defer`) is one
        # token, which its kind alone names: no text to compare.
        text = node.text if node.child_count == 0 and node.is_named else None
        return cls(node, placeholder, None, text, children)


class Where(NamedTuple):
    """What bound placeholders must be, in the function being matched."""

    contexts: frozenset[bytes]  # names the context may have (the context parameter; any parameter for removal)
    errors: frozenset[bytes] | None  # names of the function's error results; None: any name (the caller judges it)
    imports: Mapping[str, frozenset[bytes]]  # import path -> the names the file imports it under


class Match(Value):
    """A block of statements in a Shape, and the nodes its placeholders bound."""

    __slots__ = (  # noqa: RUF023 (__init__'s order)
        "count", "foreign", "ctx_lhs", "span", "tracer", "name", "attributes",
        "err", "parts", "statements", "packages", "local_ctx", "style", "expected",
    )  # fmt: skip

    def __init__(
        self,
        count: int,
        foreign: bool,
        ctx_lhs: tuple[Node, ...],
        span: tuple[Node, ...],
        tracer: tuple[Node, ...],
        name: tuple[Node, ...],
        attributes: tuple[tuple[Node, Node], ...],
        err: tuple[Node, ...] = (),
        parts: tuple[bool, bool, bool] = (False, False, False),
        statements: tuple[Node, ...] = (),
        packages: tuple[tuple[str, str], ...] = (),
        local_ctx: bool = False,
        style: Style = CURRENT,
        expected: tuple[Node, ...] = (),
    ) -> None:
        self.count: Final = count  # statements in the block
        self.foreign: Final = foreign  # go-instrument's
        self.ctx_lhs: Final = ctx_lhs  # every occurrence, in order (the same text each)
        self.span: Final = span
        self.tracer: Final = tracer  # the tracer string literal, for backends that name one
        self.name: Final = name  # the span-name string literal
        self.attributes: Final = attributes  # (key literal, value) of every attribute argument
        self.err: Final = err  # every occurrence of the error the error block records
        self.parts: Final = parts  # the variant: error block, start attributes, result attributes
        self.statements: Final = statements  # the matched statements, one per statement of the variant
        self.packages: Final = packages  # (import path, the name the matched code calls it by)
        self.local_ctx: Final = local_ctx  # the context result is a variable of the block's own, not `_` (handlers.py)
        self.style: Final = style  # the variant's style
        self.expected: Final = expected  # the expected errors its error block skips, in order


class Shape:
    """The code one backend (or go-instrument) inserts, as templates."""

    def __init__(
        self,
        variants: tuple[Variant, ...],
        paths: dict[str, str],
        start_imports: frozenset[str],
        foreign: bool,
        supported: tuple[bool, bool, bool],
        local_ctx: bool = False,
        backend: Backend | None = None,
        by_style: Mapping[tuple[tuple[bool, bool, bool], Style], Variant] | None = None,
    ) -> None:
        self.variants = variants
        self.paths = paths  # import path -> its package placeholder
        self.start_imports = start_imports
        self.foreign = foreign
        self.supported = supported  # the rendering differs with: the error block, start attributes, result attributes
        self.local_ctx = local_ctx  # its context result is a new variable or `_`, never the parameter (handlers.py)
        self.backend = backend  # whose rendering it is
        # (parts, style as those parts show it) -> the variant rendered that way
        self.by_style: Mapping[tuple[tuple[bool, bool, bool], Style], Variant] = {} if by_style is None else by_style

    @property
    def imports(self) -> frozenset[str]:
        """Every import path the code may use."""
        return frozenset(self.paths)

    def parts(self, errors: bool, start: bool, results: bool) -> tuple[bool, bool, bool]:
        """The parts of the rendering this backend writes, of those asked for."""
        return (errors and self.supported[0], start and self.supported[1], results and self.supported[2])

    def literals(self, parts: tuple[bool, bool, bool]) -> int:
        """How many function literals the rendering with these parts holds at its top level."""
        variant = self.variant(parts)
        return variant.literals if variant is not None else 0

    def variant(self, parts: tuple[bool, bool, bool], style: Style = CURRENT) -> Variant | None:
        found = self.by_style.get((parts, style.fit(parts)))
        if found is not None or self.by_style:
            return found
        return next((v for v in self.variants if (v.errors, v.start_attributes, v.result_attributes) == parts), None)

    @functools.cached_property
    def skips_expected(self) -> bool:
        """Whether the error block skips expected errors (--expected-errors) in this backend's rendering."""
        parts = (True, False, False)
        return self.variant(parts, Style(expected=True)) is not self.variant(parts, Style())

    def transition(
        self, current: tuple[bool, bool, bool], wanted: tuple[bool, bool, bool], styles: tuple[Style, Style] = (CURRENT, CURRENT)
    ) -> Transition | None:
        """How the statements of one variant become those of another, statement by statement
        (templates compared as rendered): which to delete, and which to insert where."""
        before, after = self.variant(current, styles[0]), self.variant(wanted, styles[1])
        if before is None or after is None:
            return None
        import difflib  # only an update between variants needs it

        texts = difflib.SequenceMatcher(a=[syntax.raw(n) for n in before.statements], b=[syntax.raw(n) for n in after.statements], autojunk=False)
        deleted: list[int] = []
        inserted: list[tuple[int, tuple[int, ...]]] = []
        for tag, i1, i2, j1, j2 in texts.get_opcodes():
            if tag in ("delete", "replace"):
                deleted += range(i1, i2)
            if tag in ("insert", "replace"):
                inserted.append((i2, tuple(range(j1, j2))))
        literals = sum(_top_level_literals((after.statements[j],)) for _, js in inserted for j in js)
        return Transition(tuple(deleted), tuple(inserted), literals)

    def statement_lines(self, parts: tuple[bool, bool, bool], names: Names, tracer: str, span_name: str) -> list[list[str]] | None:
        """The backend's lines for one variant, grouped by top-level statement; attributes are left as
        placeholders (`holds_placeholder` tells), as they cannot be rebuilt from the code."""
        if self.backend is None:
            return None
        styled = Style.of(names).names(names)
        names = styled._replace(
            err=names.err if parts[0] else None,
            attributes=(_ATTRIBUTE,) if parts[1] else (),
            result_attributes=(_ATTRIBUTE,) if parts[2] else (),
        )
        lines = tuple(self.backend.lines(names, tracer, span_name))
        statements = _parse(lines)
        if statements is None:
            return None
        return [list(lines[n.start_point[0] - _FIRST_ROW : n.end_point[0] - _FIRST_ROW + 1]) for n in statements]

    def match(self, items: Sequence[Node], where: Where) -> Match | None:
        """The longest variant the statements at the start of `items` are, node for node, or None."""
        if not self.may_start(items):
            return None
        first = items[0].text or b""
        if not any(all(word in first for word in words) for words in self.first_words):
            return None  # the first statement lacks a name each variant's first spells out
        # For each statement as far as a variant has looked, the names some variant's statement there
        # spells out that its text holds (each looked for once, not once for each variant).
        spelled: list[frozenset[bytes]] = []
        known: dict[int, _Binder | None] = {}  # a shared prefix of statements, matched: the binder after it (None: no match)
        marks: dict[int, bytes] = {}  # a statement's punctuation, as far as a variant has compared it
        for variant, words in self._longest_first:
            if len(items) < len(words):
                continue
            while len(spelled) < len(words):
                k = len(spelled)
                text = first if k == 0 else items[k].text or b""
                spelled.append(frozenset(word for word in self._words_at[k] if word in text))
            if not all(wanted <= found for wanted, found in zip(words, spelled, strict=False)):
                continue  # a statement lacks a name the variant spells out: no need to walk the trees
            found = self._match_variant(variant, items, where, known, marks)
            if found is not None:
                return found  # the longest (of two as long, the one first in `variants`)
        return None

    def may_start(self, items: Sequence[Node]) -> bool:
        """Whether `items` may start with this shape's code: its first statement is of a type some
        variant starts with (what almost every function without such a span fails, no text read)."""
        return bool(items) and items[0].type in self.first_types

    @functools.cached_property
    def _longest_first(self) -> tuple[tuple[Variant, tuple[frozenset[bytes], ...]], ...]:
        pairs = ((v, tuple(map(frozenset, words))) for v, words in zip(self.variants, self._words, strict=True))
        return tuple(sorted(pairs, key=lambda pair: -len(pair[0].statements)))  # stable: ties keep their order

    @functools.cached_property
    def _words_at(self) -> tuple[frozenset[bytes], ...]:
        """For each statement number, the names some variant's statement of that number spells out."""
        longest = max((len(words) for words in self._words), default=0)
        return tuple(frozenset(word for words in self._words if k < len(words) for word in words[k]) for k in range(longest))

    @functools.cached_property
    def first_types(self) -> frozenset[str]:
        """The node types a variant's first statement has (a short variable declaration, most often)."""
        return frozenset(v.statements[0].type for v in self.variants if v.statements)

    @functools.cached_property
    def longest(self) -> int:
        """The number of statements of its longest variant: no match of it is longer."""
        return max((len(v.statements) for v in self.variants), default=0)

    @functools.cached_property
    def first_words(self) -> frozenset[tuple[bytes, ...]]:
        """The names each variant's first statement spells out (a handful of distinct ones; none
        for a variant of no statements, which any statements start with)."""
        return frozenset(words[0] if words else () for words in self._words)

    @functools.cached_property
    def _words(self) -> tuple[tuple[tuple[bytes, ...], ...], ...]:
        """For each variant, for each of its statements, the names (not placeholders) it spells out."""
        return tuple(tuple(_statement_words(statement) for statement in v.statements) for v in self.variants)

    @functools.cached_property
    def _prefixes(self) -> dict[int, tuple[int | None, ...]]:
        """id(variant) -> for each of its statements, the number of the statements up to it where
        another variant starts with the same (rendered alike: the same templates), else None."""
        texts = {id(v): [syntax.raw(n) for n in v.statements] for v in self.variants}
        counts: dict[tuple[bytes, ...], int] = {}
        for statements in texts.values():
            for k in range(len(statements)):
                counts[tuple(statements[: k + 1])] = counts.get(tuple(statements[: k + 1]), 0) + 1
        numbers = {prefix: n for n, prefix in enumerate(p for p, count in counts.items() if count > 1)}
        return {key: tuple(numbers.get(tuple(statements[: k + 1])) for k in range(len(statements))) for key, statements in texts.items()}

    def _match_variant(
        self,
        variant: Variant,
        items: Sequence[Node],
        where: Where,
        known: dict[int, _Binder | None] | None = None,
        marks: dict[int, bytes] | None = None,
    ) -> Match | None:
        """The variant's match at the start of `items`, or None. `known`: what one call of `match`
        found of the statements variants share, so that each shared prefix is walked once; `marks`:
        the statements' punctuation it has read (Variant.punctuation)."""
        count = len(variant.statements)
        if len(items) < count:
            return None
        prefixes = self._prefixes[id(variant)] if known is not None else (None,) * count
        known = known if known is not None else {}
        binder, start = _Binder(), 0
        for k in range(count - 1, -1, -1):  # the longest prefix walked already
            key = prefixes[k]
            if key is not None and key in known:
                walked = known[key]
                if walked is None:
                    return None
                binder, start = walked.copy(), k + 1
                break
        marks = marks if marks is not None else {}
        for k in range(start, count):
            wanted = variant.punctuation[k]
            if wanted is not None and k not in marks:
                marks[k] = _punctuation(items[k].text or b"")
            matched = (wanted is None or marks[k] == wanted) and binder.match(variant.templates[k], items[k])
            key = prefixes[k]
            if key is not None:
                known[key] = binder.copy() if matched else None
            if not matched:
                return None
        if not binder.fits(where, self.paths, self.local_ctx):
            return None
        seen = binder.occurrences
        return Match(
            len(variant.statements),
            self.foreign,
            tuple(seen.get(_CTX_LHS, ())),
            tuple(seen.get(_SPAN, ())),
            tuple(seen.get(_TRACER, ())),
            tuple(seen.get(_NAME, ())),
            tuple(binder.attributes),
            tuple(seen.get(_ERR, ())),
            (variant.errors, variant.start_attributes, variant.result_attributes),
            tuple(items[: len(variant.statements)]),
            tuple((path, syntax.text(binder.bound[p])) for path, p in self.paths.items() if p in binder.bound),
            self.local_ctx and _CTX_LHS in binder.bound and binder.bound[_CTX_LHS].text != b"_",
            variant.style,
            tuple(sorted(binder.sentinels, key=lambda n: n.start_byte)),
        )


class Transition(NamedTuple):
    """From one variant's statements to another's (indices into each variant's statements)."""

    deleted: tuple[int, ...]  # statements of the current variant that go
    inserted: tuple[tuple[int, tuple[int, ...]], ...]  # (before which current statement, or after the last: len), wanted statements
    literals: int  # function literals at the top level of the inserted statements


def holds_placeholder(line: str) -> bool:
    return _PREFIX in line


class _Binder:
    """Matches real nodes against template nodes, binding placeholders consistently."""

    def __init__(self) -> None:
        self.bound: dict[str, Node] = {}  # placeholder -> its first occurrence
        self.occurrences: dict[str, list[Node]] = {}
        self.attributes: list[tuple[Node, Node]] = []
        self.sentinels: list[Node] = []

    def copy(self) -> _Binder:
        """What is bound so far, to go on from (Shape._match_variant's shared prefixes)."""
        again = _Binder()
        again.bound = dict(self.bound)
        again.occurrences = {k: list(v) for k, v in self.occurrences.items()}
        again.attributes = list(self.attributes)
        again.sentinels = list(self.sentinels)
        return again

    def match(self, template: _Template, real: Node) -> bool:
        if template.placeholder is not None:
            return self._bind(template.placeholder, template, real)
        if template.kind != real.kind_id:
            return False
        if template.chain is not None:
            return self._chain(template, template.chain, real)
        if template.attribute is not None:
            return self._attribute_list(template.attribute, real)
        children = template.children
        if not children:
            return template.text is None or (real.child_count == 0 and template.text == real.text)
        reals = real.children
        if len(children) != len(reals):
            return False
        for child, real_child in zip(children, reals, strict=True):
            if child.token:  # compared here: a call for each token cost a third of a match
                if child.kind != real_child.kind_id:
                    return False
            elif not self.match(child, real_child):
                return False
        return True

    def _chain(self, template: _Template, one: _Template, real: Node) -> bool:
        """`err != nil && !errors.Is(err, X) && ...`: one or more expected errors after the left operand."""
        left, operator, right = real.child_by_field_name("left"), real.child_by_field_name("operator"), real.child_by_field_name("right")
        if left is None or right is None or operator is None or operator.type != "&&" or not self.match(one, right):
            return False
        if self.match(template.children[0], left):
            return True
        return left.kind_id == template.kind and self._chain(template, one, left)

    def _bind(self, placeholder: str, template: _Template, real: Node) -> bool:
        if placeholder == _VALUE:
            self.bound[_VALUE] = real
            return real.is_named and real.type != "comment"
        if placeholder == _SENTINEL:
            self.sentinels.append(real)
            return real.type in ("selector_expression", "identifier")
        wanted = _STRING_TYPES if template.type in _STRING_TYPES else (template.type,)
        if real.type not in wanted:
            return False
        earlier = self.bound.setdefault(placeholder, real)
        self.occurrences.setdefault(placeholder, []).append(real)
        return earlier.text == real.text

    def _attribute_list(self, one: _Template, real: Node) -> bool:
        """`(a1, a2, ...)`: every argument matches the one-attribute template."""
        args = real.named_children
        if not args or any(a.type == "comment" for a in args):
            return False
        for arg in args:
            local = _Binder()
            local.bound = {k: v for k, v in self.bound.items() if k not in (_KEY, _CONSTRUCTOR, _VALUE)}
            if not local.match(one, arg) or _KEY not in local.bound or _VALUE not in local.bound:
                return False
            self.attributes.append((local.bound[_KEY], local.bound[_VALUE]))
            self.bound.update({k: v for k, v in local.bound.items() if k not in (_KEY, _CONSTRUCTOR, _VALUE)})
        return True

    def fits(self, where: Where, paths: dict[str, str], local_ctx: bool = False) -> bool:
        """Whether what was bound is what this function and file allow."""
        text = {k: v.text for k, v in self.bound.items()}
        ctx = text.get(_CTX)
        if ctx is not None and ctx not in where.contexts:
            return False
        if _CTX_LHS in text and (text[_CTX_LHS] == ctx if local_ctx else text[_CTX_LHS] not in (ctx, b"_")):
            return False  # a variable of its own may be `_` (a handler whose request does not carry it)
        if _ERR in text and where.errors is not None and text[_ERR] not in where.errors:
            return False
        return all(placeholder not in text or text[placeholder] in where.imports.get(path, frozenset()) for path, placeholder in paths.items())


_NOT_PUNCTUATION = re.compile(rb"[^!-/:-@\[-^`{-~]+")  # but ASCII punctuation (`_` is a letter of identifiers)


def _punctuation(text: bytes) -> bytes:
    """The ASCII punctuation of a statement's text, in order: its operators and delimiters, where
    it holds no comment, string or rune (whitespace, Unicode or not, and identifiers fall away)."""
    return _NOT_PUNCTUATION.sub(b"", text)


# What is read of a template statement, by its type and text: the variants of a Shape share most
# of their statements (the Start line and `defer span.End()` are in every one), each read once.
_READ: dict[tuple[str, str, bytes], object] = {}
R = TypeVar("R")


def _read(what: str, statement: Node, read: Callable[[Node], R]) -> R:
    key = (what, statement.type, syntax.raw(statement))
    if key not in _READ:
        _READ[key] = read(statement)
    return cast(R, _READ[key])


def _template(statement: Node) -> _Template:
    return _read("template", statement, _Template.of)


def _statement_words(statement: Node) -> tuple[bytes, ...]:
    return _read("words", statement, _words)


def _statement_punctuation(statement: Node) -> bytes | None:
    """Variant.punctuation of one statement."""
    return _read("punctuation", statement, lambda n: None if any(p in syntax.raw(n) for p in _FREE) else _punctuation(syntax.raw(n)))


def _words(template: Node) -> tuple[bytes, ...]:
    """The identifiers of a template that are not placeholders (outside attribute lists, which
    match argument by argument): a real statement matching it holds each of them in its text."""
    words: list[bytes] = []
    stack = [template]
    while stack:
        node = stack.pop()
        if _placeholder(node) is not None or (node.type == "argument_list" and _holds_attribute(node)):
            continue
        if node.child_count:
            stack.extend(node.children)
        elif node.type in ("identifier", "field_identifier", "type_identifier", "package_identifier") and node.text:
            words.append(node.text)
    return tuple(words)


def _placeholder(node: Node) -> str | None:
    if node.type in _IDENTIFIER_TYPES and node.text is not None and node.text.startswith(_PREFIX.encode()):
        return node.text.decode()
    if node.type in _STRING_TYPES and node.text is not None:
        return _STRINGS.get(node.text)
    return None


def _holds_attribute(arguments: Node) -> bool:
    """A template argument list of one argument that holds the attribute key placeholder."""
    named = arguments.named_children
    return len(named) == 1 and go_string(_KEY).encode() in (named[0].text or b"")


# building a Shape from a rendering ---------------------------------------------------


def _package_placeholders(backend: Backend) -> dict[str, str]:
    paths = {
        *backend.preferred_names,
        *backend.start_imports,
        *backend.error_imports,
        *backend.attribute_imports,
    }
    return {path: f"{_PREFIX}Package{i}" for i, path in enumerate(sorted(paths))}


def _render(backend: Backend, packages: dict[str, str], parts: tuple[bool, bool, bool], style: Style = CURRENT) -> tuple[str, ...]:
    errors, start, results = parts
    names = Names(
        _CTX_LHS,
        _CTX,
        _SPAN,
        _ERR if errors else None,
        packages,
        (_ATTRIBUTE,) if start else (),
        (_ATTRIBUTE,) if results else (),
        route=_ROUTE,
    )
    return tuple(backend.lines(style.names(names), _TRACER, _NAME))


_FIRST_ROW = 3  # the row of a rendering's first line in what _parse parses


def _parse(lines: tuple[str, ...]) -> tuple[Node, ...] | None:
    """The statements of a rendering, or None when it does not parse as a function body."""
    src = ("package p\n\nfunc _() {\n" + "\n".join(lines) + "\n}\n").encode()
    root = syntax.parse(src, keep=False).root_node
    body = root.named_children[-1].child_by_field_name("body") if root.named_children else None
    if root.has_error or body is None:
        return None
    return tuple(n for c in body.named_children if c.type == "statement_list" for n in c.named_children)


def _parse_all(renderings: list[tuple[str, ...]]) -> list[tuple[Node, ...] | None]:
    """The statements of each rendering, parsed as the bodies of one file's functions (one parse:
    a Shape has a few dozen renderings); one at a time where that file does not parse."""
    src = "package p\n\n" + "".join("func _() {\n" + "\n".join(lines) + "\n}\n" for lines in renderings)
    root = syntax.parse(src.encode(), keep=False).root_node
    functions = [n for n in root.named_children if n.type == "function_declaration"]
    if root.has_error or len(functions) != len(renderings):
        return [_parse(lines) for lines in renderings]
    bodies = [f.child_by_field_name("body") for f in functions]
    return [tuple(n for c in b.named_children if c.type == "statement_list" for n in c.named_children) if b else None for b in bodies]


def _top_level_literals(statements: tuple[Node, ...]) -> int:
    """Function literals not inside another: the Go runtime numbers them F.func1, F.func2, ..."""
    return sum(_read("literals", statement, _literals_in) for statement in statements)


def _literals_in(statement: Node) -> int:
    count, stack = 0, [statement]
    while stack:
        node = stack.pop()
        if node.type == "func_literal":
            count += 1
        else:
            stack.extend(node.named_children)  # a literal is a named node
    return count


def _shape(backend: Backend, foreign: bool) -> Shape:
    packages = _package_placeholders(backend)
    plain = _render(backend, packages, (False, False, False))
    supported = [_render(backend, packages, _only(i)) != plain for i in range(3)]
    rendered: dict[tuple[tuple[bool, bool, bool], Style], tuple[str, ...]] = {}
    for errors, start, results in itertools.product((False, True), repeat=3):
        parts = (errors, start, results)
        if any(on and not supported[i] for i, on in enumerate(parts)):
            continue  # a part this backend does not render
        for style in dict.fromkeys(s.fit(parts) for s in _STYLES):
            rendered[(parts, style)] = _render(backend, packages, parts, style)
    distinct = list(dict.fromkeys(rendered.values()))
    parsed = dict(zip(distinct, _parse_all(distinct), strict=True))
    variants: dict[tuple[str, ...], Variant] = {}
    by_style: dict[tuple[tuple[bool, bool, bool], Style], Variant] = {}
    for ((errors, start, results), style), lines in rendered.items():
        statements = parsed[lines]
        if statements is None:
            continue
        if lines not in variants:
            variants[lines] = Variant(errors, start, results, statements, _top_level_literals(statements), style)
        by_style[((errors, start, results), style)] = variants[lines]
    local_ctx = backend.declares_context
    return Shape(
        tuple(variants.values()),
        packages,
        frozenset(backend.start_imports),
        foreign,
        (supported[0], supported[1], supported[2]),
        local_ctx,
        backend,
        by_style,
    )


def _only(index: int) -> tuple[bool, bool, bool]:
    return (index == 0, index == 1, index == 2)


class PerObject(Generic[K, V]):
    """`make(key)`, made once per key object and found by identity: any object will do (a user's
    backend need not be hashable), and the key is held, so no other object takes its place. For
    the few objects a process sees (the backends and their handler code), as a function."""

    def __init__(self, make: Callable[[K], V]):
        self._make = make
        self._known: list[tuple[K, V]] = []

    def __call__(self, key: K) -> V:
        for known, value in self._known:
            if known is key:
                return value
        value = self._make(key)
        self._known.append((key, value))
        return value


def _own_shape(backend: Backend) -> Shape:
    return _shape(backend, foreign=False)


# The Shape of a backend's code (its own rendering, parsed once per backend object).
of: PerObject[Backend, Shape] = PerObject(_own_shape)


def expected_packages(settings: RewriteOptions, backend: Backend) -> dict[str, tuple[str, ...]]:
    """The packages of --expected-errors (and `errors`), with the names to try, where the backend's
    error block skips expected errors; none otherwise."""
    if not settings.expected_errors or settings.errors == "none" or not of(backend).skips_expected:
        return {}
    paths = dict.fromkeys(split_sentinel(value)[0] for value in settings.expected_errors)
    return {path: (default_package_name(path), default_package_name(path) + "pkg") for path in paths}


def unsupported(name: str, backend: Backend, attributes: frozenset[str]) -> str | None:
    """Why these `--attributes` cannot be written by this backend, or None when they can."""
    shape = of(backend)
    missing = ("args" in attributes or "code" in attributes) and not shape.supported[1]
    missing = missing or ("results" in attributes and not shape.supported[2])
    return f'backend "{name}" does not support --attributes' if missing else None


# ours or a person's ---------------------------------------------------------------------


def string_value(literal: Node) -> str:
    """The value of a Go string literal, as go_string would be given it (a byte that is not UTF-8 as a lone surrogate)."""
    text = literal.text.decode("utf-8", "replace") if literal.text is not None else '""'
    if literal.type == "raw_string_literal" or "\\" not in text:
        return text[1:-1]
    return name_text(re.sub(_GO_ESCAPE, _unescape, text[1:-1].encode("utf-8")))


_GO_ESCAPE = rb"(?s)\\(?:x([0-9A-Fa-f]{2})|([0-7]{3})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))"  # compiled by `re` where first used
_GO_SIMPLE_ESCAPES = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _unescape(escape: re.Match[bytes]) -> bytes:
    """One escape of a Go interpreted string literal, as the bytes it stands for."""
    hex_byte, octal, short, long, other = escape.groups()
    if hex_byte is not None:
        return bytes([int(hex_byte, 16)])
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if short is not None or long is not None:
        return chr(int(short or long, 16)).encode("utf-8", "surrogatepass")
    return _GO_SIMPLE_ESCAPES.get(other, other)


_TEMPLATE_PARTS = {
    "name": r"(?:\w+(?:\.\w+)*)?",
    "func": r"(?:\w+(?:\.\w+)*)?",
    "type": r"\w*",
    "package": r"\w*",
    "path": r"[\w.~/-]*",
}


@functools.lru_cache(maxsize=16)
def span_names(template: str) -> re.Pattern[str]:
    """Every span name `template` can produce (a literal dot may be dropped next to an empty part)."""
    import string  # here: a run that meets no span of ours does not load it

    pattern = []
    for literal, field, _, _ in string.Formatter().parse(template):
        pattern.append(re.escape(literal).replace(r"\.", r"\.?"))
        if field is not None:
            pattern.append(_TEMPLATE_PARTS.get(field, r"[^\s]*"))
    return re.compile("".join(pattern))


def is_ours(match: Match, tracer: str, span_name_template: str) -> bool:
    """Ours (or go-instrument's): see the module's rule. A person's span is never touched."""
    if match.tracer and string_value(match.tracer[0]) == tracer:
        return True
    if match.name:
        name = string_value(match.name[0])
        return name != "" and span_names(span_name_template).fullmatch(name) is not None
    return not match.tracer


# an existing span, whoever wrote it ------------------------------------------------------

_STARTS = (b"Start", b"StartSpan", b"StartSpanFromContext")


def existing_span(stmt: Node, ctx: str) -> bool:
    """A span started at the top level of a body: a `Start`, `StartSpan` or `StartSpanFromContext`
    call on the context whose result is assigned to two values (`x, y := ...`, `x, y = ...`,
    `var x, y = ...`). Any other call of that name is ordinary code."""
    call = _two_value_call(stmt)
    if call is None:
        return False
    fn, args = call.child_by_field_name("function"), call.child_by_field_name("arguments")
    name = fn.child_by_field_name("field") if fn is not None and fn.type == "selector_expression" else fn
    if name is None or name.text not in _STARTS or args is None:
        return False
    first = next((a for a in args.named_children if a.type != "comment"), None)
    return first is not None and first.text == ctx.encode()


def _two_value_call(stmt: Node) -> Node | None:
    if stmt.type in ("short_var_declaration", "assignment_statement"):
        left, right = stmt.child_by_field_name("left"), stmt.child_by_field_name("right")
    elif stmt.type == "var_declaration" and stmt.named_child_count == 1 and stmt.named_children[0].type == "var_spec":
        spec = stmt.named_children[0]
        names, right = spec.children_by_field_name("name"), spec.child_by_field_name("value")
        return _only_call(right) if len(names) == 2 else None
    else:
        return None
    if left is None or left.named_child_count != 2:
        return None
    if stmt.type == "assignment_statement" and (stmt.child_by_field_name("operator") or left).text != b"=":
        return None
    return _only_call(right)


def _only_call(values: Node | None) -> Node | None:
    if values is None or values.named_child_count != 1:
        return None
    call = values.named_children[0]
    return call if call.type == "call_expression" else None


# go-instrument's code ------------------------------------------------------------------


@functools.cache
def go_instrument() -> Shape:
    """go-instrument's shape, foreign: built the first time a file may hold its code."""
    return _shape(GoInstrument(), foreign=True)
