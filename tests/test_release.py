"""One version everywhere: pyproject.toml, goinstrument.__version__, `goinstrument --version`,
and the tag docs/releasing.md's examples pin (`rev: vX.Y.Z` for pre-commit, `@vX.Y.Z` for the
Action). A release bumps the version and tags it (docs/releasing.md); these tests keep the
examples in step, so the `rev:` a user copies names a tag that exists. Before a release, the
README and the action's comment pin a commit, never a tag a fresh clone lacks."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO, run_cli

import goinstrument


def version() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


def test_the_package_declares_one_version():
    assert goinstrument.__version__ == version()
    assert run_cli("--version", check=0).stdout == f"goinstrument {version()}\n"


def pins(text: str) -> set[str]:
    """Every pre-commit `rev:` and Action `@ref` a text's examples (its fenced blocks) pin."""
    text = "\n".join(re.findall(r"```\w*\n(.*?)```", text, re.DOTALL))
    revs = re.findall(r"^\s*rev:\s*(\S+)", text, re.MULTILINE)
    actions = re.findall(r"uses:\s*\S+/goinstrument@(\S+)", text)
    assert revs and actions
    return set(revs) | set(actions)


def test_the_releasing_steps_pin_the_tag_of_that_version():
    assert pins((REPO / "docs" / "releasing.md").read_text()) == {f"v{version()}"}


def test_the_readme_and_the_ci_page_pin_a_commit_not_a_tag():
    """What works today, in a fresh clone with no tags: a commit (placeholder COMMIT_SHA)."""
    for page in ("README.md", "docs/ci.md"):
        assert pins((REPO / page).read_text()) == {"COMMIT_SHA"}, page
    for page in ("README.md", "docs/ci.md", "docs/usage.md", "action.yml"):
        assert "pip install goinstrument" not in (REPO / page).read_text(), page


def test_the_action_pins_a_commit_in_its_example():
    action = (REPO / "action.yml").read_text()
    assert set(re.findall(r"/goinstrument@(\S+)", action)) == {"<commit"}
