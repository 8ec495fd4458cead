"""One run: the files of the source (paths, changed since a revision, or staged), each through
`process`, the run's one output (write, index update, diff, findings), the report and the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from goinstrument.driver import TREES_MODULE, batch, gomod
from goinstrument.driver.cache import Cache, cache_dir
from goinstrument.driver.discover import go_files, normalize_argument, skip_reason
from goinstrument.driver.fileio import CHANGED, OUTSIDE, READ_ONLY, FileError, inside, read_source, replace_atomically, writable, write_stdout
from goinstrument.driver.gomod import tracer_for
from goinstrument.driver.progress import progress_bar
from goinstrument.engine.options import RewriteOptions
from goinstrument.engine.result import Finding, GitError, IndexDirectory, Outcome, Position, Problem, Source, quote_path
from goinstrument.options import ChangedSince, FromPaths, Output, RunOptions, Staged, Stdin
from goinstrument.report import formats
from goinstrument.report.summary import EXIT_ERROR as EXIT_ERROR  # the report's; cli keeps its own copy
from goinstrument.report.summary import EXIT_OK as EXIT_OK
from goinstrument.report.summary import Summary

if TYPE_CHECKING:
    from goinstrument.driver import git as gitops


def run(rewrite: RewriteOptions, options: RunOptions) -> int:
    """Run as the options say; the exit code."""
    if isinstance(options.source, Stdin):
        from goinstrument.driver.stdin import run_stdin

        _loaded()
        return formats.finish(run_stdin(rewrite, options), rewrite, options, _repository_top)
    try:
        summary = run_staged(rewrite, options) if isinstance(options.source, Staged) else run_files(rewrite, options)
    except GitError as exc:
        summary = Summary(errors=[str(exc)])  # reported in the run's format: an ::error line, a JSON problem...
    return formats.finish(summary, rewrite, options, _repository_top)


def _repository_top(cwd: Path) -> Path:
    from goinstrument.driver import git as gitops

    return gitops.repository_top(cwd)


# --- what one file's outcome did --------------------------------------------------------------


def _failed(path: str, message: str) -> Outcome:
    return Outcome.failed(path, Problem(path, Position(1, 1), message))


def _to_write(outcome: Outcome) -> bool:
    """Whether a worker's outcome still holds bytes the parent is to write (a worker drops them otherwise)."""
    return outcome.output != outcome.source


# --- working-tree files -------------------------------------------------------------------------


def run_files(rewrite: RewriteOptions, options: RunOptions) -> Summary:
    """The files named by paths or changed since a revision; their diffs on stdout with Output.DIFF."""
    problems: list[Problem] = []
    explicit_skips: list[tuple[str, str]] = []
    found, lines = _found(options.source, rewrite, problems, explicit_skips)
    chosen = _Chosen(rewrite, Cache(rewrite.cache_key()) if options.use_cache else None, _says_notes(options))
    for path, root in found:
        if not chosen.take(path, root):
            explicit_skips.append((str(path), OUTSIDE))
    if chosen.todo:
        _load_process(options)
    work = partial(_file_work, rewrite=rewrite, output=options.output, verify=options.verify, lines=lines, diff=options.diff)
    writer = _Writer(work, chosen.roots, _InOrder(chosen.todo, partial(_show, options.output)))
    with progress_bar(len(chosen.todo), options.progress) as advance:
        outcomes = batch.run_all(
            work, chosen.todo, options.jobs, lambda path, why: _failed(str(path), why), advance, writer, partial(_weigh_file, {})
        )
    summary = Summary(problems=problems, skipped=explicit_skips + chosen.cached_skips)
    for excluded, notes in chosen.told:
        summary.excluded.extend(excluded)
        summary.notes.extend(n for n in notes if n not in summary.notes)
    chosen.stamper.after_writes(writer.written)
    rewritten = {o.path for o in outcomes if o.changed}  # a note of their package's at a line of theirs moved
    for outcome in outcomes:
        summary.add(outcome)
        chosen.remember(outcome, rewritten)
    summary.files_seen = len(chosen.paths) + len(explicit_skips)  # a file named and skipped was seen too
    if chosen.cache is not None:
        chosen.cache.save()
    if options.output is Output.WRITE:
        summary.notices += missing_requirements([o.path for o in outcomes if o.spans_added and o.changed], rewrite)
    return summary


