import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own no-op cache, so no test sees another's."""
    monkeypatch.setenv("GOINSTRUMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def run_cli(*args, cwd=None, check=None, env=None):
    """Run `python -m goinstrument` for real, as a user would."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "goinstrument", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
    )
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc
