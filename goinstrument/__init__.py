"""goinstrument: add OpenTelemetry spans to Go functions that take a context.Context."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing (--version does not): mypy reads it so
if TYPE_CHECKING:
    from types import ModuleType

__version__ = "0.1.0"


def outside_current_directory(entries: list[str]) -> list[str]:
    """The sys.path entries that cannot name the repository being worked on.

    `python -m` puts the current directory first on sys.path, and an empty PYTHONPATH
    entry ("", or "a::b") puts it there too, as a relative entry would: a `tomllib.py`
    or `mine.py` in the repository would then stand in for the real module. Only
    absolute entries other than the current directory remain.
    """
    import os

    try:
        here: str | None = os.path.realpath(os.getcwd())
    except OSError:  # the current directory is gone: nothing can be found in it
        here = None
    return [entry for entry in entries if os.path.isabs(entry) and os.path.realpath(entry) != here]


def extension_module(package: str, name: str) -> ModuleType | None:
    """`package.name`, a compiled extension module, loaded without running the package's
    `__init__` (tree-sitter-go's imports importlib.resources, with pathlib, tempfile, zipfile
    and more, for queries goinstrument never reads). None where it is not found so, as a
    package installed by a finder of its own or one laid out otherwise: import the package."""
    import sys
    from importlib.machinery import ExtensionFileLoader, PathFinder

    if package in sys.modules:
        return None
    found = PathFinder.find_spec(package)
    locations = found.submodule_search_locations if found is not None else None
    spec = PathFinder.find_spec(f"{package}.{name}", locations) if locations else None
    if spec is None or not isinstance(spec.loader, ExtensionFileLoader):
        return None
    module = spec.loader.create_module(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    """The `goinstrument` command (and `python -m goinstrument`): no module, of the standard
    library or a backend's, is imported from the current directory, from the first import on."""
    import gc
    import sys

    # Start-up allocates much and frees next to nothing: no collection until the run's modules
    # are loaded (driver.run._loaded freezes them, then collects again), as the gc module advises
    # a process that forks: 3 to 5 ms of a hook's run, more in its forked children. A run that
    # stays (a server) must call it too.
    gc.disable()
    try:
        sys.path[:] = outside_current_directory(sys.path)
        from goinstrument.cli import main as cli_main

        return cli_main()
    except KeyboardInterrupt:  # a Ctrl-C as the run starts (its imports), before cli.main answers one: as it does
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # (a second one as the interpreter exits: no traceback either)
        return 128 + signal.SIGINT
    finally:  # on every path: a run with nothing to work never reaches _loaded (atexit's, a caller's code)
        gc.enable()
