"""A unified line diff whose cost grows with the file, not with the file times its changes.

`difflib.unified_diff` finds the longest matching block and recurses on both
sides: each level scans what is left, so a file with a change in every function
(what goinstrument makes) costs its length times its changes. Here the lines
that occur once in each version and in the same order (patience anchors, a
longest increasing subsequence, n log n) cut the files into short gaps first;
each gap is matched by difflib, so a gap, and a file without such lines, is
laid out as difflib lays it out. The hunks and their text are then difflib's
(`get_grouped_opcodes`, the `unified_diff` format) for the same matching blocks.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from goinstrument.engine.result import quote_path

if TYPE_CHECKING:
    import difflib

Block = tuple[int, int, int]  # a[i:i+n] == b[j:j+n]


def file_patch(path: str, before: bytes, after: bytes) -> str:
    """The patch that makes `after` of `before` (UTF-8) for the file `path`, as `diff -u` and git write it.
    An absolute path loses its leading slashes, as in `git diff --no-index`'s headers (`a/tmp/x.go`, not
    `a//tmp/x.go`): `patch -p1` run from / applies it."""
    path = path.lstrip("/") or path
    lines = unified_diff(
        patch_lines(before.decode("utf-8")), patch_lines(after.decode("utf-8")), fromfile=quote_path(f"a/{path}"), tofile=quote_path(f"b/{path}")
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def patch_lines(text: str) -> list[str]:
    """Lines as patch sees them: split at \\n only (not at form feeds or U+2028 as str.splitlines does)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def unified_diff(a: Sequence[str], b: Sequence[str], fromfile: str, tofile: str, n: int = 3) -> Iterator[str]:
    """difflib.unified_diff(a, b, fromfile, tofile, n=n), from `matching_blocks`."""
    started = False
    for group in _matcher(a, b).get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])


def _range(start: int, stop: int) -> str:
    """A hunk's range as unified diffs write it (difflib's _format_range_unified)."""
    length = stop - start
    beginning = start + 1 if length else start  # an empty range names the line before it
    return str(beginning) if length == 1 else f"{beginning},{length}"


def _matcher(a: Sequence[str], b: Sequence[str]) -> difflib.SequenceMatcher[str]:
    import difflib  # only a --diff run needs it

    class Matcher(difflib.SequenceMatcher[str]):
        def get_matching_blocks(self) -> list[difflib.Match]:  # what get_opcodes builds on
            return [difflib.Match(*m) for m in matching_blocks(a, b)]

    return Matcher(None, a, b)


def matching_blocks(a: Sequence[str], b: Sequence[str]) -> list[Block]:
    """Ascending, non-adjacent blocks ending with (len(a), len(b), 0), as SequenceMatcher gives them."""
    import difflib

    found: list[Block] = []
    i = j = 0  # the end of the last block
    stops = [*anchors(a, b), (len(a), len(b))]  # the end is an anchor of no line
    for n, (ai, bj) in enumerate(stops):
        start_a, start_b = ai, bj  # the anchor's block, grown back and forth over equal lines
        while start_a > i and start_b > j and a[start_a - 1] == b[start_b - 1]:
            start_a, start_b = start_a - 1, start_b - 1
        if i < start_a and j < start_b:
            gap = difflib.SequenceMatcher(None, a[i:start_a], b[j:start_b]).get_matching_blocks()
            found.extend((i + m.a, j + m.b, m.size) for m in gap if m.size)
        if n == len(stops) - 1:
            found.append((start_a, start_b, ai - start_a))
            break
        end_a, end_b = ai + 1, bj + 1
        while end_a < stops[n + 1][0] and end_b < stops[n + 1][1] and a[end_a] == b[end_b]:
            end_a, end_b = end_a + 1, end_b + 1
        found.append((start_a, start_b, end_a - start_a))
        i, j = end_a, end_b
    merged: list[Block] = []
    for start_a, start_b, size in found:
        if not size:
            continue
        if merged and merged[-1][0] + merged[-1][2] == start_a and merged[-1][1] + merged[-1][2] == start_b:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + size)
        else:
            merged.append((start_a, start_b, size))
    return [*merged, (len(a), len(b), 0)]


def anchors(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """The pairs (i, j), a[i] == b[j] a line once in each, of a longest chain ascending in both."""
    once_a = _once(a)
    once_b = _once(b)
    pairs = [(i, once_b[line]) for line, i in once_a.items() if line in once_b]
    pairs.sort()
    return _longest_increasing(pairs)


def _once(lines: Sequence[str]) -> dict[str, int]:
    """Each line that occurs once, with its index."""
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        seen[line] = -1 if line in seen else i
    return {line: i for line, i in seen.items() if i >= 0}


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A longest subsequence of `pairs` (ascending by their first) ascending by their second: patience sorting."""
    tops: list[int] = []  # tops[k]: the smallest second ending an ascending run of k + 1
    top_index: list[int] = []
    previous: list[int] = []
    for n, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tops, j)
        if k == len(tops):
            tops.append(j)
            top_index.append(n)
        else:
            tops[k] = j
            top_index[k] = n
        previous.append(top_index[k - 1] if k else -1)
    chain: list[tuple[int, int]] = []
    n = top_index[-1] if top_index else -1
    while n >= 0:
        chain.append(pairs[n])
        n = previous[n]
    return chain[::-1]