def _loaded() -> None:
    """The run's modules are loaded: the collector, off since start-up (goinstrument.main), on
    again, and what is loaded frozen: never collected, so never walked again (nor copied by a
    forked worker's collection). A caller that left it on (a test calling cli.main) keeps all as it was."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _load_process(options: RunOptions) -> None:
    """Load process.py once, before the workers fork; with the run's cache, the package facts of each
    file are kept there too (package_scope.keep_facts)."""
    import goinstrument.driver.process  # noqa: F401
    from goinstrument.driver import package_scope

    _loaded()
    package_scope.keep_facts(str(cache_dir() / "facts") if options.keep_facts else None)


def _patch(display: str, outcome: Outcome) -> str:
    """The file's patch (--diff): report.linediff is loaded here, so that no other run loads it."""
    from goinstrument.report.linediff import file_patch

    return file_patch(display, outcome.source, outcome.output)


def _weigh_file(packages: dict[str, int], path: Path) -> tuple[str, int, int]:
    """A file's package (its directory), its bytes and its package's (memoised in `packages`):
    how a small batch is shared among processes."""
    directory = os.fspath(path.parent)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return directory, size, _package_bytes(packages, directory)


def _package_bytes(packages: dict[str, int], directory: str) -> int:
    """The bytes of the package's .go files but its tests."""
    if directory not in packages:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            entries = []
        packages[directory] = 0
        for entry in entries:
            if entry.name.endswith(".go") and not entry.name.endswith("_test.go"):
                try:
                    packages[directory] += entry.stat().st_size
                except OSError:  # gone since the listing
                    continue
    return packages[directory]


def _found(
    source: object, rewrite: RewriteOptions, problems: list[Problem], explicit_skips: list[tuple[str, str]]
) -> tuple[Iterable[tuple[Path, str]], dict[Path, gitops.LineRanges] | None]:
    """Each file of the run's source, and the resolved directory it may be written in; with
    --new-from-rev, the lines changed in each. Files named and skipped go to `explicit_skips`."""
    if isinstance(source, FromPaths):
        found = ((path, root) for arg in source.paths for root in [_write_root(arg)] for path in go_files([arg], rewrite, problems, explicit_skips))
        return found, None
    if not isinstance(source, ChangedSince):
        raise TypeError(source)
    from goinstrument.driver import git as gitops

    named = [Path(normalize_argument(p)) for p in source.paths]  # `./...` as the go command means it
    lines = None
    if source.new_code_only:
        lines = {_relative(p): ranges for p, ranges in gitops.changed_go_lines(Path.cwd(), source.rev, named).items()}
        changed = list(lines)
    else:
        changed = gitops.changed_go_files(Path.cwd(), source.rev, named)
    top = os.fspath(gitops.worktree_top(Path.cwd()))
    return [(_relative(p), top) for p in changed if skip_reason(p, rewrite) is None], lines


def _says_notes(options: RunOptions) -> bool:
    """Whether the run's report shows exclusions and notes (-v, and every format but text's)."""
    return options.verbosity > 0 or options.format != "text"


