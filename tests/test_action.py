"""action.yml, the GitHub Action: its YAML is valid, and its steps, run as a script, check a pull request.

The steps run exactly as written, with the `${{ ... }}` expressions GitHub would
fill in, in a real clone whose `origin/main` is the pull request's base. The action's
venv is a clean one (no system site packages), built with pip's build isolation as on
GitHub; pip is kept offline there (`PIP_NO_INDEX`) and finds goinstrument's dependencies
and build backend in a wheelhouse made once per session, so the tests pass the same in
a fresh venv, under pipx or with a user install, whatever setuptools the system has.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrepo import CHECKOUT, GO_FUNC, GitRepo, checkout_files, git_env

pytestmark = pytest.mark.xdist_group(
    "test_action"
)  # one worker of pytest-xdist runs them all (scripts/test's --dist loadgroup): the module's shared fixture is built once

ACTION = CHECKOUT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
LACKS = 'package shop\n\nimport "context"\n\nfunc G(ctx context.Context) {\n}\n'


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return loaded


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


# Where the wheelhouse holds a copy of this checkout's files (tracked, and new ones not ignored), as
# GitHub puts the action's repository at GITHUB_ACTION_PATH: pip builds the package there, never in
# this checkout's own build/ directory, where another build of the checkout running meanwhile made
# one fail ("File exists: build/bdist.linux-x86_64/wheel/goinstrument-0.1.0.dist-info").
ACTION_COPY = "action"


def _copy_checkout(copy: Path) -> None:
    for name in checkout_files():
        source = CHECKOUT / name
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(source.read_bytes())
        (copy / name).chmod(source.stat().st_mode)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of goinstrument's dependencies and of its build backend (pyproject's build-system),
    fetched once as scripts/test fetches the test dependencies; the action's pip reads only these."""
    house = tmp_path_factory.mktemp("wheelhouse")
    _copy_checkout(house / ACTION_COPY)
    build_requires = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["build-system"]["requires"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(house),
            str(house / ACTION_COPY),
            *build_requires,
            "wheel",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for built in house.glob("goinstrument-*.whl"):
        built.unlink()  # the action installs the checkout itself
    return house


def run_action(
    clone: GitRepo, tmp_path: Path, inputs: dict[str, str], base_ref: str = "main", *, wheelhouse: Path
) -> subprocess.CompletedProcess[str]:
    """Every step of the action, in order, as GitHub runs a composite action's steps; the last result."""
    spec = action()
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    values = {f"inputs.{k}": v.get("default", "") for k, v in spec["inputs"].items()}
    values.update({f"inputs.{k}": v for k, v in inputs.items()})
    values.update({"github.base_ref": base_ref, "runner.temp": str(runner_temp)})
    env = git_env(GITHUB_ACTION_PATH=str(wheelhouse / ACTION_COPY), RUNNER_TEMP=str(runner_temp), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse))
    env.pop("PIP_NO_BUILD_ISOLATION", None)  # isolated builds, as on GitHub
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
def test_the_steps_fail_the_pull_request_with_an_annotation(pull_request, tmp_path, wheelhouse):
    proc = run_action(pull_request, tmp_path, {}, wheelhouse=wheelhouse)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "::error file=more.go,line=5,col=1,title=goinstrument::G: no span" in proc.stdout
    assert "shop.go" not in proc.stdout  # only what the pull request changed


@pytest.mark.slow
def test_the_steps_pass_once_the_spans_are_there(pull_request, tmp_path, wheelhouse, monkeypatch):
    pull_request.goinstrument("more.go")
    pull_request.commit_all("spans for more")
    monkeypatch.setenv("PIP_USER", "1")  # pip configured for user installs: the action's venv is its own all the same
    proc = run_action(pull_request, tmp_path, {"args": "--tests", "paths": "."}, wheelhouse=wheelhouse)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout


