"""action.yml, the GitHub Action: its YAML is valid, and its steps, run as a script, check a pull request.

The steps run exactly as written, with the `${{ ... }}` expressions GitHub would
fill in, in a real clone whose `origin/main` is the pull request's base. pip is
kept offline (`PIP_NO_INDEX`): the venv sees the packages this test run has.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gitrepo import CHECKOUT, GO_FUNC, GitRepo, git_env

ACTION = CHECKOUT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
LACKS = 'package shop\n\nimport "context"\n\nfunc G(ctx context.Context) {\n}\n'


def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def test_the_action_is_a_valid_composite_action():
    spec = action()
    assert spec["name"] and spec["description"]
    assert spec["runs"]["using"] == "composite"
    for name, value in spec["inputs"].items():
        assert value["description"] and "default" in value, name
    used = set()
    for step in spec["runs"]["steps"]:
        assert step["shell"] == "bash" and step["run"].strip(), step
        text = yaml.safe_dump(step)
        used |= {m.split(".", 1)[1] for m in EXPRESSION.findall(text) if m.startswith("inputs.")}
        for script in re.findall(r"\$GITHUB_ACTION_PATH/(\S+?)\"", step["run"]):
            assert (CHECKOUT / script).is_file(), script
    assert used == set(spec["inputs"])


def _expand(text: str, values: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: values[m.group(1)], text)


def run_action(clone: GitRepo, tmp_path: Path, inputs: dict[str, str], base_ref: str = "main") -> subprocess.CompletedProcess:
    """Every step of the action, in order, as GitHub runs a composite action's steps; the last result."""
    spec = action()
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    values = {f"inputs.{k}": v.get("default", "") for k, v in spec["inputs"].items()}
    values.update({f"inputs.{k}": v for k, v in inputs.items()})
    values.update({"github.base_ref": base_ref, "runner.temp": str(runner_temp)})
    env = git_env(GITHUB_ACTION_PATH=str(CHECKOUT), RUNNER_TEMP=str(runner_temp), PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0")
    env.pop("PYTHONPATH")  # the installed command must work on its own
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])  # python3 here is this Python
    proc = None
    for step in spec["runs"]["steps"]:
        step_env = {**env, **{k: _expand(str(v), values) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "-e", "-c", _expand(step["run"], values)], cwd=clone.root, env=step_env, capture_output=True, text=True)
        if proc.returncode != 0:
            return proc
    assert proc is not None
    return proc


@pytest.fixture
def pull_request(tmp_path: Path) -> GitRepo:
    """A clone of a repository on a pull-request branch that adds a function without a span."""
    origin = GitRepo.go_module(tmp_path / "origin", {"shop.go": GO_FUNC.replace("error { return nil }", "error {\n\treturn nil\n}")})
    origin.goinstrument(".")  # main is fully instrumented
    origin.commit_all("spans")
    subprocess.run(["git", "clone", "-q", str(origin.root), str(tmp_path / "clone")], check=True, env=git_env())
    clone = GitRepo(tmp_path / "clone")
    clone.git("checkout", "-q", "-b", "feature")
    clone.write("more.go", LACKS)
    clone.commit_all("more")
    return clone


@pytest.mark.slow
def test_the_steps_fail_the_pull_request_with_an_annotation(pull_request, tmp_path):
    proc = run_action(pull_request, tmp_path, {})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "::error file=more.go,line=5,col=1,title=goinstrument::G: no span" in proc.stdout
    assert "shop.go" not in proc.stdout  # only what the pull request changed


@pytest.mark.slow
def test_the_steps_pass_once_the_spans_are_there(pull_request, tmp_path):
    pull_request.goinstrument("more.go")
    pull_request.commit_all("spans for more")
    proc = run_action(pull_request, tmp_path, {"args": "--tests", "paths": "."})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout


def test_without_a_base_the_check_step_says_so(pull_request, tmp_path):
    env = git_env(INPUT_BASE="", BASE_REF="", GOINSTRUMENT=f"{sys.executable} -m goinstrument")
    proc = subprocess.run(["bash", str(CHECKOUT / "scripts" / "github-action.sh")], cwd=pull_request.root, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=goinstrument::no base to compare with")