class _Chosen:
    """The files a run processes: each once, inside its root, and not known clean by the cache."""

    def __init__(self, rewrite: RewriteOptions, cache: Cache | None, says_notes: bool = False) -> None:
        self.cache = cache
        self.says_notes = says_notes  # -v or a machine format: what the cache cannot say again is found again
        self.stamper = _Stamps(rewrite)
        self.paths: list[Path] = []  # every file of the run
        self.todo: list[Path] = []  # those to process
        self.stamps: dict[str, list[object] | None] = {}
        self.cached_skips: list[tuple[str, str]] = []
        self.roots: dict[str, str] = {}  # each path's root, for the writer
        self.seen: set[tuple[int, int]] = set()
        self.resolved = _Resolved()
        self.told: list[tuple[tuple[Finding, ...], tuple[Problem, ...]]] = []  # the cache's, of the files it knows

    def take(self, path: Path, root: str) -> bool:
        """Count `path` in; False when it lies outside `root` (through a link)."""
        if not inside(self.resolved.path(path), root):
            return False
        try:
            stat: os.stat_result | None = os.stat(path)
        except OSError:
            stat = None  # the worker reports it
        if stat is not None:
            # One file reached twice (a/x.go and ./x.go, a link to it) is processed once, under its first name.
            if (stat.st_dev, stat.st_ino) in self.seen:
                return True
            self.seen.add((stat.st_dev, stat.st_ino))
        self.paths.append(path)
        self.roots[str(path)] = root
        if not self._known(path, stat):
            self.todo.append(path)
        return True

    def _known(self, path: Path, stat: os.stat_result | None) -> bool:
        """Whether the cache knows the file as it is now: clean, or left alone by a rule (which -v says again)."""
        if self.cache is None:
            return False
        key = os.path.abspath(path)
        stamp = self.stamps[key] = self.stamper.file(key, stat)
        known, reason = self.cache.lookup(key, stamp) if stamp is not None else (False, None)
        if known:
            told = self.cache.told(key, str(path))  # what -v said of the file's functions
            if told is None and self.says_notes:  # not known for the file as it is now
                return False
            if reason is not None:  # left alone by a rule last time, and still: -v says so again
                self.cached_skips.append((str(path), reason))
            self.told.append(told or ((), ()))
        return known

    def remember(self, outcome: Outcome, rewritten: Collection[str] = ()) -> None:
        """Record a processed file in the cache, or forget it. Known clean only as it was read: a
        file saved again while it was processed is not."""
        if self.cache is None:
            return
        key = os.path.abspath(outcome.path)
        stamp = self.stamps.get(key)
        if outcome.clean is not None and stamp is not None and (outcome.changed or list(outcome.clean) == stamp[:2]):
            moved = outcome.changed or any(n.path in rewritten for n in outcome.notes)
            self.cache.record(key, [*outcome.clean, *self.stamper.blob(key)], outcome.skipped, outcome.excluded, outcome.notes, moved)
        else:
            self.cache.forget(key)


class _Writer:
    """Each changed file is written as its outcome arrives, while the workers go on. A file
    saved meanwhile (by an editor) is processed again, here, once; saved again, it is reported.
    A diff (or -l's name) is printed as soon as its file and all before it are done."""

    def __init__(self, work: Callable[[Path], Outcome], roots: dict[str, str], shown: _InOrder) -> None:
        self.work, self.roots, self.shown = work, roots, shown
        self.written: set[str] = set()  # the directories of the files written

    def __call__(self, outcome: Outcome) -> Outcome:
        if not _to_write(outcome):
            return self.shown(outcome)
        self.written.add(os.path.dirname(os.path.abspath(outcome.path)))
        result = _write(outcome, self.roots[outcome.path])
        if result.problem is not None and result.problem.message == CHANGED:
            result = _write(self.work(Path(outcome.path)), self.roots[outcome.path])
        return result


def missing_requirements(files: list[str], rewrite: RewriteOptions, outputs: dict[str, bytes] | None = None) -> list[str]:
    """One line per module that now imports a package of the backend's whose module its go.mod
    does not require directly: the command that does (go.mod itself is never edited). `outputs`:
    the files' bytes where the disk does not hold them (gomod.missing_requirements)."""
    if not files:
        return []
    from goinstrument.backends.loader import load_backend

    backend = load_backend(rewrite.backend)
    added = (*backend.server_imports, *backend.start_attribute_imports, *backend.error_imports, *backend.attribute_imports, *backend.route_imports)
    others = tuple(dict.fromkeys(path for path in added if "." in path.partition("/")[0]))  # not the standard library's
    lines = []
    for root, module, path, how in gomod.missing_requirements(files, tuple(backend.start_imports), others, tuple(backend.modules), outputs):
        where = os.path.relpath(root)
        go = "go" if where == os.curdir else f"go -C {quote_path(where)}"
        if how == gomod.INDIRECT:  # `go get` would leave it so: tidy makes a requirement the code imports direct
            lines.append(f"{module}: go.mod requires {path} only as indirect; run: {go} mod tidy")
        elif how == gomod.IMPLIED:  # tidy lists it at the version the build has: a `go get` would upgrade it all
            lines.append(f"{module}: go.mod does not require {path}; run: {go} mod tidy")
        else:
            # tidy too: `go get` of the module leaves it `// indirect` (Go 1.26 as before), and the next
            # run would ask for tidy (a cold trial met the second hint after following the first)
            lines.append(f"{module}: go.mod does not require {path}; run: {go} get {path} && {go} mod tidy")
    return lines