def test_without_a_base_the_check_step_says_so(pull_request, tmp_path):
    env = git_env(INPUT_BASE="", BASE_REF="", GOINSTRUMENT=f"{sys.executable} -m goinstrument")
    proc = subprocess.run(["bash", str(CHECKOUT / "scripts" / "github-action.sh")], cwd=pull_request.root, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=goinstrument::no base to compare with")


# --- the check step's script on its own, with this checkout's goinstrument ---------------------

OLD = 'package shop\n\nimport "context"\n\nfunc Old(ctx context.Context) error {\n\treturn nil\n}\n'


def run_script(clone: GitRepo, tmp_path: Path, base_ref: str = "main", **inputs: str) -> subprocess.CompletedProcess[str]:
    """scripts/github-action.sh as the action's check step runs it, GitHub's files in tmp_path."""
    command = tmp_path / "goinstrument"
    command.write_text(f'#!/bin/sh\nexec {sys.executable} -m goinstrument "$@"\n')
    command.chmod(0o755)
    (tmp_path / "summary.md").write_text("")
    (tmp_path / "output").write_text("")
    env = git_env(
        BASE_REF=base_ref,
        GOINSTRUMENT=str(command),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    )
    return subprocess.run(["bash", str(CHECKOUT / "scripts" / "github-action.sh")], cwd=clone.root, env=env, capture_output=True, text=True)


@pytest.fixture
def touched(tmp_path: Path) -> GitRepo:
    """A pull request that adds a function without a span to a file whose old function has none either:
    main is two commits deep, the branch three commits past it (more than a shallow clone holds)."""
    origin = GitRepo.go_module(tmp_path / "origin", {"shop.go": OLD})
    origin.write("README.md", "shop\n")
    origin.commit_all("docs")
    origin.git("checkout", "-q", "-b", "feature")
    origin.write("shop.go", OLD + LACKS.split('"context"\n', 1)[1])
    origin.commit_all("G")
    for n in range(2):
        origin.write("README.md", f"shop {n}\n")
        origin.commit_all(f"docs {n}")
    origin.git("checkout", "-q", "main")
    origin.write("main.txt", "main moves on\n")
    origin.commit_all("main moves on")
    url = f"file://{origin.root}"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--single-branch", "--branch", "feature", url, str(tmp_path / "clone")], check=True, env=git_env()
    )
    return GitRepo(tmp_path / "clone")


def test_a_shallow_clone_fetches_the_base_and_reports_only_the_new_function(touched, tmp_path):
    assert touched.git("rev-parse", "--is-shallow-repository").strip() == "true"
    proc = run_script(touched, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "::error file=shop.go,line=9,col=1,title=goinstrument::G: no span" in proc.stdout
    assert "Old" not in proc.stdout  # untouched: --new-from-rev is the default


def test_new_code_only_false_checks_every_function_of_the_changed_files(touched, tmp_path):
    proc = run_script(touched, tmp_path, new_code_only="false")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Old: no span" in proc.stdout and "G: no span" in proc.stdout


def test_the_coverage_table_goes_to_the_step_summary(touched, tmp_path):
    run_script(touched, tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "### goinstrument: span coverage" in summary
    assert "0 of 1 functions taking a context have a span: **0.0%**" in summary
    assert "| `.` | 1 | 0 | 0 | 1 | 0.0% |" in summary
    assert "| **total** | 1 | 0 | 0 | 1 | 0.0% |" in summary


def test_a_passing_fail_under_turns_the_findings_into_warnings(touched, tmp_path):
    proc = run_script(touched, tmp_path, args="--fail-under 0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::warning file=shop.go,line=9,col=1,title=goinstrument::G: no span" in proc.stdout
    assert "::error" not in proc.stdout
    failing = run_script(touched, tmp_path, args="--fail-under 50")
    assert failing.returncode == 1
    assert "::error file=shop.go,line=9,col=1,title=goinstrument::G: no span" in failing.stdout
    assert "(below --fail-under 50%)" in (tmp_path / "summary.md").read_text()


def test_the_sarif_input_writes_a_log_and_names_it_as_an_output(touched, tmp_path):
    import json

    proc = run_script(touched, tmp_path, sarif="spans.sarif")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (tmp_path / "output").read_text() == "sarif-file=spans.sarif\n"
    log = json.loads(touched.read("spans.sarif"))
    results = log["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == ["shop.go"]
    assert (tmp_path / "summary.md").read_text().count("### goinstrument") == 1  # the SARIF run adds none
