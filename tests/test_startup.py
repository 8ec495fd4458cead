"""Start-up: what a small run (a hook's few files, an editor's one) loads.

A hook runs goinstrument on every commit, so its start-up is most of its time.
The modules below cost tens of milliseconds to import and serve only some runs:
the process pool (48 files or more; fewer are shared among os.fork()ed children), wcmatch (include/exclude globs), difflib
(--diff, or an update between variants of a span), subprocess (gofmt, for a
file whose layout is left to it), tomllib (a .goinstrument.toml), hashlib (OpenSSL, which
the cache's file names do not need), go-instrument's shape (a
file that may hold go-instrument's code), deadcode's two tree-sitter
queries (a function literal that may get a span; compiling a query costs
milliseconds), every platform's build tags (a file with a build constraint) and the
pattern of the letters tree-sitter lacks (a file that is not ASCII). A small run
without them must not load, compile or build them.

The two runs a developer waits on most, `--version` and the hook's `--staged` with nothing
staged, are held to a list of modules they must not import (`python -X importtime` names every
module, deterministically, where a time would not be): argparse only parses an argv the fast
path does not take, tree-sitter, the backends and go-instrument's shape come with a file to
rewrite, and `--version` imports nothing but the command line itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from gitrepo import GitRepo, git_env

from goinstrument import __version__, cli
from goinstrument.backends.loader import load_backend
from goinstrument.driver import batch
from goinstrument.engine.handlers import unsupported as handlers_unsupported
from goinstrument.engine.options import ATTRIBUTE_KINDS, DEFAULT_BACKEND
from goinstrument.engine.shape import unsupported

SOURCE = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) error {\n\treturn ctx.Err()\n}\n'

OPTIONAL = ["concurrent.futures", "multiprocessing", "wcmatch", "difflib", "subprocess", "tomllib", "hashlib"]

PROBE = """
import json, sys
import tree_sitter
compiled = []
_query = tree_sitter.Query
tree_sitter.Query = lambda *args: compiled.append(args[1]) or _query(*args)  # counts every query compiled
from goinstrument import cli
from goinstrument.engine import shape
from goinstrument.engine.go import buildtags, tolerance
code = cli.main(sys.argv[1:])
loaded = [m for m in {optional!r} if m in sys.modules]
built = [f.__name__ for f in (shape.go_instrument, buildtags._platforms, tolerance._unsupported) if f.cache_info().currsize]
print(json.dumps({{"code": code, "loaded": loaded, "built": built, "queries": len(compiled)}}))
"""


def _probe(tmp_path: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(optional=OPTIONAL), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        # git_env: this checkout on PYTHONPATH (not an installed copy of another)
        env={**git_env(), "GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_small_run_loads_no_pool_globs_or_diff(tmp_path: Path) -> None:
    (tmp_path / "p.go").write_text(SOURCE)
    result = _probe(tmp_path, "-q", "p.go")
    # No query compiled: the file's structure is found from its tokens, names where the bytes spell them (syntax.py).
    assert result == {"code": 0, "loaded": [], "built": [], "queries": 0}
    assert "Start(ctx" in (tmp_path / "p.go").read_text()  # the run did instrument


FORK_PROBE = """
import json, os, sys
forks = []
_fork = os.fork
os.fork = lambda: forks.append(1) or _fork()
from goinstrument import cli
code = cli.main(sys.argv[1:])
print(json.dumps({{"code": code, "loaded": [m for m in {optional!r} if m in sys.modules], "forks": len(forks)}}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a small batch forks on Linux only")
def test_a_small_batch_shared_among_forked_children_loads_no_pool(tmp_path: Path) -> None:
    """Three files of more than batch.SHARE_FROM bytes (driver/batch: the first here, the two
    others in a child each): os.fork, not multiprocessing or concurrent.futures."""
    padding = "// padding\n" * (batch.SHARE_FROM // 11 + 1)
    for n in range(3):
        (tmp_path / f"p{n}.go").write_text(SOURCE + padding)
    done = subprocess.run(
        [sys.executable, "-c", FORK_PROBE.format(optional=OPTIONAL), "-q", "--jobs", "2", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "loaded": [], "forks": 2}
    assert all("Start(ctx" in (tmp_path / f"p{n}.go").read_text() for n in range(3))


def test_a_diff_run_loads_difflib_a_glob_wcmatch_and_a_config_file_tomllib(tmp_path: Path) -> None:
    """The other side: the probe sees a module that is needed (so the test above means something),
    and the tables a file with a build constraint and a letter that is not ASCII need."""
    (tmp_path / "p.go").write_text("//go:build !windows\n\n// Package p: café.\n" + SOURCE)
    (tmp_path / ".goinstrument.toml").write_text("tests = false\n")
    result = _probe(tmp_path, "-q", "--diff", "--exclude", "vendor/**", "p.go")
    assert result["code"] == 0
    assert sorted(result["loaded"]) == ["difflib", "tomllib", "wcmatch"]  # type: ignore[call-overload]
    assert result["built"] == ["_platforms", "_unsupported"]


# --- what --version and an empty hook run import --------------------------------------------------

# Not needed to print a version or to find that nothing is staged: argparse (plus gettext and
# locale), the tree-sitter parser and grammar, the backends, go-instrument's shape, the report's
# JSON, the rewriting core.
NOT_FOR_AN_EMPTY_HOOK = [
    "argparse",
    "gettext",
    "tree_sitter",
    "tree_sitter_go",
    "goinstrument.engine.go.syntax",
    "goinstrument.backends.protocol",
    "goinstrument.backends.loader",
    "goinstrument.engine.shape",
    "goinstrument.engine.core",
    "goinstrument.driver.process",
    "goinstrument.engine.handlers",
]
NOT_FOR_VERSION = [*NOT_FOR_AN_EMPTY_HOOK, "dataclasses", "inspect", "json", "pygit2", "goinstrument.options", "goinstrument.driver.run"]


def _imported(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The run, and every module it imported, in order (`-X importtime` lists each once)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**(env or os.environ), "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    names = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:") and "[us]" not in line]
    return done, names


def test_version_imports_the_command_line_alone(tmp_path: Path) -> None:
    done, names = _imported(tmp_path, "-m", "goinstrument", "--version", env=git_env())
    assert done.returncode == 0 and done.stdout == f"goinstrument {__version__}\n"
    assert [name for name in NOT_FOR_VERSION if name in names] == []
    assert [name for name in names if name.startswith("goinstrument")] == ["goinstrument", "goinstrument.cli"]
    _, bare = _imported(tmp_path, "-c", "pass", env=git_env())
    assert len(set(names) - set(bare)) <= 3  # the budget, in modules: goinstrument, its cli, and runpy for -m


def test_an_empty_hook_run_loads_no_parser_no_argparse_no_backend(tmp_path: Path) -> None:
    repo = GitRepo.go_module(tmp_path / "repo")
    done, names = _imported(repo.root, "-m", "goinstrument", "--staged", env=git_env())
    assert done.returncode == 0, done.stderr
    assert [name for name in NOT_FOR_AN_EMPTY_HOOK if name in names] == []
    assert "goinstrument.driver.git" in names  # the probe sees what the run does need (so the list above means something)
    repo.write("shop.go", GO_FUNC_TWO)
    repo.git("add", "shop.go")
    done, names = _imported(repo.root, "-m", "goinstrument", "--staged", env=git_env())
    assert done.returncode == 0 and "goinstrument: 1 of 1 file changed" in done.stderr, done.stderr
    assert "tree_sitter" in names and "argparse" not in names  # a file to rewrite loads the parser, still no argparse
    assert "pygit2" not in names  # the git command reads and writes the index and its objects


def test_a_changed_since_check_lists_the_files_with_the_git_command_not_pygit2(tmp_path: Path) -> None:
    """pygit2 costs 70 ms to import (its settings load ssl and certifi): `--check --changed-since`
    lists the files with `git diff` and `git ls-files`; only --new-from-rev's line diffs load it."""
    repo = GitRepo.go_module(tmp_path / "repo")
    repo.write("pkg/new.go", GO_FUNC_TWO)
    done, names = _imported(repo.root, "-m", "goinstrument", "--check", "--changed-since", "HEAD", env=git_env())
    assert done.returncode == 1 and done.stdout == "pkg/new.go:5:1: G: no span\n", done.stdout + done.stderr
    assert "pygit2" not in names
    done, names = _imported(repo.root, "-m", "goinstrument", "--check", "--new-from-rev", "HEAD", env=git_env())
    assert done.returncode == 1 and done.stdout == "pkg/new.go:5:1: G: no span\n", done.stdout + done.stderr
    assert "pygit2" in names  # the other side: the probe sees it where it is used


GO_FUNC_TWO = 'package shop\n\nimport "context"\n\nfunc G(ctx context.Context) error { return nil }\n'


# --- what the hook's few files and CI's --check --changed-since import ----------------------------

# Never imported by goinstrument, whatever the run: dataclasses (whose classes compile their methods
# at start-up) and inspect, which it imports; argparse on the two runs below, which the fast path
# parses; string (a regex compiled at import) where no span name is read. pygit2 imports
# dataclasses and string itself: a module a library loads is the library's cost.
NOT_FOR_A_HOOK_OR_CI = ["dataclasses", "inspect", "argparse", "gettext", "string", "goinstrument.report.linediff"]  # the last: --diff's
LIBRARIES = ("pygit2",)
# How many modules either run may load beyond a bare `python -S -c pass` (both under -S: what a
# site's .pth files load first differs between machines), less a library's own (and those it
# loaded): 156 for the hook's run below and 155 for CI's when this was written, goinstrument's
# 70-odd of them, the rest the standard library's (re, typing, enum, subprocess...). A module
# more is a cost every commit pays: load it where it is used.
MODULE_BUDGET = 160


def _importers(stderr: str) -> dict[str, tuple[str, ...]]:
    """Each module `-X importtime` names -> the modules whose import loaded it, innermost first. A
    line is printed as its import ends, indented by its depth: its importer is the next line out."""
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "[us]" not in line:
            field = line.rsplit("|", 1)[1]
            rows.append(((len(field) - len(field.lstrip()) - 1) // 2, field.strip()))
    chains = {}
    for i, (depth, name) in enumerate(rows):
        chain: list[str] = []
        for outer, importer in rows[i + 1 :]:
            if outer == depth - 1 - len(chain):
                chain.append(importer)
        chains[name] = tuple(chain)
    return chains


def _ours(chains: dict[str, tuple[str, ...]]) -> list[str]:
    """The modules goinstrument's own imports loaded: not a library's, nor one a library loaded."""
    return [name for name, chain in chains.items() if not any(m.split(".")[0] in LIBRARIES for m in (name, *chain))]


def _site_free(env: dict[str, str]) -> dict[str, str]:
    """For a run under -S: no site module, so no .pth file (an editable install's finder, a venv's
    or a distro's own) loads modules before ours, which made the count differ between this
    machine and a fresh CI venv by 25; the checkout and site-packages named on PYTHONPATH instead."""
    import site

    paths = [str(Path(__file__).resolve().parent.parent), *site.getsitepackages(), site.getusersitepackages()]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def _budget(tmp_path: Path, chains: dict[str, tuple[str, ...]]) -> int:
    """How many modules the run (under -S) loaded beyond a bare `python -S -c pass`, a library's own not counted."""
    done = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", "pass"], cwd=tmp_path, capture_output=True, text=True, check=False)
    return len(set(_ours(chains)) - set(_importers(done.stderr)))


def test_the_importers_of_a_module_are_read_from_the_indentation() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:        10 |         10 |     inspect",
            "import time:        10 |         20 |   dataclasses",
            "import time:        10 |         10 |   enum",
            "import time:        10 |         40 | pygit2",
            "import time:        10 |         10 | json",
        ]
    )
    chains = _importers(stderr)
    assert chains == {"inspect": ("dataclasses", "pygit2"), "dataclasses": ("pygit2",), "enum": ("pygit2",), "pygit2": (), "json": ()}
    assert _ours(chains) == ["json"]


def test_a_hook_run_of_a_few_files_imports_no_dataclasses_inspect_or_argparse(tmp_path: Path) -> None:
    repo = GitRepo.go_module(tmp_path / "repo")
    for n in range(3):
        repo.write(f"f{n}.go", GO_FUNC_TWO.replace("func G", f"func G{n}"))
    repo.git("add", ".")
    done, _ = _imported(repo.root, "-S", "-m", "goinstrument", "--staged", env=_site_free(git_env()))
    assert done.returncode == 0 and "goinstrument: 3 of 3 files changed" in done.stderr, done.stderr
    chains = _importers(done.stderr)
    assert "tree_sitter" in _ours(chains)  # the probe sees what the run needs (so the list below means something)
    assert [name for name in NOT_FOR_A_HOOK_OR_CI if name in _ours(chains)] == []
    assert _budget(tmp_path, chains) <= MODULE_BUDGET, _budget(tmp_path, chains)


def test_a_check_of_the_files_changed_since_a_revision_imports_no_dataclasses_inspect_or_argparse(tmp_path: Path) -> None:
    repo = GitRepo.go_module(tmp_path / "repo")
    repo.git("branch", "base")
    for n in range(3):
        repo.write(f"f{n}.go", GO_FUNC_TWO.replace("func G", f"func G{n}"))
    repo.commit_all("three functions")
    done, _ = _imported(repo.root, "-S", "-m", "goinstrument", "--check", "--changed-since", "base", env=_site_free(git_env()))
    assert done.returncode == 1 and "3 functions without a span in 3 of 3 files" in done.stderr, done.stderr
    chains = _importers(done.stderr)
    assert "tree_sitter" in _ours(chains)
    assert [name for name in NOT_FOR_A_HOOK_OR_CI if name in _ours(chains)] == []
    assert _budget(tmp_path, chains) <= MODULE_BUDGET, _budget(tmp_path, chains)


def test_a_value_equals_only_its_own_kind_and_is_always_true() -> None:
    """What the dataclasses it replaced gave (ARCHITECTURE.md "Values"), at no class-creation cost."""
    import pickle

    from goinstrument.engine.go.buildtags import And, Or, Tag
    from goinstrument.engine.result import Coverage
    from goinstrument.options import ChangedSince, FromPaths, Staged, Stdin

    assert And((Tag("a"),)) != Or((Tag("a"),)) and And((Tag("a"),)) == And((Tag("a"),))
    assert FromPaths(("x",)) != Stdin("x") and Coverage(1, 1) != (1, 1, 0, ())
    assert bool(Staged()) and Staged() == Staged() and len({Staged(), Staged(), FromPaths(), FromPaths((".",))}) == 2
    assert repr(ChangedSince("main")) == "ChangedSince(rev='main', paths=(), new_code_only=False)"
    assert ChangedSince("main")._replace(new_code_only=True) == ChangedSince("main", (), True)
    with pytest.raises(TypeError):
        ChangedSince("main")._replace(revision="dev")  # not a field
    assert pickle.loads(pickle.dumps(ChangedSince("main", ("a",), True))) == ChangedSince("main", ("a",), True)  # to a worker
    assert sum([Coverage(1, 1), Coverage(1, 0, 1, (("directive", 1),))], Coverage()) == Coverage(2, 1, 1, (("directive", 1),))


def test_no_module_of_goinstrument_imports_dataclasses_or_inspect_nor_at_its_top_string_or_argparse() -> None:
    """What the runs above cannot see where a library imported it first (pygit2 imports dataclasses
    and string): no import of dataclasses or inspect anywhere, of string or argparse only where used."""
    import ast

    def imported(node: ast.AST) -> list[str]:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        return [name.split(".")[0] for name in names]

    package = Path(cli.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        found += [f"{path.relative_to(package)}: {n}" for node in ast.walk(tree) for n in imported(node) if n in ("dataclasses", "inspect")]
        found += [f"{path.relative_to(package)}: {n} at the top" for node in tree.body for n in imported(node) if n in ("string", "argparse")]
    assert found == []


def test_version_prints_what_argparse_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    fast = capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["--version"])
    assert capsys.readouterr().out == fast


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--staged"],
        ["-q", "--staged"],
        ["--staged", "--fast", "--no-cache"],
        ["--check"],
        ["--quiet", "--check", "--fast"],
        ["--check", "--changed-since", "main"],
        ["--changed-since=origin/main", "-q", "--check"],
        ["--changed-since", ""],
        ["--changed-since="],
        ["--check", "--new-from-rev", "HEAD~1"],
        ["--new-from-rev=v1.0", "--check", "--fast"],
        ["--changed-since", "main", "--new-from-rev", "main"],
        ["--staged", "--changed-since", "main"],  # argparse takes it; build refuses it, the same for both
    ],
)
def test_the_fast_path_parses_as_argparse_does(argv: list[str]) -> None:
    """One table (cli.FLAG_DEFAULTS and the settings) for both: a flag added to the parser
    without its default in FLAG_DEFAULTS fails here."""
    assert vars(cli.parse(argv)) == vars(cli.parser().parse_args(argv))
    assert "argparse" not in type(cli.parse(argv)).__module__


@pytest.mark.parametrize(
    "argv",
    [
        ["--staged", "--staged"],
        ["--staged", "-v"],
        ["--check", "--changed-since", "main", "--changed-since", "dev"],
        ["--changed-since=main", "--changed-since", "dev"],
        ["--changed-since", "-"],  # argparse's reading of a value that starts with "-", not ours
        ["--changed-since", "-x"],
        ["--new-from-rev", "-1"],  # argparse takes a negative number for a value
        ["--changed", "main"],  # an abbreviation
        ["--check", "--changed-since", "main", "pkg"],  # a path
        ["--check=yes"],
    ],
)
def test_a_flag_twice_or_any_other_argument_goes_to_argparse(argv: list[str]) -> None:
    with contextlib.suppress(cli.UsageError):  # argparse's own error (the fast path raises none)
        assert type(cli.parse(argv)).__module__ == "argparse"


@pytest.mark.parametrize("argv", [["--changed-since"], ["--check", "--changed-since", "--staged"], ["--new-from-rev", "--check"]])
def test_a_revision_missing_is_argparse_s_error(argv: list[str]) -> None:
    with pytest.raises(cli.UsageError, match="expected one argument"):
        cli.parse(argv)


def test_the_default_backend_writes_every_attribute_and_http_handlers() -> None:
    """Why a run with the default backend need not load it to check (cli._check_backend)."""
    backend = load_backend(DEFAULT_BACKEND)
    assert unsupported(DEFAULT_BACKEND, backend, frozenset(ATTRIBUTE_KINDS)) is None
    assert handlers_unsupported(DEFAULT_BACKEND, backend) is None


def test_the_exit_codes_the_command_line_keeps_are_the_run_s() -> None:
    """cli.py names them without importing run (which --version does not load)."""
    from goinstrument.driver import run

    assert (cli.EXIT_OK, cli.EXIT_ERROR) == (run.EXIT_OK, run.EXIT_ERROR)
