"""`.goinstrument.toml`: the same settings as the flags, for a whole repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A configuration file that cannot be used; str() is `path:line:col: message`."""


def load(start: Path) -> dict[str, Any]:
    """Settings field name -> value from the nearest .goinstrument.toml (none yet: {})."""
    return {}
