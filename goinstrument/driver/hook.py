"""`--install-hook`: git pre-commit and pre-merge-commit hooks that run `goinstrument --staged`, chained with a hook already there."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import sys
from pathlib import Path

from goinstrument.driver.fileio import FileError, replace_atomically
from goinstrument.driver.git import hooks_directory
from goinstrument.engine.result import GitError

MARKER = "# goinstrument pre-commit hook"
# The hooks installed: git runs pre-merge-commit, not pre-commit, for a merge it commits on its own.
HOOKS = ("pre-commit", "pre-merge-commit")
CHAINED = ".goinstrument-chained"  # a hook that was there before ours, kept beside it and run after it
# What the hook runs: goinstrument.server's client, as `python -P -c SERVED ARGS` (server.HOOK_CODE:
# `-m goinstrument.server` without runpy, ~10 ms).
SERVED = "import sys; from goinstrument.server import main; sys.exit(main())"


# What each hook runs, and what it says when goinstrument fails (git says nothing of a hook's
# failure). git writes a merge commit's tree before it runs pre-merge-commit, so that hook cannot
# add spans: it checks, and a merge lacking some stops for `git commit` to complete it, through the
# pre-commit hook, which adds them.
_RUNS = {
    "pre-commit": (
        "--staged",
        "instruments the staged Go files and re-stages them",
        # 2: a file or git failed (not an interrupt, whose shell may go on after goinstrument's exit)
        '\t[ "$status" -eq 2 ] && echo "goinstrument: the commit stops here (see above); commit again once that is'
        ' dealt with, or skip the hook: git commit --no-verify" >&2\n',
    ),
    "pre-merge-commit": (
        "--staged --check",
        "fails a merge git would commit with Go functions lacking a span",
        '\t[ "$status" -eq 1 ] && echo "goinstrument: git cannot add spans to a merge commit it makes itself;'
        ' run git commit to complete the merge: the pre-commit hook adds them" >&2\n',
    ),
}


def hook_script(python: str | None = None, name: str = "pre-commit", client: Path | None = None) -> str:
    """The hook `name`: goinstrument under the Python that installed it, else the one on PATH;
    then, if it passed, the hook that was there before (`$0.goinstrument-chained`), if any,
    with the same arguments and stdin.

    `-P`: git runs hooks at the top of the working tree, and a goinstrument.py there
    must not stand in for the installed package. SERVED (goinstrument/server.py's main): the
    run, handed to a warm server when one is up, else in this process as `-m goinstrument`; a
    hook written before it (`-m goinstrument`) still works. `client`: the native client
    (build_client's), which hands the run to the same server without starting an interpreter,
    and runs SERVED in its place wherever it cannot be sure to (goinstrument/hookclient/main.go).
    """
    python = shlex.quote(python or sys.executable)
    args, what, on_failure = _RUNS[name]
    served = f'"$python" -P -c {shlex.quote(SERVED)} {args} </dev/null\n\tstatus=$?'
    if client is not None:  # (126, 127: it could not be run after all)
        indented = served.replace("\n\t", "\n\t\t")
        served = f"""client={shlex.quote(os.fspath(client))}
\tstatus=127
\tif [ -x "$client" ]; then
\t\t"$client" "$python" {args} </dev/null
\t\tstatus=$?
\tfi
\tif [ "$status" -eq 126 ] || [ "$status" -eq 127 ]; then
\t\t{indented}
\tfi"""
    return f"""#!/bin/sh
{MARKER}: {what}.
# Written by `goinstrument --install-hook`; run that again to update it, delete this file to remove it.
# A hook that was here before runs after this one, as $0{CHAINED}, if goinstrument passes.
python={python}
if [ -x "$python" ]; then
\t{served}
elif command -v goinstrument >/dev/null 2>&1; then
\tgoinstrument {args} </dev/null
\tstatus=$?
else
\techo "goinstrument hook: neither $python nor goinstrument on PATH; reinstall goinstrument or delete $0" >&2
\texit 2
fi
if [ "$status" -ne 0 ]; then
{on_failure}\texit "$status"
fi
if [ -x "$0{CHAINED}" ]; then
\texec "$0{CHAINED}" "$@"
fi
"""


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GitError(f"cannot read {path}: {exc.strerror or exc}") from None


def install_hook(start: Path, force: bool = False) -> str:
    """Write the pre-commit and pre-merge-commit hooks, one message a line.

    A hook goinstrument did not write is kept, with `force`, as `NAME.goinstrument-chained`
    and run after ours; without `force` nothing is written. Installing again changes nothing.
    """
    directory = hooks_directory(start)
    hooks = [(directory / name, _read(directory / name)) for name in HOOKS]
    for hook, existing in hooks:
        if existing is None or MARKER in existing:
            continue
        chained = hook.with_name(hook.name + CHAINED)
        if not force:
            raise GitError(
                f"{hook} exists and was not written by goinstrument; --install-hook --force keeps it"
                f" and runs it after goinstrument's hook (as {chained.name})"
            )
        if chained.exists():
            raise GitError(
                f"{hook} was not written by goinstrument and {chained} exists too: merge them into one by hand, then run --install-hook --force"
            )
    client, why = build_client()
    lines = [_install(hook, existing, hook_script(name=hook.name, client=client)) for hook, existing in hooks]
    through = f"the hooks hand their runs to goinstrument's server through {client}"
    lines.append(through if client else f"the hooks run Python's client: {why}")
    return "\n".join(lines)


# --- the native client ------------------------------------------------------------------------

CLIENT_SOURCE = Path(__file__).resolve().parent.parent / "hookclient" / "main.go"
CLIENT_VARIABLE = "GOINSTRUMENT_CLIENT_DIR"  # where the native client is built (tests: one per session)
_CLIENT_MODULE = "module goinstrument/hookclient\n\ngo 1.19\n"
# The build's own settings, whatever the user's (every other GO* variable dropped, the go env file
# not read): no workspace, no toolchain switch, no network, no cgo (a static binary), this machine's
# platform at its baseline.
_BUILD_ENV = {"GOENV": "off", "GOWORK": "off", "GOTOOLCHAIN": "local", "GO111MODULE": "on", "GOPROXY": "off", "CGO_ENABLED": "0"}
_BUILD_KEEPS = ("GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOTMPDIR")


def client_dir() -> Path:
    """Where the native client is built: absolute (a relative XDG_CACHE_HOME is not one, says the
    XDG spec; the hook runs at the top of a working tree, where a relative path would lead)."""
    explicit = os.environ.get(CLIENT_VARIABLE)
    if explicit:
        return Path(explicit).absolute()
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "goinstrument", "bin").absolute()


def build_client() -> tuple[Path | None, str]:
    """The native hook client, built with the `go` on PATH unless built already (its name is a
    checksum of its source): its path, or None and why there is none (the hook then runs Python's
    client, as it always could). Built in a directory of its own, from goinstrument's source alone."""
    import hashlib
    import subprocess
    import tempfile

    if sys.platform != "linux":
        return None, "the server is Linux only"
    try:
        source = CLIENT_SOURCE.read_bytes()
    except OSError as exc:
        return None, f"its source is missing ({exc.strerror or exc})"
    checksum = hashlib.sha256(source).hexdigest()[:16]  # (server._client_source: the manifests it reads)
    directory = client_dir()
    target = directory / f"hook-client-{checksum}-{os.uname().machine}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError as exc:
        return None, f"cannot make {directory} ({exc.strerror or exc})"
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None, f"{directory} is not a directory that only you may write to"
    if _runs(target):
        return target, ""
    go = shutil.which("go")
    if go is None:
        return None, "no go command on PATH to build the native one"
    env = {name: value for name, value in os.environ.items() if not name.startswith("GO") or name in _BUILD_KEEPS}
    env.update(_BUILD_ENV)
    try:
        with tempfile.TemporaryDirectory(prefix="goinstrument-client-") as work:
            Path(work, "main.go").write_bytes(source)
            Path(work, "go.mod").write_text(_CLIENT_MODULE)
            built = Path(work, "client")
            command = [go, "build", "-buildvcs=false", f"-ldflags=-s -w -X main.source={checksum}", "-o", os.fspath(built), "."]
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not built.is_file():
                said = (done.stderr or done.stdout).strip().splitlines()
                return None, f"go build failed{': ' + said[-1] if said else ''}"
            if not _runs(built):
                return None, "the client go built does not run here"
            replace_atomically(target, built.read_bytes(), mode=0o755)
    except (OSError, subprocess.SubprocessError, FileError) as exc:
        return None, f"it could not be built ({exc})"
    return target, ""


def _runs(client: Path) -> bool:
    """Whether the client runs here: without arguments, it says how it is used and exits 2."""
    import subprocess

    try:
        done = subprocess.run([client], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 2 and done.stderr.startswith(b"usage: ")


def _install(hook: Path, existing: str | None, script: str) -> str:
    chained = hook.with_name(hook.name + CHAINED)
    then = f" (then {chained})" if os.access(chained, os.X_OK) else ""
    if existing == script and os.access(hook, os.X_OK):
        return f"the {hook.name} hook is already installed{then}: {hook}"
    foreign = existing is not None and MARKER not in existing
    try:
        hook.parent.mkdir(parents=True, exist_ok=True)
        if foreign:
            os.replace(hook, chained)
        replace_atomically(hook, script.encode(), mode=0o755)
    except OSError as exc:
        raise GitError(f"cannot write {hook}: {exc.strerror or exc}") from None
    except FileError as exc:
        raise GitError(f"cannot write {hook}: {exc}") from None
    if foreign:
        return f"installed the {hook.name} hook; the one that was there runs after it, as {chained}: {hook}"
    verb = "updated" if existing is not None else "installed"
    return f"{verb} the {hook.name} hook{then}: {hook}"
