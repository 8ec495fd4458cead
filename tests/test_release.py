"""One version everywhere: pyproject.toml, goinstrument.__version__, `goinstrument --version`,
and the tag the README's examples pin (`rev: vX.Y.Z` for pre-commit, `@vX.Y.Z` for the
Action). A release bumps the version and tags it (README, Development); these tests keep the
examples in step, so the `rev:` a user copies names a tag that exists."""

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


def test_the_readme_pins_the_tag_of_that_version():
    readme = (REPO / "README.md").read_text()
    revs = re.findall(r"^\s*rev:\s*(\S+)", readme, re.MULTILINE)
    actions = re.findall(r"uses:\s*\S+/goinstrument@(\S+)", readme)
    assert revs and actions
    assert set(revs) | set(actions) == {f"v{version()}"}


def test_the_action_pins_the_tag_of_that_version_in_its_example():
    action = (REPO / "action.yml").read_text()
    assert set(re.findall(r"/goinstrument@(\S+)", action)) == {f"v{version()}"}
