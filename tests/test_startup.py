"""Start-up: what a small run (a hook's few files, an editor's one) loads.

A hook runs goinstrument on every commit, so its start-up is most of its time.
The modules below cost tens of milliseconds to import and serve only some runs:
the process pool (48 files or more; fewer are shared among os.fork()ed children), wcmatch (include/exclude globs), difflib
(--diff, or an update between variants of a span), subprocess (gofmt, for a
file whose layout is left to it), tomllib (a .goinstrument.toml), hashlib (OpenSSL, which
the cache's file names do not need), pickle.py (a forked child's results travel pickled by
its C module, _pickle), go-instrument's shape (a
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
import typing
from pathlib import Path

import pytest
from conftest import REPO
from gitrepo import GitRepo, git_env

from goinstrument import __version__, cli, tuples
from goinstrument.backends.loader import load_backend
from goinstrument.driver import batch
from goinstrument.engine.handlers import unsupported as handlers_unsupported
from goinstrument.engine.options import ATTRIBUTE_KINDS, DEFAULT_BACKEND
from goinstrument.engine.shape import unsupported

SOURCE = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) error {\n\treturn ctx.Err()\n}\n'

OPTIONAL = ["concurrent.futures", "multiprocessing", "wcmatch", "difflib", "subprocess", "tomllib", "hashlib", "pickle"]

PROBE = """
import json, sys
import tree_sitter
compiled = []
_query = tree_sitter.Query
tree_sitter.Query = lambda *args: compiled.append(args[1]) or _query(*args)  # counts every query compiled
from goinstrument import cli
from goinstrument.engine import shape
from goinstrument.engine.go import buildtags
code = cli.main(sys.argv[1:])
loaded = [m for m in {optional!r} if m in sys.modules]
built = [f.__name__ for f in (shape.go_instrument, buildtags.platforms) if f.cache_info().currsize]
import re
from goinstrument.driver import package_scope
from goinstrument.engine import remove
cached = {{key[1] for cache in (getattr(re, "_cache", {{}}), getattr(re, "_cache2", {{}})) for key in cache}}  # what `re` compiled
lazy = {{"_GO_ESCAPE": shape, "_INIT": package_scope, "_PACKAGE_NAME": package_scope, "_IMPORTS_C": package_scope,
        "_VAR": package_scope, "_FUNC_NAME": package_scope, "_LINE_DIRECTIVE": remove, "_OUR_LINE_DIRECTIVE": remove}}
