"""One run: the files of the source (paths, changed since a revision, or staged), each through
`process`, the run's one output (write, index update, diff, findings), the report and the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from goinstrument.driver import batch
from goinstrument.driver.cache import Cache
from goinstrument.driver.discover import go_files, normalize_argument, skip_reason
from goinstrument.driver.fileio import CHANGED, OUTSIDE, READ_ONLY, FileError, inside, read_source, replace_atomically, writable, write_stdout
from goinstrument.driver.gomod import tracer_for
from goinstrument.driver.progress import progress_bar
from goinstrument.engine import result
from goinstrument.engine.options import Action, RewriteOptions
from goinstrument.engine.result import Finding, GitError, IndexDirectory, Outcome, Position, Problem, Source, Summary, quote_path
from goinstrument.options import ChangedSince, Format, FromPaths, Output, RunOptions, Staged, Stdin
from goinstrument.report import linediff

if TYPE_CHECKING:
    from goinstrument.driver import git as gitops

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def run(rewrite: RewriteOptions, options: RunOptions) -> int:
    """Run as the options say; the exit code."""
    if isinstance(options.source, Stdin):
        from goinstrument.driver.stdin import run_stdin

        return _finish(run_stdin(rewrite, options), rewrite, options)
    try:
        summary = run_staged(rewrite, options) if isinstance(options.source, Staged) else run_files(rewrite, options)
    except GitError as exc:
        summary = Summary(errors=[str(exc)])  # reported in the run's format: an ::error line, a JSON problem...
    return _finish(summary, rewrite, options)


def say(message: str) -> None:
    """A message of the tool's own on stderr (the command line's too)."""
    print(f"goinstrument: {message}", file=sys.stderr)


# --- what one file's outcome did --------------------------------------------------------------


class Done(NamedTuple):
    """What one file's Outcome means for the run, made in a worker: no bytes travel back but a
    changed file's (`write`), which the parent writes, so that a worker has no effect on disk and
    an item a dead worker lost can simply be run again."""

    path: str
    changed: bool = False
    findings: tuple[Finding, ...] = ()
    problem: Problem | None = None
    skipped: str | None = None
    spans_added: int = 0
    spans_removed: int = 0
    diff: str | None = None
    clean: tuple[int, int] | None = None  # (mtime_ns, size) of a file now in its final state
    coverage: result.Coverage = result.Coverage()
    write: tuple[bytes, bytes] | None = None  # (what the file held, what it is to hold) with Output.WRITE
    excluded: tuple[Finding, ...] = ()
    notes: tuple[Problem, ...] = ()
    spans_updated: int = 0


def _done(
    outcome: Outcome, *, diff: str | None = None, clean: tuple[int, int] | None = None, write: tuple[bytes, bytes] | None = None
) -> Done:
    """The Outcome without its bytes, with what the worker made of it."""
    return Done(
        outcome.path,
        outcome.changed,
        outcome.findings,
        outcome.problem,
        outcome.skipped,
        outcome.spans_added,
        outcome.spans_removed,
        diff,
        clean,
        outcome.coverage,
        write,
        outcome.excluded,
        outcome.notes,
        outcome.spans_updated,
    )


def _failed(path: str, message: str) -> Done:
    return Done(path, problem=Problem(path, Position(1, 1), message))


# --- working-tree files -------------------------------------------------------------------------


def run_files(rewrite: RewriteOptions, options: RunOptions) -> Summary:
    """The files named by paths or changed since a revision; their diffs on stdout with Output.DIFF."""
    source = options.source
    problems: list[Problem] = []
    explicit_skips: list[tuple[str, str]] = []
    found: Iterable[tuple[Path, str]]  # each file, and the resolved directory it may be written in
    lines: dict[Path, gitops.LineRanges] | None = None
    if isinstance(source, ChangedSince):
        from goinstrument.driver import git as gitops

        named = [Path(p) for p in source.paths]
        if source.new_code_only:
            lines = {_relative(p): ranges for p, ranges in gitops.changed_go_lines(Path.cwd(), source.rev, named).items()}
            changed = list(lines)
        else:
            changed = gitops.changed_go_files(Path.cwd(), source.rev, named)
        top = os.fspath(gitops.worktree_top(Path.cwd()))
        found = [(_relative(p), top) for p in changed if skip_reason(p, rewrite) is None]
    elif isinstance(source, FromPaths):
        found = ((path, root) for arg in source.paths for root in [_write_root(arg)] for path in go_files([arg], rewrite, problems, explicit_skips))
    else:
        raise TypeError(source)
    cache = Cache(rewrite.cache_key()) if options.use_cache else None
    paths, todo, stamps, cached_skips = [], [], {}, []
    stamper = _Stamps(rewrite)
    seen: set[tuple[int, int]] = set()
    roots: dict[str, str] = {}  # each path's root, for the writer
    resolved = _Resolved()
    for path, root in found:
        if not inside(resolved.path(path), root):
            explicit_skips.append((str(path), OUTSIDE))
            continue
        try:
            stat: os.stat_result | None = os.stat(path)
        except OSError:
            stat = None  # the worker reports it
        if stat is not None:
            # One file reached twice (a/x.go and ./x.go, a link to it) is processed once, under its first name.
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
        paths.append(path)
        roots[str(path)] = root
        key = os.path.abspath(path)
        if cache is not None:
            stamp = stamps[key] = stamper.file(key, stat)
            known, reason = cache.lookup(key, stamp) if stamp is not None else (False, None)
            if known:
                if reason is not None:  # left alone by a rule last time, and still: -v says so again
                    cached_skips.append((str(path), reason))
                continue
        todo.append(path)
    if todo:
        import goinstrument.driver.process  # noqa: F401 - loaded once here, before the workers fork
    work = partial(_file_work, rewrite=rewrite, output=options.output, verify=options.verify, lines=lines, diff=options.diff)
    written: set[str] = set()  # the directories of the files written
    shown = _InOrder(todo, partial(_show, options.output))

    def write(done: Done) -> Done:
        """Each changed file is written as its result arrives, while the workers go on. A file
        saved meanwhile (by an editor) is processed again, here, once; saved again, it is reported.
        A diff (or -l's name) is printed as soon as its file and all before it are done."""
        if done.write is None:
            return shown(done)
        written.add(os.path.dirname(os.path.abspath(done.path)))
        result = _write(done, roots[done.path])
        if result.problem is not None and result.problem.message == CHANGED:
            result = _write(work(Path(done.path)), roots[done.path])
        return result

    with progress_bar(len(todo), options.progress) as advance:
        dones = batch.run_all(work, todo, options.jobs, lambda path, why: _failed(str(path), why), advance, finish=write)
    summary = Summary(problems=problems, skipped=explicit_skips + cached_skips)
    stamper.after_writes(written)
    for done in dones:
        summary.add(done)
        if cache is not None:
            key = os.path.abspath(done.path)
            stamp = stamps.get(key)
            # Known clean only as it was read: a file saved again while it was processed is not.
            if done.clean is not None and stamp is not None and (done.changed or list(done.clean) == stamp[:2]):
                cache.record(key, [*done.clean, *stamper.blob(key)], done.skipped)
            else:
                cache.forget(key)
    summary.files_seen = len(paths) + len(explicit_skips)  # a file named and skipped was seen too
    if cache is not None:
        cache.save()
    if options.output is Output.WRITE:
        summary.notices += missing_requirements([done.path for done in dones if done.spans_added and done.changed], rewrite)
    return summary


def missing_requirements(files: list[str], rewrite: RewriteOptions) -> list[str]:
    """One line per module that now imports the backend's package but whose go.mod does not
    require it: the command that does (go.mod itself is never edited)."""
    if not files:
        return []
    from goinstrument.backends.protocol import load_backend
    from goinstrument.driver import gomod

    lines = []
    for root, module, path in gomod.missing_requirements(files, tuple(load_backend(rewrite.backend).start_imports)):
        where = os.path.relpath(root)
        go = "go" if where == os.curdir else f"go -C {quote_path(where)}"
        lines.append(f"{module}: go.mod does not require {path}; run: {go} get {path}")
    return lines


def _show(output: Output, done: Done) -> None:
    """What a run that writes nothing prints for one file on stdout: its diff, or its name (-l)."""
    if done.diff:
        write_stdout(done.diff.encode())
    elif output is Output.LIST and done.changed and done.problem is None:
        write_stdout(f"{quote_path(done.path)}\n".encode())


class _InOrder:
    """Each result shown in the items' order, as soon as it and all before it are done: `--diff | head`
    starts at once, and the output is the same however the workers finish."""

    def __init__(self, items: list[Path], show: Callable[[Done], None]) -> None:
        self.places: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            self.places.setdefault(str(item), []).append(i)
        self.show = show
        self.pending: dict[int, Done] = {}
        self.next = 0

    def __call__(self, done: Done) -> Done:
        self.pending[self.places[done.path].pop(0)] = done
        while self.next in self.pending:
            self.show(self.pending.pop(self.next))
            self.next += 1
        return done


class _Stamps:
    """What the cache compares, memoised per directory: a file's mtime and size, its tracer (from
    go.mod), and its package's stamp: how many .go files the directory holds and the newest one's
    mtime, because a file's output depends on what its package's other files declare (an `otel` of
    theirs renames our import), so any change there makes the file's cache entry stale."""

    def __init__(self, rewrite: RewriteOptions) -> None:
        self.rewrite = rewrite
        self.tracers: dict[str, str] = {}
        self.packages: dict[str, list[int]] = {}

    def file(self, full: str, stat: os.stat_result | None) -> list[object] | None:
        """The stamp of the file at `full`, from its stat (None: it could not be stat'd)."""
        if stat is None:
            return None
        return [stat.st_mtime_ns, stat.st_size, *self.blob(full)]

    def blob(self, full: str) -> list[object]:
        """The stamp of the file at `full` but its own mtime and size: its tracer and its package's."""
        directory = os.path.dirname(full)
        if directory not in self.tracers:
            self.tracers[directory] = tracer_for(full, self.rewrite, b"")
        return [self.tracers[directory], *self.package(directory)]

    def staged(self, package: IndexDirectory) -> list[object]:
        """The stamp of a staged blob but its id: its tracer (from the index's go.mod) and its package
        in the index (the blob ids of its .go entries)."""
        from _blake2 import blake2b  # hashlib's, without hashlib loading OpenSSL on the hook's path

        tracer = tracer_for(os.path.join(package.path, "_.go"), self.rewrite, b"", package.module)
        return [tracer, blake2b(repr(package.files).encode(), digest_size=16).hexdigest()]

    def package(self, directory: str) -> list[int]:
        if directory not in self.packages:
            count, newest = 0, 0
            try:
                for entry in os.scandir(directory):
                    if entry.name.endswith(".go"):
                        count += 1
                        newest = max(newest, entry.stat().st_mtime_ns)
            except OSError:
                pass
            self.packages[directory] = [count, newest]
        return self.packages[directory]

    def after_writes(self, directories: Iterable[str]) -> None:
        """Forget the package stamps of the directories this run wrote to: the writes changed them.
        The others stay as they were read, before the files were: a package changed meanwhile
        by someone else then fails its stamp next time, as it should."""
        for directory in directories:
            self.packages.pop(directory, None)


def _file_work(
    path: Path, rewrite: RewriteOptions, output: Output, verify: bool, lines: dict[Path, gitops.LineRanges] | None = None, diff: bool = False
) -> Done:
    """One working-tree file: read, process, and make its diff (in a worker process; writes nothing).
    `diff` with Output.CHECK: the diff of what a plain run would write, with the findings."""
    display = str(path)
    try:
        data = read_source(path)
    except FileError as exc:
        return _failed(display, str(exc))
    from goinstrument.driver.process import process  # loaded before the workers fork (run_files)

    changed_lines = None if lines is None else lines[path]
    outcome = process(Source(display, path, data), rewrite, check=output is Output.CHECK, verify=verify, changed_lines=changed_lines)
    if outcome.problem is not None:
        return _done(outcome)
    if outcome.changed and output is Output.WRITE:
        return _done(outcome, write=(outcome.source, outcome.output))
    patch = None
    if outcome.changed and output is Output.DIFF:
        patch = linediff.patch(display, outcome.source, outcome.output)
    elif outcome.changed and output is Output.CHECK and diff:  # a check does not migrate: the diff is a plain run's
        written = process(Source(display, path, data), rewrite, verify=verify)
        patch = linediff.patch(display, written.source, written.output) if written.problem is None and written.changed else None
    return _done(outcome, diff=patch, clean=None if outcome.changed else _stat(path))


def _write(done: Done, root: str) -> Done:
    """Write a changed file (in the parent): atomically, only below `root`, and only if it still holds what was read."""
    if done.write is None:
        return done
    before, after = done.write
    try:
        replace_atomically(Path(done.path), after, expect=before, within=root)
    except FileError as exc:
        return _failed(done.path, str(exc))
    stat = _stat(Path(done.path))  # what we wrote, unless someone wrote again since
    return done._replace(write=None, clean=stat if stat is not None and stat[1] == len(after) else None)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _write_root(arg: str) -> str:
    """Where a run over the path argument `arg` may write, resolved: the top of the git working
    tree holding it (the nearest directory above it with a `.git`, as git finds it), else the
    named directory (a named file: the directory it is in)."""
    here = os.path.abspath(normalize_argument(arg))
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    probe = here
    while not os.path.lexists(os.path.join(probe, ".git")):
        parent = os.path.dirname(probe)
        if parent == probe:
            return os.path.realpath(here)
        probe = parent
    return os.path.realpath(probe)


class _Resolved:
    """Paths with every link resolved (os.path.realpath), each directory resolved once."""

    def __init__(self) -> None:
        self.directories: dict[str, str] = {}

    def path(self, path: Path) -> str:
        directory, name = os.path.split(os.path.abspath(path))
        if os.path.islink(path):
            return os.path.realpath(path)
        real = self.directories.get(directory)
        if real is None:
            real = self.directories[directory] = os.path.realpath(directory)
        return os.path.join(real, name)


def _relative(path: Path) -> Path:
    """Paths are shown relative to the working directory, as git shows them."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


# --- the staged files (the pre-commit hook) ---------------------------------------------------


def _process_work(item: Source | tuple[Source, Source], rewrite: RewriteOptions, check: bool, verify: bool) -> Outcome | None:
    """A source's outcome; for (blob, copy), None when the copy's is the blob's."""
    from goinstrument.driver.process import process, same_outcome

    if not isinstance(item, Source):  # (blob, copy)
        if same_outcome(item[0], item[1], rewrite):
            return None
        item = item[1]
    return process(item, rewrite, check=check, verify=verify)


def _copy(item: Source | tuple[Source, Source]) -> Source:
    return item if isinstance(item, Source) else item[1]


def run_staged(rewrite: RewriteOptions, options: RunOptions) -> Summary:
    """Instrument each staged .go file in the index, and its working-tree file on its own.

    What is committed decides: the staged blob is processed and, when it changes,
    staged as a new blob with the same mode. The working-tree file is processed on
    its own, so the unstaged hunks of a partially staged file stay out of the index
    and stay in the working tree; a working-tree copy that cannot be processed (it
    does not parse, say) gets a warning and is left as it is, and the commit goes on.
    Only Output.WRITE writes anything; CHECK and DIFF report on the staged content.
    """
    from goinstrument.driver import git as gitops

    index = gitops.StagedIndex(Path.cwd())
    summary = Summary()
    files = []
    for file in index.files():
        if not file.path.endswith(".go") or skip_reason(index.top / file.path, rewrite) is not None:
            continue
        git_filter = index.filter(file)
        if git_filter is None:
            files.append(file)
        else:  # the blob is the filter's output (encrypted, compressed...), not the Go the working tree holds
            summary.add(Outcome(_display(index.top / file.path), skipped=f"git filter '{git_filter}' applies"))
    cache = Cache(rewrite.cache_key()) if options.use_cache else None
    write = options.output is Output.WRITE
    blobs: list[Source] = []
    worktrees: list[tuple[bytes | None, Source | None]] = []  # the working-tree bytes, and a Source when they differ
    stamper = _Stamps(rewrite)
    stamps: list[list[object]] = []
    known: dict[int, Outcome] = {}  # id(blob) -> its outcome, for blobs the cache knows clean
    todo: list[Source | tuple[Source, Source]] = []  # (blob, copy): a working-tree copy holding the blob's bytes
    for file in files:
        place = index.top / file.path
        package = index.package(file)  # the staged blob's package and go.mod are the index's
        blob = Source(_display(place), place, index.blob(file), package)
        blobs.append(blob)
        stamps.append([str(file.id), *stamper.staged(package)])
        clean, reason = cache.lookup(_staged_key(place), stamps[-1]) if cache is not None else (False, None)
        if clean:
            known[id(blob)] = Outcome(blob.path, blob.data, blob.data, skipped=reason)
        else:
            todo.append(blob)
        on_disk = _read_worktree(place, blob.path, summary, os.fspath(index.top)) if write else None
        # A copy holding the blob's bytes has the blob's outcome where its package (on disk) tells
        # the core what the blob's (in the index) does: the worker compares. A blob the cache knows
        # clean is taken as clean in the working tree too.
        copy = None if on_disk is None or (on_disk == blob.data and clean) else Source(blob.path, place, on_disk)
        worktrees.append((on_disk, copy))
        if copy is not None:
            todo.append((blob, copy) if on_disk == blob.data else copy)
    if todo:
        import goinstrument.driver.process  # noqa: F401 - loaded once here, before the workers fork
    work = partial(_process_work, rewrite=rewrite, check=options.output is Output.CHECK, verify=options.verify)
    with progress_bar(len(todo), options.progress) as advance:
        results = batch.run_all(work, todo, options.jobs, lambda item, why: _lost(_copy(item), why), advance)
    outcomes: dict[int, Outcome | None] = {**known, **{id(_copy(item)): outcome for item, outcome in zip(todo, results, strict=True)}}
    records: list[tuple[gitops.StagedFile, Source, list[object], str | None]] = []
    dones: list[tuple[Done, Outcome | None]] = []
    for file, blob, (on_disk, copy), stamp in zip(files, blobs, worktrees, stamps, strict=True):
        staged = outcomes[id(blob)]
        assert staged is not None  # only a copy's outcome may be None
        worktree = None if on_disk is None else staged if copy is None else outcomes[id(copy)] or staged
        done = _apply_staged(staged, worktree, options.output, summary)
        dones.append((done, worktree))
        if done.problem is not None:
            continue
        if write and staged.changed:
            stamp = [str(index.stage(file, staged.output)), stamp[1]]
        records.append((file, blob, stamp[:2], staged.skipped))
    index.write()  # first: where the index cannot be updated (locked), nothing is written
    added: list[str] = []  # the files that got spans: their modules may lack the requirement
    for file, (done, worktree) in zip(files, dones, strict=True):
        if file.path in index.kept:  # someone else's content now, in the index and the working tree
            done = _failed(done.path, "staged again while the hook ran; left as staged: commit again")
        elif done.problem is None and worktree is not None and worktree.problem is None and worktree.changed:
            try:
                replace_atomically(index.top / file.path, worktree.output, expect=worktree.source, within=os.fspath(index.top))
            except FileError as exc:
                done = _failed(done.path, str(exc))
        summary.add(done)
        added += [done.path] if done.spans_added and done.changed else []
    if write:
        summary.notices += missing_requirements(added, rewrite)
    if cache is not None:  # the cache is only used by runs that write
        for file, blob, stamp, skipped in records:  # the packages as the index now holds them
            cache.record(_staged_key(blob.place), [*stamp, *stamper.staged(index.package(file))[1:]], skipped)
        cache.save()
    return summary


def _apply_staged(staged: Outcome, worktree: Outcome | None, output: Output, summary: Summary) -> Done:
    """What a staged file's outcomes mean (the working-tree copy is written by the caller, once the index is)."""
    if staged.problem is not None:  # its line and column are the staged content's, which the working tree may not hold
        staged = staged._replace(problem=staged.problem._replace(message=f"{staged.problem.message} (the staged content)"))
    if staged.problem is not None or output is not Output.WRITE:
        diff = linediff.patch(staged.path, staged.source, staged.output) if output is Output.DIFF and staged.changed else None
        done = _done(staged, diff=diff)
        _show(output, done)
        return done
    if worktree is not None and worktree.problem is not None:
        p = worktree.problem
        summary.warnings.append(Problem(p.path, p.pos, f"the working-tree copy: {p.message} (the staged content is instrumented)"))
    changed = staged.changed or (worktree is not None and worktree.changed)
    counted = staged if staged.changed or worktree is None else worktree
    return Done(
        staged.path, changed, staged.findings, None, staged.skipped, counted.spans_added, counted.spans_removed,
        coverage=staged.coverage, excluded=staged.excluded, notes=staged.notes, spans_updated=counted.spans_updated,
    )


def _lost(source: Source, why: str) -> Outcome:
    return Outcome(source.path, source.data, source.data, problem=Problem(source.path, Position(1, 1), why))


def _staged_key(place: Path) -> str:
    return f"{os.path.abspath(place)}\0staged"


def _read_worktree(full: Path, display: str, summary: Summary, top: str) -> bytes | None:
    """The working-tree bytes, or None when there is none to write: the file is gone (staged,
    then deleted), is now a symbolic link (the hook never writes through a link to wherever it
    points), is reached through a directory that is a link or is read-only (a warning), or cannot
    be read as a regular file (a pipe, a directory, no permission: a warning). `full` is below
    `top`, resolved."""
    if full.is_symlink():
        return None
    real = os.path.realpath(full)
    if real != os.fspath(full):  # a directory on the way is a link
        why = OUTSIDE if not inside(real, top) else "a directory above it is a symbolic link, never written through"
        summary.warnings.append(Problem(display, Position(1, 1), f"the working-tree copy: skipped: {why} (the staged content is instrumented)"))
        return None
    if full.exists() and not writable(full):
        summary.warnings.append(Problem(display, Position(1, 1), f"the working-tree copy: {READ_ONLY} (the staged content is instrumented)"))
        return None
    try:
        return read_source(full)
    except FileError as exc:
        if full.exists():
            summary.warnings.append(Problem(display, Position(1, 1), f"the working-tree copy: {exc} (the staged content is instrumented)"))
        return None


def _display(full: Path) -> str:
    """The path as messages show it: relative to the current directory when below it."""
    try:
        return os.fspath(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return os.fspath(full)


# --- the report ---------------------------------------------------------------------------------


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _closing(summary: Summary, rewrite: RewriteOptions, options: RunOptions) -> str:
    n = len(summary.problems)
    errors = f", {_plural(n, 'file')} left untouched because of errors" if n else ""
    skipped = f", {len(summary.skipped)} skipped" if summary.skipped else ""
    files = _plural(summary.files_seen, "file")
    if options.output is Output.CHECK:
        from goinstrument.report.text import missing_and_stale

        missing, stale = missing_and_stale(summary.findings)
        found = _plural(missing, "function") + " without a span" + (f", {_plural(stale, 'span')} out of date," if stale else "")
        with_findings = len({f.path for f in summary.findings})
        return f"{found} in {with_findings} of {files}{skipped}{errors}"
    diff = options.output in (Output.DIFF, Output.LIST)
    removing = rewrite.action is Action.REMOVE
    spans = _plural(summary.spans_removed if removing else summary.spans_added, "span")
    done = ("to remove" if diff else "removed") if removing else ("to add" if diff else "added")
    if summary.spans_updated and not removing:
        done += f", {_plural(summary.spans_updated, 'span')} {'to update' if diff else 'updated'}"
    return f"{summary.files_changed} of {files} {'would change' if diff else 'changed'}, {spans} {done}{skipped}{errors}"


def _exit_code(summary: Summary, options: RunOptions) -> int:
    if summary.problems or summary.errors:
        return EXIT_ERROR
    if options.output is Output.CHECK and options.fail_under is not None:  # the threshold decides, not each finding
        return EXIT_FINDINGS if summary.total_coverage.below(options.fail_under) else EXIT_OK
    if options.output is Output.CHECK and summary.findings:
        return EXIT_FINDINGS
    if options.output is Output.LIST and summary.files_changed:  # as gofmt -l in CI: something to do
        return EXIT_FINDINGS
    return EXIT_OK


def _finish(summary: Summary, rewrite: RewriteOptions, options: RunOptions) -> int:
    from goinstrument.report.text import coverage_line, mode, report

    report(summary, options, mode(options.output, rewrite.action))
    if summary.errors:  # said by the report, in its format
        return EXIT_ERROR
    for notice in summary.notices:
        say(notice)
    quiet_hook = isinstance(options.source, Staged) and not (summary.files_changed or summary.problems or summary.findings)
    quiet_filter = isinstance(options.source, Stdin) and options.verbosity <= 0  # an editor shows stderr as an error
    if options.verbosity >= 0 and options.format is not Format.JSON and not quiet_hook and not quiet_filter:
        say(_closing(summary, rewrite, options))
        if options.output is Output.CHECK:
            say(coverage_line(summary.total_coverage, len(summary.problems)))
    return _exit_code(summary, options)