def _show(output: Output, outcome: Outcome) -> None:
    """What a run that writes nothing prints for one file on stdout: its diff, or its name (-l)."""
    if outcome.diff:
        write_stdout(outcome.diff.encode())
    elif output is Output.LIST and outcome.changed and outcome.problem is None:
        write_stdout(f"{quote_path(outcome.path)}\n".encode())


class _InOrder:
    """Each result shown in the items' order, as soon as it and all before it are done: `--diff | head`
    starts at once, and the output is the same however the workers finish."""

    def __init__(self, items: list[Path], show: Callable[[Outcome], None]) -> None:
        self.places: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            self.places.setdefault(str(item), []).append(i)
        self.show = show
        self.pending: dict[int, Outcome] = {}
        self.next = 0

    def __call__(self, outcome: Outcome) -> Outcome:
        self.pending[self.places[outcome.path].pop(0)] = outcome
        while self.next in self.pending:
            self.show(self.pending.pop(self.next))
            self.next += 1
        return outcome


class _Stamps:
    """What the cache compares, memoised per directory: a file's mtime and size, its tracer (from
    go.mod; with --http-handlers its go line too, which decides a handler's route block), and its
    package's stamp: how many .go files the directory holds and the newest one's mtime, because a
    file's output depends on what its package's other files declare (an `otel` of theirs renames
    our import), so any change there makes the file's cache entry stale."""

    def __init__(self, rewrite: RewriteOptions) -> None:
        self.rewrite = rewrite
        self.tracers: dict[str, list[object]] = {}
        self.packages: dict[str, list[int]] = {}
        self.packages_staged: dict[int, tuple[IndexDirectory, list[object]]] = {}  # id -> (the package, its stamp)

    def file(self, full: str, stat: os.stat_result | None) -> list[object] | None:
        """The stamp of the file at `full`, from its stat (None: it could not be stat'd)."""
        if stat is None:
            return None
        return [stat.st_mtime_ns, stat.st_size, *self.blob(full)]

    def blob(self, full: str) -> list[object]:
        """The stamp of the file at `full` but its own mtime and size: its tracer and its package's."""
        directory = os.path.dirname(full)
        if directory not in self.tracers:
            self.tracers[directory] = [tracer_for(full, self.rewrite, b""), *self.go_line(full)]
        return [*self.tracers[directory], *self.package(directory)]

    def go_line(self, place: str, module: gomod.Module = gomod.ON_DISK) -> list[object]:
        """The module's go version where it decides the output (--http-handlers), else nothing."""
        if not self.rewrite.http_handlers:
            return []
        version = gomod.go_version_of(place, module)
        return [list(version) if version is not None else None]

    def staged(self, package: IndexDirectory) -> list[object]:
        """The stamp of a staged blob but its id: its tracer (from the index's go.mod) and its package
        in the index (the blob ids of its .go entries)."""
        from _blake2 import blake2b  # hashlib's, without hashlib loading OpenSSL on the hook's path

        known = self.packages_staged.get(id(package))
        if known is not None and known[0] is package:  # the package's files hashed once, not once per file of it
            return known[1]
        place = os.path.join(package.path, "_.go")
        tracer = tracer_for(place, self.rewrite, b"", package.module)
        stamp = [tracer, *self.go_line(place, package.module), blake2b(repr(package.files).encode(), digest_size=16).hexdigest()]
        self.packages_staged[id(package)] = (package, stamp)
        return stamp

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
) -> Outcome:
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
        return outcome.light()
    if outcome.changed and output is Output.WRITE:
        return outcome  # with its bytes: the parent writes them
    patch = None
    if outcome.changed and output is Output.DIFF:
        patch = _patch(display, outcome)
    elif outcome.changed and output is Output.CHECK and diff:  # a check does not migrate: the diff is a plain run's
        written = process(Source(display, path, data), rewrite, verify=verify)
        patch = _patch(display, written) if written.problem is None and written.changed else None
    return outcome.light(diff=patch, clean=None if outcome.changed else _stat(path))


def _write(outcome: Outcome, root: str) -> Outcome:
    """Write a changed file (in the parent): atomically, only below `root`, and only if it still holds what was read."""
    if not _to_write(outcome):
        return outcome
    try:
        replace_atomically(Path(outcome.path), outcome.output, expect=outcome.source, within=root)
    except FileError as exc:
        return _failed(outcome.path, str(exc))
    stat = _stat(Path(outcome.path))  # what we wrote, unless someone wrote again since
    return outcome.light(clean=stat if stat is not None and stat[1] == len(outcome.output) else None)


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


