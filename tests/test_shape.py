"""The Shape of a backend's code, and the pure core's inputs: values only, nothing loaded or read."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from goinstrument.backends.protocol import Backend, Names
from goinstrument.engine import shape
from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo, import_name_candidates
from goinstrument.engine.go import syntax
from goinstrument.engine.options import RewriteOptions

SRC = b'package p\n\nimport "context"\n\nfunc F(ctx context.Context) {\n\tg := func() {}\n\tg()\n}\n'


class LeaveBackend(Backend):
    """Its rendering holds a literal spelled `func(name string)`, and names neither tracer nor context
    (the protocol's defaults for the optional members: a backend given to the engine directly, not loaded)."""

    start_imports: tuple[str, ...] = ("log",)
    error_imports: tuple[str, ...] = ()
    preferred_names: dict[str, tuple[str, ...]] = {"log": ("log", "stdlog")}

    def lines(self, names: Names, tracer: str, span_name: str) -> list[str]:
        log = names.packages["log"]
        return [f'defer func(name string) {{ {log}.Println("leave", name) }}("{span_name}")']


def test_the_backend_comes_in_file_info_and_its_literals_are_counted_from_its_syntax():
    result = instrument(SRC, RewriteOptions(), FileInfo("f.go", "t", backend=LeaveBackend()))
    assert b'}("F")' in result.output and b"g := func() {" in result.output
    assert [f.name for f in result.findings] == ["F"]  # the body's literal takes no context
    again = instrument(result.output, RewriteOptions(), FileInfo("f.go", "t", backend=LeaveBackend()))
    assert again.output == result.output


def test_sibling_names_come_in_file_info():
    """The package's other files declare `otel`: the import takes the next name, no file is read."""
    result = instrument(SRC, RewriteOptions(), FileInfo("f.go", "t", sibling_names=frozenset({"otel"})))
    assert b'otelapi "go.opentelemetry.io/otel"' in result.output


def test_import_name_candidates_are_the_preferred_names_numbered_too():
    candidates = import_name_candidates(LeaveBackend())
    assert {"log", "stdlog", "log1", "stdlog3"} <= candidates and "log4" not in candidates


def _first_statement(body: str) -> Node:
    root = syntax.parse(f"package p\n\nfunc F() {{\n{body}\n}}\n".encode()).root_node
    block = root.named_children[-1].child_by_field_name("body")
    assert block is not None
    return block.named_children[0].named_children[0]


@pytest.mark.parametrize(
    "stmt",
    [
        'ctx, span := tracer.Start(ctx, "x")',
        'ctx, span = tracer.Start(ctx, "x")',
        'var c, span = tracer.Start(ctx, "x")',
        'span, ctx := tracer.StartSpanFromContext(ctx, "x")',
        'span, ctx := StartSpanFromContext(ctx, "x")',
    ],
)
def test_a_call_assigned_to_two_values_is_an_existing_span(stmt):
    assert shape.existing_span(_first_statement(stmt), "ctx")


@pytest.mark.parametrize(
    "stmt",
    [
        "err := c.Start(ctx)",  # one value
        "c.Start(ctx)",  # no value
        "a, b, c := c.Start(ctx)",  # three
        'ctx, span := tracer.Start(other, "x")',  # not this context
        'ctx, span := tracer.Begin(ctx, "x")',  # another name
        'x, y += tracer.Start(ctx, "x")',  # not an assignment of two values
    ],
)
def test_any_other_start_call_is_ordinary_code(stmt):
    assert not shape.existing_span(_first_statement(stmt), "ctx")


@pytest.mark.parametrize(
    "template, name, could",
    [
        ("{name}", "F", True),
        ("{name}", "Cat.Name", True),
        ("{name}", "F.func1.2", True),
        ("{name}", "HTTP GET /users", False),
        ("{name}", "a/b", False),
        ("{name}", "", False),
        ("{package}.{name}", "cat.Cat.Name", True),
        ("{path}.{name}", "example.com/cat.F", True),
        ("svc {name}", "svc F", True),
        ("svc {name}", "HTTP GET /users", False),
    ],
)
def test_span_names_our_template_could_have_produced(template, name, could):
    assert (name != "" and shape.span_names(template).fullmatch(name) is not None) is could


def test_the_statements_variants_share_are_walked_once_a_match(monkeypatch: pytest.MonkeyPatch):
    """A span of ours with an error block skipping expected errors is tried against the longer
    variants first (result attributes, start attributes set after Start, an error block without
    them), which start with the same two statements: those are matched once, not once a variant."""
    from goinstrument.backends.loader import BACKENDS
    from goinstrument.engine.facts import FileFacts

    src = b'package p\n\nimport "context"\n\nfunc F(ctx context.Context) (err error) {\n\treturn nil\n}\n'
    output = instrument(src, RewriteOptions(), FileInfo("f.go", "t")).output
    body = syntax.functions(syntax.parse(output).root_node)[0].child_by_field_name("body")
    assert body is not None
    items = body.named_children[0].named_children
    walked: list[int] = []  # the start of each real statement a template was matched against
    match = shape._Binder.match

    def counted(self: shape._Binder, template: shape._Template, real: Node) -> bool:
        if real.parent is not None and real.parent.type == "statement_list":
            walked.append(real.start_byte)
        return match(self, template, real)

    monkeypatch.setattr(shape._Binder, "match", counted)
    ours = shape.of(BACKENDS["otel"])
    where = shape.Where(frozenset({b"ctx"}), None, FileFacts.read(output, syntax.parse(output).root_node).imported_under)
    found = ours.match(items, where)
    assert found is not None and found.style.expected and found.count == 3
    assert walked.count(items[0].start_byte) == 1 and walked.count(items[1].start_byte) == 1
