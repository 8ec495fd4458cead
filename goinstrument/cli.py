"""The command line: flags and `.goinstrument.toml` to one Invocation, then the run and its exit code.

`build` is the one place where options are made and checked: the flags come
from the settings table in `options`, the file's values sit under them, and
every combination that makes no sense is a usage error (exit 2) before any
file is touched.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from goinstrument import __version__

# Not `typing.TYPE_CHECKING`: `--version` does not import typing (mypy reads this name alike).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any, NoReturn

    from goinstrument.engine.options import RewriteOptions
    from goinstrument.options import InstallHook, Invocation, Source
    from goinstrument.report.formats import OutputFormat

# What a run imports is what it uses (a hook's run is mostly start-up): `--version` imports
# nothing more, argparse is loaded only for an argv the fast path below does not take, and the
# options, the run and git come with the run that needs them.
EXIT_OK, EXIT_ERROR = 0, 2  # as run.EXIT_OK and run.EXIT_ERROR (tests/test_startup.py checks)

EPILOG = """\
examples:
  goinstrument ./...                               instrument every package below here
  goinstrument --diff ./...                        show what would change, write nothing
  goinstrument -l ./...                            list the files a run would change, write nothing
  goinstrument --check --changed-since main        CI: fail on functions changed since main that lack a span
  goinstrument --check --fail-under 80 ./...       CI: list what lacks a span, fail only below 80% coverage
  goinstrument --check --format sarif > spans.sarif  findings for GitHub code scanning
  goinstrument --remove ./...                      take the spans out again
  goinstrument --install-hook                      add spans to what you commit (git pre-commit hook)
  goinstrument - --stdin-filename pkg/a.go < a.go  an editor's filter: source on stdin, the result on stdout

a backend of your own named in .goinstrument.toml runs only when you name it too:
  --backend module:attribute, or GOINSTRUMENT_TRUST_BACKEND=module:attribute (comma-separated)

exit status:
  0  success (files may have been rewritten)
  1  --check found functions without a span (with --fail-under: coverage is below PCT);
     -l: a file would change
  2  a usage error, a git error, a crash (GOINSTRUMENT_TRACEBACK=1 shows its traceback),
     or a file that could not be processed (the others still were)
"""


STDIN = "-"  # the path argument that means: the source on stdin, the result on stdout


class UsageError(Exception):
    """Options that cannot go together or cannot be used; the message is for the user."""


def parser() -> argparse.ArgumentParser:
    import argparse

    from goinstrument.report.formats import DEFAULT, FORMATS
    from goinstrument.settings import settings

    class _Parser(argparse.ArgumentParser):
        """argparse's own errors (an unknown flag, a bad value) are usage errors like ours: one line, no usage block."""

        def error(self, message: str) -> NoReturn:
            raise UsageError(message)

    p = _Parser(
        prog="goinstrument",
        description="Add OpenTelemetry spans to every Go function that takes a context.Context.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help='files or directories (recursive; "./..." works too); default "."; "-": the source on stdin, the result on stdout',
    )
    p.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with -: the file's name, for its tracer (go.mod), the skip rules, .goinstrument.toml and messages",
    )
    p.add_argument("--check", action="store_true", help="write nothing; list functions without a span; exit 1 if any")
    p.add_argument("--diff", action="store_true", help="write nothing; print a unified diff (with --check: the findings go to stderr)")
    p.add_argument(
        "-l", "--list", action="store_true", dest="list", help="write nothing; print the name of each file a run would change; exit 1 if any"
    )
    p.add_argument("--remove", action="store_true", help="strip the spans goinstrument or go-instrument added")
    p.add_argument("--changed-since", metavar="REV", help="only .go files changed since merge-base(REV, HEAD), plus uncommitted and untracked ones")
    p.add_argument(
        "--new-from-rev",
        metavar="REV",
        help="with --check: only functions with a line changed since merge-base(REV, HEAD) (working tree included) are reported and counted",
    )
    p.add_argument("--staged", action="store_true", help="git-hook mode: instrument staged files in the index and in the working tree")
    p.add_argument(
        "--install-hook",
        action="store_true",
        help="write git pre-commit and pre-merge-commit hooks running goinstrument --staged, and do nothing else",
    )
    p.add_argument("--force", action="store_true", help="with --install-hook: keep a hook goinstrument did not write and run it after goinstrument's")
    p.add_argument("--format", choices=list(FORMATS), default=DEFAULT, help="how findings and errors are printed (sarif: with --check)")
    p.add_argument("--coverage", action="store_true", help="also print coverage per package (implies --check)")
    p.add_argument("--fail-under", type=_percent, metavar="PCT", help="exit 1 only when coverage is below PCT percent (implies --check)")
    p.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes; default: number of CPUs")
    p.add_argument("--no-cache", action="store_true", help="do not skip files left clean by an earlier run, nor keep each file's package facts")
    p.add_argument("--fast", action="store_true", help="skip the stability check before each write (a second run changes nothing)")
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    loud.add_argument("-v", "--verbose", action="store_true", help="also say which files were skipped and why")
    p.add_argument("--version", action="version", version=f"goinstrument {__version__}")
    group = p.add_argument_group("settings (also in .goinstrument.toml; flags win)")
    for name, setting in settings():
        if setting.flags:  # default None: not given, so the file's value stands
            group.add_argument(*setting.flags, dest=name, default=None, help=setting.help, **setting.kind.flag(name, setting.metavar))
    p.set_defaults(**FLAG_DEFAULTS)  # the one table of the other flags' defaults, shared with the fast path
    return p


