"""Path globs (`include`, `exclude`, `--exclude`): wcmatch's glob matching, anchored and covering directories.

Globs are slash-separated: `*` and `?` never cross a `/`, `**` as a whole segment
matches any number of directories (none included), `[...]` classes (negated with
`!` or `^`) never match `/`. A glob is anchored: it is matched against the whole
path from its start, and a glob that matches a directory covers every file below
it. `anchor` makes a relative glob absolute from a directory, so that a glob from
`.goinstrument.toml` holds wherever the tool runs.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path


def anchor(glob: str, directory: Path | str) -> str:
    """The glob as an absolute glob: a relative one is taken from `directory`, whose own
    glob characters are escaped. `..` and `.` segments are resolved, a trailing `/` dropped."""
    if glob.startswith("/"):
        return posixpath.normpath(glob)
    base = re.sub(r"([*?[])", r"[\1]", Path(os.path.abspath(directory)).as_posix())
    return posixpath.normpath(f"{base}/{glob}")


def matches(glob: str, path: str) -> bool:
    """Whether the slash-separated `path`, or a directory above it, matches the whole `glob`.

    Both are absolute or both relative to the same directory.
    """
    from wcmatch import glob as wcglob  # here, not at the top: a run without globs never loads it

    candidate = path
    flags = wcglob.GLOBSTAR | wcglob.DOTGLOB
    while candidate:
        if wcglob.globmatch(candidate, glob, flags=flags):
            return True
        candidate = candidate.rpartition("/")[0]
    return False
