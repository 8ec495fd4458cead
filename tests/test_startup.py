"""Start-up: what a small run (a hook's few files, an editor's one) loads.

A hook runs goinstrument on every commit, so its start-up is most of its time.
The modules below cost tens of milliseconds to import and serve only some runs:
the process pool (48 files or more), wcmatch (include/exclude globs), difflib
(--diff, or an update between variants of a span), subprocess (gofmt, for a
file whose layout is left to it), tomllib (a .goinstrument.toml), hashlib (OpenSSL, which
the cache's file names do not need), go-instrument's shape (a
file that may hold go-instrument's code), and deadcode's two tree-sitter
queries (a function literal that may get a span; compiling a query costs
milliseconds). A small run without them must not load or compile them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SOURCE = 'package p\n\nimport "context"\n\nfunc F(ctx context.Context) error {\n\treturn ctx.Err()\n}\n'

OPTIONAL = ["concurrent.futures", "multiprocessing", "wcmatch", "difflib", "subprocess", "tomllib", "hashlib"]

PROBE = """
import json, sys
import tree_sitter
compiled = []
_query = tree_sitter.Query
tree_sitter.Query = lambda *args: compiled.append(args[1]) or _query(*args)  # counts every query compiled
from goinstrument import cli, shape
code = cli.main(sys.argv[1:])
loaded = [m for m in {optional!r} if m in sys.modules]
print(json.dumps({{"code": code, "loaded": loaded, "go_instrument_built": shape.go_instrument.cache_info().currsize, "queries": len(compiled)}}))
"""


def _probe(tmp_path: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(optional=OPTIONAL), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "GOINSTRUMENT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_small_run_loads_no_pool_globs_or_diff(tmp_path: Path) -> None:
    (tmp_path / "p.go").write_text(SOURCE)
    result = _probe(tmp_path, "-q", "p.go")
    assert result == {"code": 0, "loaded": [], "go_instrument_built": 0, "queries": 1}  # the index's query alone
    assert "Start(ctx" in (tmp_path / "p.go").read_text()  # the run did instrument


def test_a_diff_run_loads_difflib_a_glob_wcmatch_and_a_config_file_tomllib(tmp_path: Path) -> None:
    """The other side: the probe sees a module that is needed (so the test above means something)."""
    (tmp_path / "p.go").write_text(SOURCE)
    (tmp_path / ".goinstrument.toml").write_text("tests = false\n")
    result = _probe(tmp_path, "-q", "--diff", "--exclude", "vendor/**", "p.go")
    assert result["code"] == 0
    assert sorted(result["loaded"]) == ["difflib", "tomllib", "wcmatch"]  # type: ignore[call-overload]
