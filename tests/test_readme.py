"""The README's opening Go snippet is what the tool makes of the bundled example, fixtures/example:
run in process on a copy, the snippet appears verbatim in the rewritten file."""

from __future__ import annotations

import re
import shutil

from conftest import REPO

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
