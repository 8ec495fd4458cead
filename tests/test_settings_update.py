"""Settings are applied to the spans already there: one run brings every span of ours to them.

Changing `--attributes` (on, changed, off) re-renders each span of ours whose
attributes differ (rerender.py): instrumenting with the old setting and then
with the new one gives what instrumenting with the new one gives at once,
`--check` with the new setting reports each such span, and `--remove` still
gives the source back. The golden pairs settings_attributes_turned_on,
settings_attributes_changed and settings_attributes_turned_off show the output.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from conftest import run_cli

from goinstrument.backends.loader import load_backend
from goinstrument.backends.otel import OTEL_CODES, OpenTelemetry
from goinstrument.engine.core import instrument
from goinstrument.engine.fileinfo import FileInfo
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.remove import remove

SOURCE = """package p

import (
	"context"
	"net/http"
	"strconv"
)

func Plain(ctx context.Context, name string, n int) {
	println(name, n)
}

func Named(ctx context.Context, id int64) (count int, err error) {
	f := func(ctx context.Context, ok bool) int {
		return 1
	}
	return f(ctx, true), nil
}

func Unnamed(ctx context.Context, tags []string) (string, error) {
	return strconv.Itoa(len(tags)), nil
}

func Handler(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(200)
}
"""

SETTINGS = ["", "args", "results", "code", "args,results,code", "args,code"]


def _options(attributes: str, handlers: bool = False) -> RewriteOptions:
    return RewriteOptions(attributes=frozenset(filter(None, attributes.split(","))), http_handlers=handlers)


def _run(src: bytes, options: RewriteOptions):
    result = instrument(src, options, FileInfo("f.go", "example.com/p", "example.com/p", backend=load_backend("otel")))
    assert result.problem is None, result.problem.text()
    return result


@pytest.mark.parametrize("handlers", [False, True], ids=["plain", "http-handlers"])
@pytest.mark.parametrize(("old", "new"), list(itertools.permutations(SETTINGS, 2)))
def test_changing_the_setting_gives_what_the_new_setting_gives_at_once(old, new, handlers):
    before = _run(SOURCE.encode(), _options(old, handlers)).output
    updated = _run(before, _options(new, handlers))
    assert updated.output.decode() == _run(SOURCE.encode(), _options(new, handlers)).output.decode()
    assert _run(updated.output, _options(new, handlers)).output == updated.output  # a second run: nothing
    stale = [f.text() for f in _run(before, _options(new, handlers)).findings]
    assert any(text.endswith("span is out of date (attributes)") for text in stale), stale
    assert all("span is out of date" in text for text in stale), stale  # and a literal renumbered: its name
    undone = remove(updated.output, _options(new, handlers), FileInfo("f.go", "example.com/p", backend=load_backend("otel")))
    assert undone.output == remove(before, _options(old, handlers), FileInfo("f.go", "example.com/p", backend=load_backend("otel"))).output


def test_check_reports_each_span_the_new_setting_changes_and_a_run_updates_them(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    path = tmp_path / "f.go"
    path.write_text(SOURCE)
    run_cli("--attributes", "args", "f.go", cwd=tmp_path, check=0)
    check = run_cli("--check", "--attributes", "args,results,code", "f.go", cwd=tmp_path, check=1)
    stale = [line for line in check.stdout.splitlines() if "span is out of date (" in line and "attributes)" in line]
    # every span: Named.func1 (now Named.func3, its literals numbered after the new deferred ones) too
    assert len(stale) == 4, check.stdout
    run_cli("--attributes", "args,results,code", "--no-cache", "f.go", cwd=tmp_path, check=0)
    assert 'attribute.Int("count", count)' in path.read_text()
    run_cli("--check", "--attributes", "args,results,code", "f.go", cwd=tmp_path, check=0)
    run_cli("--check", "f.go", cwd=tmp_path, check=1)  # and the default (no attributes) finds them out of date
    run_cli("--no-cache", "f.go", cwd=tmp_path, check=0)
    assert "attribute" not in path.read_text()
    run_cli("--remove", "--no-cache", "f.go", cwd=tmp_path, check=0)
    assert path.read_text() == SOURCE.replace("(string, error)", "(_ string, err error)")


PERSONS = """package p

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
)