# What a function taking a context costs the engine (its span planned, made and checked), in bytes
# of Go parsed: ~0.85 ms against ~0.4 ms a KB (40 such functions in 9 KB: 37 ms, 4 without contexts).
CONTEXT_BYTES = 2048
# What readying the index for its update (_Readied: the index copied, three git commands started)
# costs the run's process amid a staged batch, in the same bytes: ~10 ms. A forked batch deals this
# process that much less (before, the child it forked idled ~10-30 ms of a 5-file commit at the end).
READYING_BYTES = 24 * 1024


def _weigh_work(packages: dict[str, int], item: Source | tuple[Source, Source]) -> tuple[str, int, int]:
    """As _weigh_file, each `context.Context` the bytes (at hand) spell weighing CONTEXT_BYTES more;
    a copy holding its blob's bytes weighs nothing (its outcome is compared, not worked out)."""
    copy = _copy(item)
    directory = os.fspath(copy.place.parent)
    size = len(copy.data) + CONTEXT_BYTES * copy.data.count(b"context.Context") if isinstance(item, Source) else 0
    return directory, size, _package_bytes(packages, directory)


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
    try:
        return _staged(index, rewrite, options)
    finally:  # the git commands it started end with the run, however it ends
        index.close()


def _staged(index: gitops.StagedIndex, rewrite: RewriteOptions, options: RunOptions) -> Summary:
    summary = Summary()
    files = []
    for file in index.files():
        if not file.path.endswith(".go") or skip_reason(index.top / file.path, rewrite) is not None:
            continue
        git_filter = index.filter(file)
        if git_filter is None:
            files.append(file)
        else:  # the blob is the filter's output (encrypted, compressed...), not the Go the working tree holds
            summary.add(Outcome.skip(_display(index.top / file.path), f"git filter '{git_filter}' applies"))
    cache = Cache(rewrite.cache_key()) if options.use_cache else None
    write = options.output is Output.WRITE
    blobs: list[Source] = []
    worktrees: list[tuple[bytes | None, Source | None]] = []  # the working-tree bytes, and a Source when they differ
    stamper = _Stamps(rewrite)
    stamps: list[list[object]] = []
    known: dict[int, Outcome] = {}  # id(blob) -> its outcome, for blobs the cache knows clean
    todo: list[Source | tuple[Source, Source]] = []  # (blob, copy): a working-tree copy holding the blob's bytes
    for file, data in zip(files, index.blobs(files), strict=True):
        place = index.top / file.path
        package = index.package(file)  # the staged blob's package and go.mod are the index's
        blob = Source(_display(place), place, data, package)
        blobs.append(blob)
        stamps.append([str(file.id), *stamper.staged(package)])
        clean, reason = cache.lookup(_staged_key(place), stamps[-1]) if cache is not None else (False, None)
        told = cache.told(_staged_key(place), blob.path) if cache is not None and clean else ((), ())
        clean = clean and (told is not None or not _says_notes(options))  # said afresh of a rewritten blob
        if clean:
            excluded, notes = told or ((), ())
            outcome = Outcome.done(blob.path, blob.data) if reason is None else Outcome.skip(blob.path, reason, blob.data)
            known[id(blob)] = outcome._replace(excluded=excluded, notes=notes)
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
        _load_process(options)
    work = partial(_process_work, rewrite=rewrite, check=options.output is Output.CHECK, verify=options.verify)
    # The blobs the cache does not know clean may be staged again: git is readied for it meanwhile.
    readied = _Readied(index, [file for file, blob in zip(files, blobs, strict=True) if id(blob) not in known]) if write else None
    with progress_bar(len(todo), options.progress) as advance:
        results = batch.run_all(
            work,
            todo,
            options.jobs,
            lambda item, why: _lost(_copy(item), why),
            advance,
            readied,
            partial(_weigh_work, {}),
            READYING_BYTES if readied is not None and readied.files else 0,
        )
    outcomes: dict[int, Outcome | None] = {**known, **{id(_copy(item)): outcome for item, outcome in zip(todo, results, strict=True)}}
    records: list[tuple[gitops.StagedFile, Source, list[object], Outcome]] = []
    dones: list[tuple[Outcome, Outcome | None, bytes]] = []  # (the file's, its working-tree copy's, the staged output)
    kept = sys.modules.get(TREES_MODULE)  # a server's child alone keeps trees
    for file, blob, (on_disk, copy), stamp in zip(files, blobs, worktrees, stamps, strict=True):
        staged = outcomes[id(blob)]
        assert staged is not None  # only a copy's outcome may be None
        worktree = None if on_disk is None else staged if copy is None else outcomes[id(copy)] or staged
        done = _apply_staged(staged, worktree, options.output, summary)
        dones.append((done, worktree, staged.output))
        if kept is not None and staged.kind is None and (staged.changed or staged.coverage.functions):  # parsed: the next run may parse from it
            kept.note(os.fspath(blob.place), blob.data, staged.output)
        if done.problem is not None:
            continue
        if write and staged.changed:
            stamp = [str(index.stage(file, staged.output)), stamp[1]]
        records.append((file, blob, stamp[:2], staged))
    index.write()  # first: where the index cannot be updated (locked), nothing is written
    added: list[str] = []  # the files that got spans: their modules may lack the requirement
    outputs: dict[str, bytes] = {}  # their staged bytes, which the working tree may not hold
    for file, (done, worktree, staged_output) in zip(files, dones, strict=True):
        if file.path in index.kept:  # someone else's content now, in the index and the working tree
            done = _failed(done.path, "staged again while the hook ran; left as staged: commit again")
        elif done.problem is None and worktree is not None and worktree.problem is None and worktree.changed:
            try:
                replace_atomically(index.top / file.path, worktree.output, expect=worktree.source, within=os.fspath(index.top))
            except FileError as exc:
                done = _failed(done.path, str(exc))
        summary.add(done)
        if done.spans_added and done.changed:
            added.append(done.path)
            outputs[done.path] = staged_output
    if write:
        summary.notices += missing_requirements(added, rewrite, outputs)
    if cache is not None:  # the cache is only used by runs that write
        rewritten = {staged.path for _, _, _, staged in records if staged.changed}
        for file, blob, stamp, staged in records:  # the packages as the index now holds them
            moved = staged.changed or any(n.path in rewritten for n in staged.notes)  # what -v said is at lines since moved
            cache.record(
                _staged_key(blob.place), [*stamp, *stamper.staged(index.package(file))[1:]], staged.skipped, staged.excluded, staged.notes, moved
            )
        cache.save()
    return summary


