"""goinstrument: add OpenTelemetry spans to Go functions that take a context.Context."""

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


def main() -> int:
    """The `goinstrument` command (and `python -m goinstrument`): no module, of the standard
    library or a backend's, is imported from the current directory, from the first import on."""
    import sys

    sys.path[:] = outside_current_directory(sys.path)
    from goinstrument.cli import main as cli_main

    return cli_main()
