"""The README's opening Go snippet is what the tool makes of the bundled example, fixtures/example:
run in process on a copy, the snippet appears verbatim in the rewritten file."""

from __future__ import annotations

import re
import shutil

from conftest import REPO, json_objects

from goinstrument import cli


def test_the_readme_opening_example_is_what_the_bundled_example_gives(tmp_path, capsys):
    readme = (REPO / "README.md").read_text()
    snippet = re.search(r"```go\n(.*?)```", readme, re.DOTALL)
    assert snippet is not None, "no Go snippet in README.md"
    example = tmp_path / "example"
    shutil.copytree(REPO / "fixtures" / "example", example)
    assert cli.main(["-q", str(example)]) == 0
    capsys.readouterr()
    assert snippet.group(1) in (example / "cat" / "cat.go").read_text()
    assert snippet.group(1) not in (REPO / "fixtures" / "example" / "cat" / "cat.go").read_text()


def test_the_readme_stays_a_users_readme():
    """At most about 15 KB; the rest lives in docs/, and every docs/ page it links exists."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.encode()) <= 15_500
    links = set(re.findall(r"\]\((docs/[^)#]+)", readme))
    assert links and all((REPO / link).is_file() for link in links), links


def test_the_readme_spans_are_docs_spans_trimmed():
    """The README's three spans are docs/spans.md's real exports (checked against the SDK by a slow
    test), trimmed to name, kind, status and attributes."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"### What the spans look like\n.*?```json\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    docs = (REPO / "docs" / "spans.md").read_text()
    exported = [o for b in re.findall(r"```json\n(.*?)```", docs, re.DOTALL) for o in json_objects(b)]
    trimmed = [
        {
            "Name": o["Name"],
            "SpanKind": o["SpanKind"],
            "Status": {k: v for k, v in o["Status"].items() if v},
            "Attributes": {a["Key"]: a["Value"]["Value"] for a in o["Attributes"]},
        }
        for o in exported
    ]
    assert json_objects(block.group(1)) == trimmed