# The defaults of the flags that are not settings (a setting's is None: not given), for the
# parser and the fast path alike; tests/test_startup.py checks both give the same namespace.
FLAG_DEFAULTS: dict[str, object] = {
    "paths": [],
    "stdin_filename": None,
    "check": False,
    "diff": False,
    "remove": False,
    "changed_since": None,
    "staged": False,
    "install_hook": False,
    "force": False,
    "format": "text",
    "coverage": False,
    "fail_under": None,
    "jobs": 0,
    "no_cache": False,
    "fast": False,
    "quiet": False,
    "verbose": False,
    "list": False,
    "new_from_rev": None,
}
# Flags taking no value, flags taking a revision, and flags taking a number, that go with any other
# of these: an argv made only of them, each once (the hook's `--staged`, CI's `--check
# --changed-since main`), then maybe `--` and paths (pre-commit's `goinstrument -- FILE...`), needs
# no argparse. Anything else, `--help`, a path before `--` or a typo included, goes to argparse.
FAST_FLAGS = {"--staged": "staged", "--check": "check", "--fast": "fast", "--no-cache": "no_cache", "-q": "quiet", "--quiet": "quiet"}
FAST_REVISIONS = {"--changed-since": "changed_since", "--new-from-rev": "new_from_rev"}
FAST_NUMBERS = {"--jobs": "jobs"}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags of `argv` (default: sys.argv), as argparse parses them; without argparse for an
    argv of FAST_FLAGS, FAST_REVISIONS and FAST_NUMBERS only, then maybe `--` and paths."""
    args = list(sys.argv[1:] if argv is None else argv)
    given = _fast(args)
    if given is None:
        return parser().parse_args(args)
    from types import SimpleNamespace

    from goinstrument.settings import settings

    values = {**FLAG_DEFAULTS, **{name: None for name, setting in settings() if setting.flags}, **given}
    return SimpleNamespace(**values)  # type: ignore[return-value]  # read by attribute only, as a Namespace is


def _fast(args: list[str]) -> dict[str, object] | None:
    """The values of an argv of FAST_FLAGS, FAST_REVISIONS and FAST_NUMBERS, each once
    (`--changed-since REV` or `--changed-since=REV`, `--jobs 2`), then maybe `--` and paths (all
    that follows it, as argparse reads them); None for any other argv. A REV after a space that
    starts with "-" is argparse's to judge (it takes it for a flag), and so is a number not
    written in digits alone."""
    given: dict[str, object] = {}
    found: object
    rest = iter(args)
    for arg in rest:
        flag, equals, value = arg.partition("=")
        if arg in FAST_FLAGS:
            name, found = FAST_FLAGS[arg], True
        elif equals and flag in FAST_REVISIONS:
            name, found = FAST_REVISIONS[flag], value
        elif arg in FAST_REVISIONS:
            revision = next(rest, "-")
            if revision.startswith("-"):
                return None
            name, found = FAST_REVISIONS[arg], revision
        elif flag in FAST_NUMBERS:
            number = value if equals else next(rest, "")
            if not (number.isascii() and number.isdigit()):
                return None
            name, found = FAST_NUMBERS[flag], int(number)
        elif arg == "--":
            given["paths"] = list(rest)
            break
        else:
            return None
        if name in given:  # a flag twice
            return None
        given[name] = found
    return given


def rewrite_options(args: argparse.Namespace, configured: dict[str, object] | None = None) -> RewriteOptions:
    """Flags over the configuration file over the defaults."""
    from goinstrument.engine.options import Action, RewriteOptions
    from goinstrument.settings import settings

    values = dict(configured or {})
    for name, setting in settings():
        given = getattr(args, name, None) if setting.flags else None
        if given is not None:
            values[name] = tuple(given) if isinstance(given, list) else given
    action = Action.REMOVE if args.remove else Action.INSTRUMENT
    return RewriteOptions(action=action, **values)  # type: ignore[arg-type]


def _source(args: argparse.Namespace) -> Source:
    from goinstrument.options import ChangedSince, FromPaths, Staged, Stdin

    if args.paths == [STDIN]:
        return Stdin(args.stdin_filename)
    if args.staged:
        if args.paths or args.changed_since:
            raise UsageError("--staged takes no PATH and no --changed-since")
        return Staged()
    if args.new_from_rev:
        return ChangedSince(args.new_from_rev, tuple(args.paths), new_code_only=True)
    if args.changed_since:
        return ChangedSince(args.changed_since, tuple(args.paths))
    return FromPaths(tuple(args.paths) or (".",))


def _given(args: argparse.Namespace, action: argparse.Action) -> bool:
    return action.dest != "help" and hasattr(args, action.dest) and getattr(args, action.dest) not in (action.default, [], None)


def _flag_of(action: argparse.Action, args: argparse.Namespace, argv: Sequence[str]) -> str:
    """The flag as the user gave it: `--tests` or `--no-tests`, `--app` or `--tracer`."""
    import argparse  # loaded already: --install-hook is parsed by argparse, never by the fast path

    if not action.option_strings:
        return action.metavar if isinstance(action.metavar, str) else action.dest
    if isinstance(action, argparse.BooleanOptionalAction):
        yes, no = action.option_strings[0], action.option_strings[-1]
        return yes if getattr(args, action.dest) else no
    for arg in argv:
        for flag in action.option_strings:
            if arg == flag or (flag.startswith("--") and arg.startswith(flag + "=")):
                return flag
    return max(action.option_strings, key=len)  # abbreviated (--trac): its full spelling


def _check_combinations(args: argparse.Namespace, argv: Sequence[str]) -> None:
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 or more")
    if args.install_hook:
        # Every other option, a mode or a setting, would not reach the hook (it runs `goinstrument
        # --staged`, reading .goinstrument.toml): refuse them all rather than ignore them.
        others = [
            _flag_of(action, args, argv) for action in parser()._actions if _given(args, action) and action.dest not in ("install_hook", "force")
        ]
        if others:
            raise UsageError(
                f"--install-hook installs the hook and does nothing else; drop {', '.join(others)}"
                " (the hook runs `goinstrument --staged`: put settings in .goinstrument.toml)"
            )
    elif args.force:
        raise UsageError("--force goes with --install-hook")
    if args.remove and (args.check or args.staged):
        raise UsageError("--remove goes with a plain run or --diff, not --check, --staged or --install-hook")
    fmt = _format(args)
    if fmt.document and not fmt.check_only and args.diff:
        raise UsageError(f"--diff prints a patch; --format {fmt.name} goes with a plain run or --check")
    if args.check and args.diff and args.staged:
        raise UsageError("--check --diff goes with paths or --changed-since, not --staged (the hook's --diff shows the staged patch)")
    if args.check and args.diff and not fmt.shares_stdout:
        raise UsageError(f"--check --diff prints findings and a patch as text; --format {args.format} goes with --check alone")
    if args.list and (args.check or args.diff or not fmt.shares_stdout):
        raise UsageError("-l prints the names of the files a run would change; not with --check, --diff or --format")
    _check_stdin(args)
    from goinstrument.driver.discover import normalize_argument

    missing = [arg for arg in args.paths if arg != STDIN and not os.path.lexists(normalize_argument(arg))]
    if missing:  # a typo must not pass for a run over nothing (a dangling link is the batch's problem)
        raise UsageError(f"no such file or directory: {', '.join(missing)}")


def _format(args: argparse.Namespace) -> OutputFormat:
    """The output format --format names (its row in report.formats' table)."""
    from goinstrument.report.formats import FORMATS

    return FORMATS[args.format]


def _check_stdin(args: argparse.Namespace) -> None:
    if STDIN not in args.paths:
        if args.stdin_filename is not None:
            raise UsageError("--stdin-filename goes with - (stdin)")
        return
    if len(args.paths) > 1:
        raise UsageError("- (stdin) goes alone, not with other paths")
    if args.staged or args.changed_since:
        raise UsageError("- (stdin) does not go with --staged or --changed-since")
    if args.list or (args.check and args.diff):
        raise UsageError("- (stdin) does not go with -l or --check --diff")
    if not _format(args).shares_stdout and not args.check:
        raise UsageError(f"with -, stdout carries the code: --format {args.format} goes with --check")


def _config_start(args: argparse.Namespace, cwd: Path) -> Path:
    """Where the search for .goinstrument.toml starts: the directory of the file named by
    --stdin-filename (the editor's file, wherever the editor runs us from), else `cwd`."""
    filename: str | None = args.stdin_filename
    if filename and args.paths == [STDIN]:
        return (cwd / filename).parent
    return cwd


def _check_measuring(args: argparse.Namespace) -> None:
    """--coverage and --fail-under measure, like --check (which they imply); SARIF is --check's format."""
    measuring = [flag for flag, given in (("--coverage", args.coverage), ("--fail-under", args.fail_under is not None)) if given]
    if measuring and (args.diff or args.list or args.remove or args.install_hook):
        verb = "measure" if len(measuring) > 1 else "measures"
        raise UsageError(f"{' and '.join(measuring)} {verb} the spans there are, like --check; not with --diff, --remove or --install-hook")
    if args.new_from_rev is not None:
        if args.changed_since or args.staged or STDIN in args.paths:
            raise UsageError("--new-from-rev picks the files changed since REV itself: not with --changed-since, --staged or -")
        if not (args.check or measuring):
            raise UsageError("--new-from-rev narrows what --check reports; add --check")
        if not args.new_from_rev:
            raise UsageError("--new-from-rev needs a revision (a branch, tag or commit)")
    if _format(args).check_only and not (args.check or measuring):
        raise UsageError(f"--format {args.format} reports what --check finds; add --check")


def _percent(text: str) -> float:
    import argparse

    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 100, not {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 100, not {text!r}")
    return value


def build(argv: Sequence[str] | None, cwd: Path) -> Invocation:
    """The invocation these arguments ask for; UsageError or config.ConfigError when they cannot be used
    (SystemExit for --help and --version)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    _check_combinations(args, argv)
    _check_measuring(args)
    from goinstrument.options import InstallHook, Output, Run, RunOptions

    if args.install_hook:
        return InstallHook(force=args.force)
    from goinstrument import config

    rewrite = rewrite_options(args, config.load(_config_start(args, cwd), backend_given=args.backend is not None))
    _check_backend(rewrite)
    check = args.check or args.coverage or args.fail_under is not None
    output = Output.CHECK if check else Output.DIFF if args.diff else Output.LIST if args.list else Output.WRITE
    run = RunOptions(
        output=output,
        coverage=args.coverage,
        fail_under=args.fail_under,
        source=_source(args),
        format=args.format,
        jobs=args.jobs,
        use_cache=not args.no_cache and output is Output.WRITE and args.paths != [STDIN],
        keep_facts=not args.no_cache and args.paths != [STDIN],
        verbosity=-1 if args.quiet else 1 if args.verbose else 0,
        verify=not args.fast,
        progress=not args.quiet and _format(args).progress and _stderr_is_a_terminal(),
        diff=check and args.diff,
    )
    return Run(rewrite, run)


def _check_backend(rewrite: RewriteOptions) -> None:
    """The backend loads and writes what is asked of it. The default one, otel, writes everything
    (tests/test_startup.py checks): a run with it loads no backend, shape or tree-sitter to learn so."""
    from goinstrument.engine.options import DEFAULT_BACKEND

    if rewrite.backend == DEFAULT_BACKEND:
        return
    from goinstrument.backends.loader import BackendError, load_backend
    from goinstrument.engine.shape import unsupported

    try:
        problem = unsupported(rewrite.backend, load_backend(rewrite.backend), rewrite.attributes)
        if problem is None and rewrite.http_handlers:
            from goinstrument.engine.handlers import unsupported as handlers_unsupported

            problem = handlers_unsupported(rewrite.backend, load_backend(rewrite.backend))
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    if problem is not None:
        raise UsageError(problem)


def _stderr_is_a_terminal() -> bool:
    """A person watching: a terminal that understands a line rewriting itself."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


TRACEBACK_VARIABLE = "GOINSTRUMENT_TRACEBACK"  # set (to anything) to see the traceback of an internal error


class Terminated(BaseException):
    """SIGTERM, raised where the run is, so that it unwinds as from Ctrl-C (a KeyboardInterrupt)."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """The exit code of the command line: 0, 1 (findings) or 2, never 1 for a crash of ours.

    An interrupt ends it quietly, as a shell expects: 128 + the signal's number (SIGINT 130,
    SIGTERM 143), with no traceback and no temporary file left (fileio holds the signals from a
    temporary file's creation to its rename)."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:  # as argparse's version action prints it
        print(f"goinstrument {__version__}")
        return EXIT_OK
    import signal

    from goinstrument import outside_current_directory

    sys.path[:] = outside_current_directory(sys.path)  # goinstrument.main did, unless called here directly
    _escape_what_cannot_be_printed()
    with contextlib.suppress(ValueError):  # ValueError: not the main thread (called from a test harness)
        signal.signal(signal.SIGTERM, _terminated)
    stderr = sys.stderr
    sys.stderr = _Messages(stderr) if stderr is not None else stderr
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return _interrupted(signal.SIGINT)
    except Terminated:
        return _interrupted(signal.SIGTERM)
    except Exception as exc:  # a bug of ours: exit 2 and one line, never 1, which says "findings"
        return _internal_error(exc)
    finally:
        sys.stderr = stderr


class _Messages:
    """stderr, whose reader may go before the run ends (`git commit 2>&1 | head -1`): what is said
    after that is lost, never the run. The exit code stays the run's: a hook's 141 would abort the
    commit whose files it staged. (stdout's reader going is a filter's end: _stdout_closed.)"""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self.stream.write(text))
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        """The rest, and what the stream holds, goes to /dev/null (the interpreter's last flush
        of a stream still failing would make the exit code 120)."""
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _interrupted(signum: int) -> int:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while the interpreter exits: no traceback either
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return 128 + signum


def _main(argv: Sequence[str] | None) -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # deeply nested Go expressions
    from goinstrument import config

    try:
        invocation = build(argv, Path.cwd())
    except UsageError as exc:  # one line, as the README promises; --help shows the rest
        print(f"goinstrument: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    from goinstrument.options import InstallHook

    if isinstance(invocation, InstallHook):
        return _install_hook(invocation)
    from goinstrument.driver.run import run

    try:
        code = run(invocation.rewrite, invocation.run)
        sys.stdout.flush()  # the last of the output too: a reader gone by now is a closed pipe as well
        return code
    except BrokenPipeError:
        return _stdout_closed()


def _internal_error(exc: Exception) -> int:
    if os.environ.get(TRACEBACK_VARIABLE):
        import traceback

        traceback.print_exc()
    message = " ".join(f"{type(exc).__name__}: {exc}".split())
    hint = "" if os.environ.get(TRACEBACK_VARIABLE) else f" ({TRACEBACK_VARIABLE}=1 shows where)"
    with contextlib.suppress(OSError, ValueError):  # no stderr to say it on
        print(f"goinstrument: internal error: {message}{hint}", file=sys.stderr)
    return EXIT_ERROR


def _octal_escape(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: what cannot be encoded as `\\351` (a byte of a name that is not
    UTF-8, as git quotes it) or `\\u2028` (a character the stream's encoding lacks)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    from goinstrument.engine.result import octal_byte

    escaped = [
        octal_byte(char) if 0xDC80 <= ord(char) <= 0xDCFF else char.encode("ascii", "backslashreplace").decode()
        for char in error.object[error.start : error.end]
    ]
    return "".join(escaped), error.end


def _escape_what_cannot_be_printed() -> None:
    """stdout and stderr escape what they cannot encode instead of failing part-way: a file
    name that is not UTF-8 inside a message (names themselves are quoted, `result.quote_path`)."""
    import codecs

    codecs.register_error("goinstrument.escape", _octal_escape)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):  # not a text file, or already closed
            stream.reconfigure(errors="goinstrument.escape")  # type: ignore[union-attr]


def _stdout_closed() -> int:
    """The reader of stdout went away (`goinstrument --diff | head`): stop quietly, as a Unix filter
    killed by SIGPIPE does, with its exit status 128 + SIGPIPE."""
    import os
    import signal

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
    return 128 + signal.SIGPIPE


def _install_hook(invocation: InstallHook) -> int:
    from goinstrument.driver import hook
    from goinstrument.engine.result import GitError
    from goinstrument.report.base import say

    try:
        for line in hook.install_hook(Path.cwd(), force=invocation.force).splitlines():
            say(line)
    except GitError as exc:
        say(str(exc))
        return EXIT_ERROR
    return EXIT_OK