class _Readied:
    """run_all's `finish`: the index readied for its update (StagedIndex.prepare) as the first
    outcome that changes its file arrives, so that git's part starts beside the rest of the work;
    a run that changes nothing (a commit of code instrumented already) starts none of it."""

    def __init__(self, index: gitops.StagedIndex, files: list[gitops.StagedFile]) -> None:
        self.index, self.files = index, files

    def __call__(self, outcome: Outcome | None) -> Outcome | None:
        if self.files and outcome is not None and outcome.changed:
            self.index.prepare(self.files)
            self.files = []
        return outcome


def _apply_staged(staged: Outcome, worktree: Outcome | None, output: Output, summary: Summary) -> Outcome:
    """What a staged file's outcomes mean (the working-tree copy is written by the caller, once the index is)."""
    if staged.problem is not None:  # its line and column are the staged content's, which the working tree may not hold
        staged = staged._replace(problem=staged.problem._replace(message=f"{staged.problem.message} (the staged content)"))
    if staged.problem is not None or output is not Output.WRITE:
        diff = _patch(staged.path, staged) if output is Output.DIFF and staged.changed else None
        outcome = staged.light(diff=diff)
        _show(output, outcome)
        return outcome
    if worktree is not None and worktree.problem is not None:
        p = worktree.problem
        summary.warnings.append(Problem(p.path, p.pos, f"the working-tree copy: {p.message} (the staged content is instrumented)"))
    # The file changed where its blob or its working-tree copy did; the spans counted are the blob's, or the copy's.
    counted = staged if staged.changed or worktree is None else worktree
    return staged.light()._replace(
        changed=staged.changed or (worktree is not None and worktree.changed),
        spans_added=counted.spans_added, spans_removed=counted.spans_removed, spans_updated=counted.spans_updated,
    )  # fmt: skip


def _lost(source: Source, why: str) -> Outcome:
    return Outcome.failed(source.path, Problem(source.path, Position(1, 1), why), source.data)


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