built += [name for name, module in lazy.items() if isinstance(getattr(module, name), re.Pattern) or getattr(module, name) in cached]
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
    others in a child, on two workers): os.fork, not multiprocessing or concurrent.futures."""
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
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "loaded": [], "forks": 1}
    assert all("Start(ctx" in (tmp_path / f"p{n}.go").read_text() for n in range(3))


GC_PROBE = """
import gc, json, sys
import goinstrument
sys.argv[0] = "goinstrument"
seen = []
gc.callbacks.append(lambda phase, info: phase == "start" and seen.append("goinstrument.driver.process" in sys.modules))
code = goinstrument.main()
frozen = gc.get_freeze_count() > 0
print(json.dumps({"code": code, "collections": seen.count(True), "before": seen.count(False), "enabled": gc.isenabled(), "frozen": frozen}))
"""


def test_start_up_collects_no_garbage_and_the_run_s_modules_are_frozen(tmp_path: Path) -> None:
    """No collection while the modules load (3 to 5 ms of a hook's run, and more in the workers
    forked: a collection there walks, so copies, every object the parent made): goinstrument.main
    disables the collector, driver.run freezes what is loaded then enables it again."""
    (tmp_path / "p.go").write_text(SOURCE)

    def probe(*args: str, stdin: str = "") -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", GC_PROBE, *args], cwd=tmp_path, input=stdin, capture_output=True, text=True, env=git_env(), check=False
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    assert probe("--version") == {"code": 0, "collections": 0, "before": 0, "enabled": True, "frozen": False}
    # Nothing to work (a hook's run with no Go file staged): the collector is on again all the same.
    repo = GitRepo.go_module(tmp_path / "repo")
    done = subprocess.run([sys.executable, "-c", GC_PROBE, "--staged"], cwd=repo.root, capture_output=True, text=True, env=git_env(), check=False)
    assert json.loads(done.stdout.strip().splitlines()[-1])["enabled"] is True, done.stderr
    result = probe("-q", "--no-cache", "p.go")
    assert result["code"] == 0 and result["before"] == 0 and result["enabled"] is True and result["frozen"] is True, result
    assert "Start(ctx" in (tmp_path / "p.go").read_text()
    result = probe("-q", "-", stdin=SOURCE)  # the one file on stdin: its own way to the engine
    assert result["code"] == 0 and result["before"] == 0 and result["enabled"] is True and result["frozen"] is True, result


def test_a_diff_run_loads_difflib_a_glob_wcmatch_and_a_config_file_tomllib(tmp_path: Path) -> None:
    """The other side: the probe sees a module that is needed (so the test above means something),
    and the table a file with a build constraint needs (a letter that is not ASCII needs none)."""
    (tmp_path / "p.go").write_text("//go:build !windows\n\n// Package p: café.\n" + SOURCE)
    (tmp_path / ".goinstrument.toml").write_text("tests = false\n")
    result = _probe(tmp_path, "-q", "--diff", "--exclude", "vendor/**", "p.go")
    assert result["code"] == 0
    assert sorted(result["loaded"]) == ["difflib", "tomllib", "wcmatch"]  # type: ignore[call-overload]
    assert result["built"] == ["platforms"]
    _probe(tmp_path, "-q", "--line-directives", "p.go")
    result = _probe(tmp_path, "-q", "--remove", "p.go")  # and the pattern only --remove needs, where it does
    assert result["code"] == 0 and "_OUR_LINE_DIRECTIVE" in result["built"], result  # type: ignore[operator]


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
    # the budget, in modules: goinstrument, its cli, and runpy for -m (one built in, as gc, has no file to read)
    assert len(set(names) - set(bare) - set(sys.builtin_module_names)) <= 3


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


def test_pre_commit_s_run_of_the_files_it_names_parses_them_without_argparse(tmp_path: Path) -> None:
    """The pre-commit framework runs `goinstrument -- FILE...` (.pre-commit-hooks.yaml), and a
    hook may add `--jobs 1`: the fast path takes both (argparse, gettext and the parser built: ~10 ms)."""
    (tmp_path / "-p.go").write_text(SOURCE)
    done, names = _imported(tmp_path, "-m", "goinstrument", "--jobs", "1", "--", "-p.go", env=git_env())
    assert done.returncode == 0 and "Start(ctx" in (tmp_path / "-p.go").read_text(), done.stderr
    assert "argparse" not in names and "goinstrument.driver.process" in names


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
# Nor tree-sitter-go's package (its __init__ imports importlib.resources: syntax loads its grammar
# alone), tempfile (fileio makes its temporary file itself) and shutil (gofmt's, where it is run),
# with what they import: 4 ms of a hook's start-up.
NOT_FOR_A_HOOK_OR_CI += ["tree_sitter_go", "importlib.resources", "zipfile", "tempfile", "shutil", "random", "bz2", "lzma"]
LIBRARIES = ("pygit2",)
# How many modules either run may load beyond a bare `python -S -c pass` (both under -S: what a
# site's .pth files load first differs between machines), less a library's own (and those it
# loaded): 140 for the hook's run below and 138 for CI's when this was written (156 and 155 before
# the list above grew), goinstrument's 70-odd of them, the rest the standard library's (re, typing,
# enum, subprocess...). A module more is a cost every commit pays: load it where it is used.
MODULE_BUDGET = 142


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


def test_the_grammar_is_loaded_from_its_extension_module_alone_else_from_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tree-sitter-go's __init__ imports importlib.resources (pathlib, tempfile, zipfile...) for two
    queries never read: syntax loads its `_binding` alone. Where that is not found so (a package
    laid out otherwise, one already imported, none on the path), the package's own gives the same grammar."""
    from tree_sitter import Language

    from goinstrument import extension_module
    from goinstrument.engine.go import syntax

    probe = "import sys; from goinstrument.engine.go import syntax; print(syntax.LANGUAGE.name, [m for m in sys.modules if 'tree_sitter_go' in m])"
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=git_env(), check=False)
    assert done.stdout == "go []\n", done.stderr  # the grammar, and not its package (nor even its module by name)
    (tmp_path / "laid_out_otherwise").mkdir()
    (tmp_path / "laid_out_otherwise" / "__init__.py").write_text("")
    (tmp_path / "laid_out_otherwise" / "_binding.py").write_text("def language(): raise AssertionError\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert extension_module("laid_out_otherwise", "_binding") is None  # a Python module, not an extension
    assert extension_module("laid_out_otherwise", "_missing") is None
    assert extension_module("no_such_package_here", "_binding") is None
    assert extension_module("goinstrument", "cli") is None  # imported already: the package's own is at hand
    monkeypatch.setattr(syntax, "extension_module", lambda package, name: None)
    assert Language(syntax._grammar()) == syntax.LANGUAGE  # from the package: the same grammar


class _Typed(typing.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


class _Ours(tuples.NamedTuple):
    """A point."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


def _renamed(text: object) -> object:
    return text.replace("_Typed", "_Ours") if isinstance(text, str) else text


def test_our_named_tuples_are_typing_s_made_for_less() -> None:
    """goinstrument.tuples.NamedTuple (typing's compiles each string annotation, and
    collections.namedtuple each __new__): the same class."""
    import inspect
    import pickle

    typed, ours = _Typed(3, -4, ("a",)), _Ours(3, -4, ("a",))
    assert ours < _Ours(4) and hash(ours) == hash(typed) == hash((3, -4, ("a",)))
    assert repr(ours) == repr(typed).replace("_Typed", "_Ours") and ours.norm() == typed.norm() == 7
    assert (_Ours._fields, _Ours._field_defaults, _Ours.__doc__) == (_Typed._fields, _Typed._field_defaults, _Typed.__doc__)
    assert (_Ours.__module__, _Ours.__qualname__, _Ours.__bases__) == (__name__, "_Ours", (tuple,))
    assert ours._replace(y=1) == _Ours(3, 1, ("a",)) and ours._asdict() == typed._asdict()
    assert _Ours(1) == (1, 0, ()) and ours == (3, -4, ("a",)) and typed == (3, -4, ("a",))  # a tuple's equality
    assert pickle.loads(pickle.dumps(ours)) == ours and type(pickle.loads(pickle.dumps(ours))) is _Ours
    x, y, _ = ours
    assert (x, y, ours[1]) == (3, -4, -4)
    for name, theirs in vars(_Typed).items():  # member for member, as its own name shows it
        mine: typing.Any = vars(_Ours).get(name)
        if name not in ("__annotations__", "__orig_bases__", "__qualname__"):  # typing's annotations are ForwardRefs
            assert type(mine) is type(theirs), name
        function, my_function = getattr(theirs, "__func__", theirs), getattr(mine, "__func__", mine)
        if hasattr(function, "__code__"):
            for attribute in ("__name__", "__qualname__", "__doc__", "__defaults__", "__kwdefaults__"):
                assert getattr(my_function, attribute) == _renamed(getattr(function, attribute)), (name, attribute)
            shown = [[(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()] for f in (my_function, function)]
            assert shown[0] == shown[1], name
        elif name.startswith("_") or not callable(theirs):
            assert getattr(mine, "__doc__", None) == _renamed(getattr(theirs, "__doc__", None)), name
    for wrong in [(1, 2, 3, 4), ()]:  # the same errors
        with pytest.raises(TypeError) as got:
            typing.cast(typing.Any, _Ours)(*wrong)
        with pytest.raises(TypeError) as expected:
            typing.cast(typing.Any, _Typed)(*wrong)
        assert str(got.value) == _renamed(str(expected.value))
    with pytest.raises(ValueError, match=r"Got unexpected field names: \['z'\]"):
        _Ours(1)._replace(z=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Expected 3 arguments, got 2"):
        _Ours._make((1, 2))
    assert tuple(_Ours(y=2, x=1)) == tuple(_Typed(y=2, x=1)) == (1, 2, ())
    with pytest.raises(TypeError, match="Non-default namedtuple field"):

        class _Bad(tuples.NamedTuple):
            a: int = 1
            b: int  # type: ignore[misc]

    with pytest.raises(AttributeError, match="_replace"):

        class _Worse(tuples.NamedTuple):
            a: int
            _replace = None  # type: ignore[misc]


def test_a_named_tuple_without_annotations_is_an_error_not_a_class_with_no_fields() -> None:
    """Python 3.14 (PEP 649) leaves a class body's annotations to `__annotate__` unless the module
    has `from __future__ import annotations`: goinstrument.tuples would see no field at all."""
    with pytest.raises(TypeError, match="NamedTuple _Empty declares no field"):

        class _Empty(tuples.NamedTuple):
            pass


def test_every_module_that_uses_our_named_tuples_has_the_future_import() -> None:
    import ast

    found = []
    for path in sorted([*(REPO / "goinstrument").rglob("*.py"), *(REPO / "tests").rglob("*.py"), *(REPO / "bench").rglob("*.py")]):
        tree = ast.parse(path.read_text())
        uses = any(
            isinstance(node, ast.ImportFrom)
            and (node.module == "goinstrument.tuples" or (node.module == "goinstrument" and any(alias.name == "tuples" for alias in node.names)))
            for node in ast.walk(tree)
        )
        future = any(
            isinstance(node, ast.ImportFrom) and node.module == "__future__" and any(alias.name == "annotations" for alias in node.names)
            for node in tree.body
        )
        if uses and not future:
            found.append(str(path.relative_to(REPO)))
    assert found == []


def test_no_module_of_goinstrument_makes_typing_s_named_tuples() -> None:
    """Each costs 0.1 ms more at every start (its annotations compiled): goinstrument.tuples' instead."""
    import ast

    package = Path(cli.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "typing" and path.name != "tuples.py":
                found += [f"{path.relative_to(package)}:{node.lineno}" for alias in node.names if alias.name == "NamedTuple"]
            if isinstance(node, ast.Attribute) and node.attr == "NamedTuple" and getattr(node.value, "id", "") == "typing":
                found.append(f"{path.relative_to(package)}:{node.lineno}")
    assert found == []


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
        ["--staged", "--jobs", "1"],
        ["--jobs=007", "--check"],
        ["--"],  # pre-commit's `goinstrument -- FILE...`: what follows is paths, whatever it looks like
        ["--", "a.go", "-b.go", "--check", "-"],
        ["--check", "--new-from-rev", "HEAD", "--", "a.go"],
        ["-q", "--", "--", "a.go"],  # the first `--` alone ends the flags
        ["--staged", "--", "a.go"],  # argparse takes it; build refuses it
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
        ["--jobs", "-1"],  # argparse's reading of a negative number
        ["--jobs", "two"],
        ["--jobs=", "--check"],
        ["--jobs", "²"],  # a digit int() does not read
        ["--jobs", "1", "--jobs", "2"],
        ["a.go"],  # a path before `--`: argparse's to place
        ["a.go", "--", "b.go"],
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