func Get(ctx context.Context, id string) {
	_, span := otel.Tracer("example.com/p").Start(ctx, "Get")
	defer span.End()
	span.SetAttributes(attribute.String("user.id", id))
	println(id)
}
"""


@pytest.mark.parametrize("attributes", SETTINGS)
def test_a_persons_attributes_after_our_lines_stay(attributes):
    """Their SetAttributes right after our lines matches our shape with start attributes; no attribute
    of ours is named `user.id`, so the line is theirs and the span is left as it is."""
    result = _run(PERSONS.encode(), _options(attributes))
    assert result.output.decode() == PERSONS
    assert result.findings == ()


# --errors, --expected-errors, --attribute-prefix, and the form earlier versions wrote (issue 20) ------

FORMS: dict[str, dict[str, Any]] = {
    "default": {},
    "event": {"errors": "event"},
    "none": {"errors": "none"},
    "no-expected": {"expected_errors": ()},
    "expected-list": {"expected_errors": ("io.EOF", "database/sql.ErrNoRows")},
    "no-prefix": {"attribute_prefix": ""},
    "app-prefix": {"attribute_prefix": "app."},
}


def _form(name: str, handlers: bool = False) -> RewriteOptions:
    return RewriteOptions(attributes=frozenset({"args", "results", "code"}), http_handlers=handlers, **FORMS[name])


class _Earlier(OpenTelemetry):
    """What versions before 2026-12 wrote: RecordError then SetStatus, no error.type, no expected
    errors, and the start attributes in a SetAttributes line after Start."""

    error_imports: tuple[str, ...] = (OTEL_CODES,)
    start_attribute_imports = ()

    def lines(self, names, tracer, span_name):
        earlier = names._replace(errors="record", expected=(), attributes_at_start=False)
        return super().lines(earlier, tracer, span_name)


def _earlier(options: RewriteOptions) -> bytes:
    options = options._replace(expected_errors=(), attribute_prefix="", errors="status")
    result = instrument(SOURCE.encode(), options, FileInfo("f.go", "example.com/p", "example.com/p", backend=_Earlier()))
    assert result.problem is None, result.problem.text()
    return result.output


@pytest.mark.parametrize("handlers", [False, True], ids=["plain", "http-handlers"])
@pytest.mark.parametrize(("old", "new"), list(itertools.permutations(FORMS, 2)))
def test_changing_the_error_and_prefix_settings_gives_what_the_new_ones_give_at_once(old, new, handlers):
    before = _run(SOURCE.encode(), _form(old, handlers)).output
    updated = _run(before, _form(new, handlers))
    output = updated.output.decode()
    if new == "none":  # the error result named for the block that goes keeps its name, as with --remove
        output = _unnamed(output)
    assert output == _run(SOURCE.encode(), _form(new, handlers)).output.decode()
    assert _run(updated.output, _form(new, handlers)).output == updated.output
    stale = [f.text() for f in updated.findings]
    assert stale and all("span is out of date (" in text for text in stale), stale
    backend = load_backend("otel")
    undone = remove(updated.output, _form(new, handlers), FileInfo("f.go", "example.com/p", backend=backend))
    earlier = remove(before, _form(old, handlers), FileInfo("f.go", "example.com/p", backend=backend))
    assert _unnamed(undone.output.decode()) == _unnamed(earlier.output.decode())


def _unnamed(text: str) -> str:
    """Without the name an error result was given (names stay when the block goes, as with --remove)."""
    return text.replace("(_ string, err error)", "(string, error)")


@pytest.mark.parametrize("handlers", [False, True], ids=["plain", "http-handlers"])
@pytest.mark.parametrize("new", list(FORMS))
def test_the_form_earlier_versions_wrote_is_brought_to_each_setting_in_one_run(new, handlers):
    before = _earlier(_form(new, handlers))
    assert b"span.RecordError(err)" in before and b"\tspan.SetAttributes(attribute.String(" in before
    updated = _run(before, _form(new, handlers))
    output = _unnamed(updated.output.decode()) if new == "none" else updated.output.decode()
    assert output == _run(SOURCE.encode(), _form(new, handlers)).output.decode()
    stale = [f.text() for f in updated.findings]
    assert len(stale) == (5 if handlers else 4) and all("span is out of date (" in text for text in stale), stale
    backend = load_backend("otel")
    undone = remove(updated.output, _form(new, handlers), FileInfo("f.go", "example.com/p", backend=backend))
    assert undone.output == remove(before, _form(new, handlers), FileInfo("f.go", "example.com/p", backend=backend)).output
    assert _run(updated.output, _form(new, handlers)).output == updated.output


def test_check_reports_the_spans_an_error_setting_changes(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    path = tmp_path / "f.go"
    path.write_text(SOURCE)
    run_cli("f.go", cwd=tmp_path, check=0)
    check = run_cli("--check", "--errors", "event", "f.go", cwd=tmp_path, check=1)
    assert check.stdout.count("span is out of date (error block form)") == 2, check.stdout  # Named, Unnamed
    check = run_cli("--check", "--expected-errors", "io.EOF", "f.go", cwd=tmp_path, check=1)
    assert check.stdout.count("span is out of date (expected errors)") == 2, check.stdout
    run_cli("--expected-errors", "io.EOF", "--errors", "event", "--no-cache", "f.go", cwd=tmp_path, check=0)
    text = path.read_text()
    assert text.count("if err != nil && !errors.Is(err, io.EOF) {") == 2 and text.count("span.RecordError(err)") == 2, text
    run_cli("--check", "--expected-errors", "io.EOF", "--errors", "event", "f.go", cwd=tmp_path, check=0)
