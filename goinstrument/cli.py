"""The command line: flags to one Settings value, then the run, the report and the exit code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from goinstrument import __version__
from goinstrument.result import Summary
from goinstrument.settings import ATTRIBUTE_KINDS, Action, Format, Mode, Settings

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="goinstrument",
        description="Add OpenTelemetry spans to every Go function that takes a context.Context.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help='files or directories (recursive; "./..." works too); default "."')
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; list functions without a span; exit 1 if any")
    mode.add_argument("--diff", action="store_true", help="write nothing; print a unified diff")
    p.add_argument("--changed-since", metavar="REV", help="only .go files changed since merge-base(REV, HEAD), plus uncommitted and untracked ones")
    p.add_argument("--staged", action="store_true", help="git-hook mode: instrument staged files in the index and in the working tree")
    p.add_argument("--install-hook", action="store_true", help="write a git pre-commit hook running goinstrument --staged")
    p.add_argument("--force", action="store_true", help="with --install-hook: replace a hook goinstrument did not write")
    p.add_argument("--format", choices=[f.value for f in Format], default="text", help="how findings and errors are printed")
    p.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes; default: number of CPUs")
    p.add_argument("--no-cache", action="store_true", help="do not skip files left clean by an earlier run")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.add_argument("--version", action="version", version=f"goinstrument {__version__}")
    # Settings that .goinstrument.toml may hold too; a flag given here wins (default None: not given).
    s = p.add_argument_group("settings (also in .goinstrument.toml; flags win)")
    s.add_argument("--tracer", "--app", dest="tracer", metavar="NAME", help="tracer name; default: the package import path from go.mod")
    s.add_argument("--remove", dest="action", action="store_const", const=Action.REMOVE, help="strip the spans goinstrument or go-instrument added")
    s.add_argument("--backend", metavar="NAME", help='"otel" (default), "datadog", or your own as module:attribute')
    s.add_argument("--span-name", metavar="TEMPLATE", help="span name template: {name} (default), {func}, {type}, {package}, {path}")
    s.add_argument("--all", dest="all_functions", action=argparse.BooleanOptionalAction, help="--no-all: instrument only the functions named by //instrument:include")
    s.add_argument("--tests", dest="include_tests", action=argparse.BooleanOptionalAction, help="also instrument _test.go files")
    s.add_argument("--generated", dest="include_generated", action=argparse.BooleanOptionalAction, help="also instrument generated files")
    s.add_argument("--literals", dest="literals", action=argparse.BooleanOptionalAction, help="--no-literals: leave function literals alone")
    s.add_argument("--name-results", dest="name_results", action=argparse.BooleanOptionalAction, help="--no-name-results: never name an unnamed error result (no error block for those)")
    s.add_argument("--attributes", type=_attribute_set, metavar="LIST", help="comma-separated: args, results, code")
    s.add_argument("--min-statements", type=int, metavar="N", help="leave functions with fewer than N top-level statements alone")
    s.add_argument("--line-directives", dest="line_directives", action=argparse.BooleanOptionalAction, help="emit //line directives so stack traces keep the original line numbers")
    s.add_argument("--exclude", dest="exclude_paths", action="append", metavar="GLOB", help="leave paths matching GLOB alone (repeatable)")
    return p


def _attribute_set(value: str) -> frozenset[str]:
    kinds = frozenset(v.strip() for v in value.split(",") if v.strip())
    unknown = kinds - set(ATTRIBUTE_KINDS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown attribute kind {sorted(unknown)[0]!r} (known: {', '.join(ATTRIBUTE_KINDS)})")
    return kinds


SETTING_FLAGS = (
    "tracer", "action", "backend", "span_name", "all_functions", "include_tests", "include_generated",
    "literals", "name_results", "attributes", "min_statements", "line_directives", "exclude_paths",
)


def settings_from(args: argparse.Namespace, configured: dict | None = None) -> Settings:
    """Flags over the configuration file over the defaults."""
    mode = Mode.CHECK if args.check else Mode.DIFF if args.diff else Mode.WRITE
    values = dict(configured or {})
    values.update({name: getattr(args, name) for name in SETTING_FLAGS if getattr(args, name) is not None})
    if isinstance(values.get("exclude_paths"), list):
        values["exclude_paths"] = tuple(values["exclude_paths"])
    return Settings(
        mode=mode,
        format=Format(args.format),
        jobs=max(0, args.jobs),
        use_cache=not args.no_cache and mode is Mode.WRITE,
        **values,
    )


def _exit_code(summary: Summary, settings: Settings) -> int:
    if summary.problems:
        return EXIT_ERROR
    if settings.mode is Mode.CHECK and summary.findings:
        return EXIT_FINDINGS
    return EXIT_OK


def _say(message: str) -> None:
    print(f"goinstrument: {message}", file=sys.stderr)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _closing(summary: Summary, settings: Settings) -> str:
    n = len(summary.problems)
    errors = f", {_count(n, 'file')} left untouched because of errors" if n else ""
    files = _count(summary.files_seen, "file")
    if settings.mode is Mode.CHECK:
        return f"{_count(len(summary.findings), 'function')} without a span in {files}{errors}"
    verb = "would change" if settings.mode is Mode.DIFF else "changed"
    spans = (
        f"{_count(summary.spans_removed, 'span')} removed"
        if settings.action is Action.REMOVE
        else f"{_count(summary.spans_added, 'span')} added"
    )
    return f"{summary.files_changed} of {files} {verb}, {spans}{errors}"


def main(argv: list[str] | None = None) -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # deeply nested Go expressions
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 0:
        parser.error("--jobs must be 0 or more")
    if args.min_statements is not None and args.min_statements < 0:
        parser.error("--min-statements must be 0 or more")
    if args.action is Action.REMOVE and (args.check or args.staged or args.install_hook):
        parser.error("--remove goes with a plain run or --diff, not --check, --staged or --install-hook")
    if args.format == "json" and args.diff:
        parser.error("--diff prints a patch; --format json goes with a plain run or --check")
    if args.force and not args.install_hook:
        parser.error("--force goes with --install-hook")
    from goinstrument import config

    if args.span_name is not None:
        try:
            config.check_span_name("--span-name", args.span_name)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        configured = config.load(Path.cwd())
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    settings = settings_from(args, configured)
    from goinstrument.backend import BackendError, load_backend

    try:
        backend = load_backend(settings.backend)
    except BackendError as exc:
        _say(str(exc))
        return EXIT_ERROR
    from goinstrument.shape import unsupported

    if (message := unsupported(settings.backend, backend, settings.attributes)) is not None:
        _say(message)
        return EXIT_ERROR
    if args.install_hook:
        from goinstrument import gitops, hook

        try:
            _say(hook.install_hook(Path.cwd(), force=args.force))
        except gitops.GitError as exc:
            _say(str(exc))
            return EXIT_ERROR
        return EXIT_OK
    if args.staged:
        return _staged(args, settings)
    return _paths(args, settings)


def _staged(args: argparse.Namespace, settings: Settings) -> int:
    from goinstrument import gitops
    from goinstrument.discover import skip_reason
    from goinstrument.pipeline import rewrite_source

    if args.paths or args.changed_since:
        _say("--staged takes no PATH and no --changed-since")
        return EXIT_ERROR
    try:
        top = gitops.worktree_top(Path.cwd())  # run_staged asks about paths relative to it
        summary = gitops.run_staged(
            Path.cwd(), settings, lambda p, s: rewrite_source(p, s, settings), lambda p: skip_reason(top / p, settings)
        )
    except gitops.GitError as exc:
        _say(str(exc))
        return EXIT_ERROR
    return _finish(summary, settings, args.quiet)


def _paths(args: argparse.Namespace, settings: Settings) -> int:
    from goinstrument.discover import go_files, skip_reason
    from goinstrument.runner import run

    problems = []
    if args.changed_since:
        from goinstrument import gitops

        try:
            changed = gitops.changed_go_files(Path.cwd(), args.changed_since, [Path(p) for p in args.paths])
        except gitops.GitError as exc:
            _say(str(exc))
            return EXIT_ERROR
        files = [_relative(p) for p in changed if skip_reason(p, settings) is None]
    else:
        files = list(dict.fromkeys(go_files(args.paths or ["."], settings, problems)))
    summary, outcomes = run(files, settings)
    summary.problems[:0] = problems
    if settings.mode is Mode.DIFF:
        for outcome in outcomes:
            if outcome.diff:
                sys.stdout.write(outcome.diff)
    return _finish(summary, settings, args.quiet)


def _relative(path: Path) -> Path:
    """Paths are shown relative to the working directory, as git shows them."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


def _finish(summary: Summary, settings: Settings, quiet: bool) -> int:
    from goinstrument.report import report

    report(summary, settings.format, settings.mode is Mode.CHECK)
    if not quiet and settings.format is not Format.JSON:
        _say(_closing(summary, settings))
    return _exit_code(summary, settings)
