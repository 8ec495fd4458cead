"""Running the rewrite over many files: in parallel, with the cache, one file's failure never stopping the batch."""

from __future__ import annotations

import difflib
import multiprocessing
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from goinstrument.cache import Cache
from goinstrument.fileio import FileError, read_source, write_atomic
from goinstrument.pipeline import rewrite_source, tracer_for
from goinstrument.result import Finding, Position, Problem, Summary
from goinstrument.options import Output, RewriteOptions, RunOptions

SERIAL_BELOW = 48  # files; fewer are done in this process, sparing the worker start-up


@dataclass(frozen=True)
class Outcome:
    path: str
    findings: tuple[Finding, ...] = ()
    problem: Problem | None = None
    changed: bool = False
    spans_added: int = 0
    spans_removed: int = 0
    diff: str | None = None
    clean_stat: tuple[int, int] | None = None  # (mtime_ns, size) when the file is now in its final state


def _lines(text: str) -> list[str]:
    """Lines as patch sees them: split at \\n only (not at form feeds or U+2028 as str.splitlines does)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    lines = difflib.unified_diff(
        _lines(before.decode("utf-8")),
        _lines(after.decode("utf-8")),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def process_file(path: Path, settings: RewriteOptions, output: Output) -> Outcome:
    display = str(path)
    try:
        src = read_source(path)
    except FileError as exc:
        return Outcome(display, problem=Problem(display, Position(1, 1), str(exc)))
    try:
        result = rewrite_source(path, src, settings, output is Output.CHECK)
    except RecursionError:
        return Outcome(display, problem=Problem(display, Position(1, 1), "nested too deeply to analyse; left untouched"))
    except Exception as exc:  # a bug of ours must not stop the batch or lose the file
        message = f"internal error ({type(exc).__name__}: {exc}); left untouched, please report it"
        return Outcome(display, problem=Problem(display, Position(1, 1), message))
    if result.problem is not None:
        return Outcome(display, problem=result.problem)
    diff = None
    if result.changed:
        if output is Output.WRITE:
            try:
                write_atomic(path, src, result.output)
            except FileError as exc:
                return Outcome(display, problem=Problem(display, Position(1, 1), str(exc)))
        elif output is Output.DIFF:
            diff = unified_diff(display, src, result.output)
    clean = output is Output.WRITE or not result.changed
    stat = os.stat(path) if clean else None
    return Outcome(
        display,
        findings=result.findings,
        changed=result.changed,
        spans_added=result.spans_added,
        spans_removed=result.spans_removed,
        diff=diff,
        clean_stat=(stat.st_mtime_ns, stat.st_size) if stat else None,
    )


def _map(paths: list[Path], settings: RewriteOptions, run_options: RunOptions) -> list[Outcome]:
    work = partial(process_file, settings=settings, output=run_options.output)
    jobs = run_options.jobs or os.cpu_count() or 1
    if jobs == 1 or len(paths) < SERIAL_BELOW:
        return [work(p) for p in paths]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, min(64, len(paths) // (jobs * 8)))
    with context.Pool(jobs) as pool:
        return list(pool.imap_unordered(work, paths, chunksize=chunk))


def run(paths: list[Path], settings: RewriteOptions, run_options: RunOptions) -> tuple[Summary, list[Outcome]]:
    """Process every path; outcomes come back sorted by path."""
    cache = Cache(settings.cache_key()) if run_options.use_cache else None
    todo, tracers = [], {}
    for path in paths:
        key = os.path.abspath(path)
        if cache is not None:
            try:
                stat = os.stat(path)
            except OSError:
                todo.append(path)
                continue
            tracers[key] = tracer_for(path, settings, b"")
            if cache.is_clean(key, stat, tracers[key]):
                continue
        todo.append(path)
    outcomes = sorted(_map(todo, settings, run_options), key=lambda o: o.path)
    summary = Summary(files_seen=len(paths))
    for outcome in outcomes:
        summary.findings.extend(outcome.findings)
        if outcome.problem is not None:
            summary.problems.append(outcome.problem)
        summary.files_changed += outcome.changed
        summary.spans_added += outcome.spans_added
        summary.spans_removed += outcome.spans_removed
        if cache is not None:
            key = os.path.abspath(outcome.path)
            if outcome.clean_stat is not None and key in tracers:
                cache.record(key, *outcome.clean_stat, tracers[key])
            else:
                cache.forget(key)
    if cache is not None:
        cache.save()
    return summary, outcomes
