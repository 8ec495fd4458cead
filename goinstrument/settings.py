"""What the pure core is told about the file whose bytes it gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FileInfo:
    """What the pure core is told about the file whose bytes it gets."""

    path: str = "<stdin>"  # shown in messages only
    tracer: str = "main"  # tracer name resolved for this file's package
    import_path: str = ""  # the package's import path, from go.mod ("" outside a module)
    # Which of the given names the package's other files declare at package level;
    # asked only when a new import needs a name (it reads those files).
    package_names: Callable[[frozenset[str]], frozenset[str]] = lambda names: frozenset()
