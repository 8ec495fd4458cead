"""A warm fork-server for the git hook: `python -m goinstrument.server ARGS` runs `goinstrument ARGS`
(the hook runs it as `python -P -c HOOK_CODE ARGS`, below).

A hook's run is mostly start-up: the interpreter, goinstrument's imports and the Go grammar. This
module is the client the installed hook runs instead of `-m goinstrument`. It imports nothing of
goinstrument's and little of Python's (os, sys, the C halves of socket and signal), connects to a
per-user Unix socket and hands the run to a server that has imported everything already: its argv,
environment, umask, current directory (an fd) and stdin/stdout/stderr (fds, SCM_RIGHTS). The server
has a child per run, forked for it or, most often, forked ahead of it (a spare, which waits for one
run and is never handed another); the child takes on the client's directory, environment, umask and
streams, runs `goinstrument.cli.main(argv)`, says its exit code and exits, and the client exits
with that code (or as the child did: a signal, which the server reports). The server never runs a
request itself, so no state of one run reaches another.

With no server (or anything failing before the run was handed over), the client starts one,
detached, and runs the command in its own process at once, as `python -m goinstrument` would: the
first run never waits for a server to warm up, and a server's failure is never a failed commit.

Which server: the socket's name is a checksum of everything the server's imports depend on (the
interpreter and its flags, sys.path and each of its directories' mtime, goinstrument's package directory
with the size and mtime of each of its files, the locale variables, LD_PRELOAD, LD_LIBRARY_PATH and
every PYTHON* variable), and the child compares the
whole of it with its own before it runs (else it refuses, and the client runs it). An upgrade or an edited checkout thus talks to a
new server; the old one notices its files changed (it looks every few seconds) and exits, as it does
after IDLE seconds without a run. The socket lives in `$XDG_RUNTIME_DIR/goinstrument/`, else in
`/tmp/goinstrument-UID/`: a directory of our own, mode 0700, not a symlink (checked by fd), or no server.
Only our own uid and gid are served (SO_PEERCRED), and only a client in the server's sandbox: the
same namespaces, no_new_privs, seccomp mode, groups and cgroups (else it refuses, and the client
runs in its own process, never in the server's place); the server reads nothing of a repository's and listens on
nothing else. Linux only (SO_PEERCRED, pidfd); elsewhere every run is in-process.

Off with GOINSTRUMENT_SERVER=0, and whenever CI is set (a CI job leaves no process behind).
`python -m goinstrument.server --stop` stops this user's servers.
"""

from __future__ import annotations

# Not `socket` nor `signal`: they import enum, selectors and collections (20-30 ms of a hook's run);
# nor struct (a module and a shared library to load: bytes and ints convert on their own).
import _signal  # type: ignore[import-not-found]  # signal's C half, without stubs
import _socket
import os
import sys

ENABLE = "GOINSTRUMENT_SERVER"  # "0": every run in its own process
IDLE_VARIABLE = "GOINSTRUMENT_SERVER_IDLE"  # seconds without a run before a server exits
IDLE = 300.0
CHECK_EVERY = 5.0  # seconds between two looks at the package's files
ANSWER_WITHIN = 10.0  # seconds for a server's child to say HELLO (it takes milliseconds)
STOP = "--stop"
LOCALE = ("LC_ALL", "LC_CTYPE", "LANG")  # read once, at the interpreter's start
LOADER = ("LD_PRELOAD", "LD_LIBRARY_PATH")  # the dynamic loader's, at the start (and every PYTHON* variable)
STREAMS = ("stdin", "stdout", "stderr")
TREES = ".trees"  # beside a server's socket: what one run leaves the next (driver/trees.py)
# The conversation, one run per connection:
#   server -> client  REFUSED: a client in another sandbox than the server's (nothing forked for it)
#   child  -> client  HELLO and the child's pid: its first word. The client's fds go only to a child
#                     that said it: fds sent to a server that never reads them (stopped, stuck) would
#                     keep the client's pipes open after it gave up and ran on its own.
#   client -> child   the request (its fds beside it), then GO: after which the client never runs the
#                     command itself, unless the child answers REFUSED. A child that reads anything
#                     but a whole request and GO (EOF: the client gave up, or was interrupted) exits
#                     without touching anything.
#   child  -> client  REFUSED, instead of running it (a request it cannot take: another key, a
#                     request it cannot read, a directory or stream it cannot take on): the client
#                     runs it. Else the run, then CODE and its exit code, the child's last act.
#   server -> client  STATUS and the child's wait status, once reaped: the word of a child that
#                     ended without CODE (a signal); a client that had CODE is gone by then.
HELLO, GO, REFUSED, CODE, STATUS = b"H", b"G", b"R", b"C", b"S"
INT_SIZE = 4  # an int on the socket: 4 bytes, big-endian, signed
# A safe prime below 2**61 (its half is prime too): 256's order modulo it is that half, so no two
# byte positions of a key weigh the same (a Mersenne prime's did: two bytes 61 apart swapped
# gave the same name). Names only; the whole key is compared before a run.
PRIME = (1 << 61) - 2373
MAX_REQUEST = 16 << 20
REQUEST_WITHIN = 600.0  # seconds a server's child waits for the request after HELLO (a client stopped by ^Z)
# What the hook runs, `python -P -c HOOK_CODE ARGS`: as `-m goinstrument.server ARGS`, without
# runpy's imports and the module's search (~10 ms of a hook's run).
HOOK_CODE = "import sys; from goinstrument.server import main; sys.exit(main())"


def main(argv: list[str] | None = None) -> int:
    """The hook's entry: the run, served by a warm server when there is one, else in this process."""
    args = sys.argv[1:] if argv is None else list(argv)
    ASKED[0] = os.environ.pop(MANIFEST_VARIABLE, None) == "1"  # (not the run's: not in its environment)
    if args == [STOP]:
        return stop()
    if enabled(os.environ):
        code = _served(args)
        if code is not None:
            if argv is None:  # this process's own run: the hook's, `-m goinstrument.server`'s
                _leave(code)
            return code
    return in_process(args)


def _leave(code: int) -> None:
    """The end of a client whose run was served, without the interpreter's (~2 ms: its modules
    and heap freed one by one, which nobody sees): what of it can be seen, atexit's functions and
    the last flush of stdout and stderr (120 if stdout's fails), then the exit."""
    import atexit

    atexit._run_exitfuncs()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            code = 120 if name == "stdout" else code
    os._exit(code)


def enabled(environ: os._Environ[str] | dict[str, str]) -> bool:
    return sys.platform == "linux" and environ.get(ENABLE, "1") != "0" and not environ.get("CI") and hasattr(os, "pidfd_open")


def in_process(args: list[str]) -> int:
    """Today's run, as `python -m goinstrument ARGS`."""
    sys.argv[1:] = args
    from goinstrument import main as run

    return run()


# --- where the server is ---------------------------------------------------------------------


def directory() -> tuple[str, int] | None:
    """This user's socket directory (made 0700 if missing) and an fd of it; None unless it is a
    directory of ours, not a symlink, that no one else may enter."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    path = os.path.join(runtime, "goinstrument") if runtime and os.path.isabs(runtime) else f"/tmp/goinstrument-{os.getuid()}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    fd = open_directory(path)
    return None if fd is None else (path, fd)


def open_directory(path: str) -> int | None:
    """An fd of `path` if it is a directory of ours (not a symlink: O_NOFOLLOW) with no group or
    other bits: what is checked is what is used, by fd."""
    try:
        fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(fd)
        return None
    return fd


def address(directory_fd: int, name: str) -> str:
    """The socket `name` in a directory held open: short whatever the directory's path (sun_path
    holds 108 bytes; a test's or a long home's runtime directory may not fit)."""
    return f"/proc/self/fd/{directory_fd}/{name}"


def _package() -> str:
    import goinstrument

    return os.path.dirname(os.path.abspath(goinstrument.__file__))


def _version(info: os.stat_result) -> str:
    """What changes when a file is written, replaced or restored: its size and mtime, and its ctime
    and inode, which no one sets back (`cp -p`, `rsync -t` and wheels' fixed dates set the mtime)."""
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"


def _package_versions(package: str, directories: list[str] | None = None) -> list[tuple[str, str]]:
    """Each file of the package but compiled ones, with its _version (a checkout edited, an
    upgrade), sorted; each directory walked goes to `directories`."""
    found = []
    stack = [package]
    while stack:
        top = stack.pop()
        if directories is not None:
            directories.append(top)
        try:
            with os.scandir(top) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name != "__pycache__":
                            stack.append(entry.path)
                    elif not entry.name.endswith(".pyc"):
                        try:  # not followed: an editor's lock file is a dangling link (.#cli.py -> user@host.1:1)
                            info = entry.stat(follow_symlinks=False)
                        except OSError:  # gone meanwhile
                            found.append((entry.path, "-"))
                            continue
                        found.append((entry.path, _version(info)))
        except OSError:  # unreadable, or gone meanwhile: so it is in the key
            found.append((top, "-"))
    found.sort()
    return found


def key() -> bytes:
    """Everything a server's imports depend on, as the client would see it in a fresh process.

    Each file of the package is looked at (~0.4 ms of CPU), after the commit began: an edit in
    place changes nothing but the file's own inode (not its directory's mtime), most of the
    package is loaded in the server (71 of its 79 files), and inotify misses the edits made
    through a network or FUSE file system (a checkout on /mnt/c under WSL, a Docker Desktop
    bind mount): no cheaper look is sound. (The server's own look every CHECK_EVERY seconds ends
    a server whose files changed; it is no guarantee for a run that meets it before then.)"""
    from goinstrument import __version__, outside_current_directory

    path = outside_current_directory(sys.path)
    flags = repr(sys.flags).replace("safe_path=True", "safe_path=False")  # -P or not: sys.path says it
    mtimes = []
    for entry in path:  # a module or package added or removed there (tree-sitter upgraded) changes its mtime
        try:
            mtimes.append(f"{entry}:{_version(os.stat(entry))}")
        except OSError:
            mtimes.append(f"{entry}:-")
    try:  # a server per cgroup (a terminal's systemd scope): the server serves only its own (zygote._confinement)
        with open("/proc/self/cgroup", "rb") as file:
            cgroups = file.read().decode(errors="replace")
    except OSError:
        cgroups = "-"
    parts = [
        __version__,
        cgroups,
        sys.executable,
        sys.version,
        flags,
        repr(sys.warnoptions),
        repr(sys._xoptions),
        sys.getfilesystemencoding(),
        *(f"{name}={os.environ.get(name, '')}" for name in LOCALE),
        *sorted(f"{name}={value}" for name, value in os.environ.items() if name in LOADER or name.startswith("PYTHON")),
        *path,
        *mtimes,
        *(f"{path}:{version}" for path, version in _package_versions(_package())),
    ]
    return os.fsencode("\n".join(parts))


def checksum(full_key: bytes) -> str:
    """A checksum of the key, for the socket's name (the whole key is compared before a run): the
    key as a number modulo a prime, which needs no module (binascii's crc32 costs ~0.4 ms to load)."""
    return f"{int.from_bytes(full_key, 'big') % PRIME:016x}"


def socket_name(full_key: bytes) -> str:
    return f"s-{checksum(full_key)}-{len(full_key):x}"


# --- the client ------------------------------------------------------------------------------


def to_int(value: int) -> bytes:
    return value.to_bytes(INT_SIZE, "big", signed=True)


def from_int(data: bytes) -> int:
    return int.from_bytes(data[:INT_SIZE], "big", signed=True)


def peer(sock: _socket.socket) -> tuple[int, int, int]:
    """The pid, uid and gid of the process at the other end (SO_PEERCRED: a struct ucred)."""
    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    return (
        int.from_bytes(raw[0:4], sys.byteorder, signed=True),
        int.from_bytes(raw[4:8], sys.byteorder),
        int.from_bytes(raw[8:12], sys.byteorder),
    )


def pack(fields: list[bytes]) -> bytes:
    return b"".join(to_int(len(field)) + field for field in fields)


def unpack(data: bytes) -> list[bytes]:
    fields, at = [], 0
    while at < len(data):
        size = from_int(data[at : at + INT_SIZE])
        if size < 0 or at + INT_SIZE + size > len(data):
            raise ValueError("a request cut short")
        at += INT_SIZE
        fields.append(data[at : at + size])
        at += size
    return fields


def _stream_info(stream: object) -> bytes:
    """How this process's interpreter set up a standard stream, for the child to do the same."""
    if stream is None:
        return b""
    return "\0".join(
        (
            str(getattr(stream, "encoding", "utf-8")),
            str(getattr(stream, "errors", "strict")),
            "1" if getattr(stream, "line_buffering", False) else "",
            "1" if getattr(stream, "write_through", False) else "",
            "1" if hasattr(getattr(stream, "buffer", None), "raw") else "",  # not -u
        )
    ).encode()


def _request(args: list[str], full_key: bytes) -> tuple[bytes, list[int]]:
    fds, present = [], 0
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            continue
        fds.append(fd)
        present |= 1 << fd
    umask = os.umask(0o022)
    os.umask(umask)
    fields = [
        full_key,
        b"%d" % umask,
        b"%d" % present,
        *(_stream_info(getattr(sys, name)) for name in STREAMS),
        os.fsencode(sys.argv[0] if sys.argv else ""),
        b"%d" % len(args),
        *(os.fsencode(arg) for arg in args),
        *(name + b"=" + value for name, value in os.environb.items()),
    ]
    return pack(fields), fds


class _Forward:
    """SIGINT, SIGTERM and SIGHUP to this client go to the child running its request."""

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.pid = 0
        self.pending: list[int] = []  # received before the run was handed over
        self.received: list[int] = []
        self.previous = {}
        for name in self.SIGNALS:
            number = getattr(_signal, name)
            self.previous[number] = _signal.signal(number, self._got)

    def _got(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if self.pid:
            try:  # noqa: SIM105  # contextlib costs the client 4 ms
                os.kill(self.pid, signum)
            except OSError:
                pass
        else:
            self.pending.append(signum)

    def start(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self._got(signum, None)

    def restore(self) -> None:
        for number, handler in self.previous.items():
            _signal.signal(number, handler)


def _read_exactly(sock: _socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _served(args: list[str]) -> int | None:
    """The exit code of the run done by a server's child; None if no child was told to run it, or
    the one told refused it (a server is started when none answers): the client's own run then,
    never both."""
    forward = _Forward()
    try:
        try:
            handed = _handed_over(args, forward)
        except Exception:  # anything before GO: no server (a server's failure never fails a commit)
            handed = None
        if handed is None:
            return 128 + forward.pending[0] if forward.pending else None  # interrupted before anything ran
        sock, pid = handed
        try:  # GO was sent: from here on the run is the child's, whatever becomes of it
            forward.start(pid)
            code = _outcome(sock)
        finally:
            sock.close()
        if code is None and forward.received:  # refused, and the client was interrupted meanwhile
            return 128 + forward.received[0]
        return code
    finally:
        forward.restore()


def _handed_over(args: list[str], forward: _Forward) -> tuple[_socket.socket, int] | None:
    """The socket to a server's child that was sent the request and GO, and its pid; None if none
    was (the socket closed before a server is started: a child that said HELLO reads EOF, not a
    request and GO, and exits without running it)."""
    found = directory()
    if found is None:
        return None
    where, directory_fd = found
    try:
        # The native client ran this one in its place: a manifest for its next run, whose files are
        # looked at before the key is made (one changed meanwhile: a manifest no client uses).
        checks = _manifest_checks() if ASKED[0] else None
        full_key = key()
        name = socket_name(full_key)
        if checks is not None:
            try:  # noqa: SIM105  # contextlib costs the client 4 ms
                leave_manifest(full_key, name, checks)
            except Exception:  # a native client that runs this one again, never a failed run
                pass
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            pid = _hello(sock, address(directory_fd, name))
            if pid > 0 and not forward.pending:  # (interrupted: no run at all)
                _send(sock, args, full_key)  # raises unless the whole of it, GO last, was sent
                sock.settimeout(None)  # the run takes what it takes
                return sock, pid
        except OSError:
            pid = -1
        sock.close()
        if pid < 0 and not forward.pending:
            start_server(os.path.join(where, name), full_key)
        return None
    finally:
        os.close(directory_fd)


# --- the manifest of the native client ------------------------------------------------------
# goinstrument/hookclient/main.go, the hook's client where --install-hook could build it, starts in
# ~2 ms where this one takes ~15: it sends a key it read, never one it made. When it runs this
# client in its place, it asks it (MANIFEST_VARIABLE) for a manifest: a file in the socket
# directory named by the interpreter, the current directory and the environment (key_variable's:
# all but a commit's own variables), which holds the checksum of the native client's source it is
# for, the key and socket this client uses there, and every other input of the key: the cgroups,
# how the streams were set up, and the size, mtime, ctime and inode of the interpreter, the
# pyvenv.cfg files it may read, each sys.path entry, the file of each module loaded (sitecustomize,
# what a .pth imports), site's directories and their .pth files, and each file and directory of
# goinstrument, looked at before the key is made. The native client uses a manifest only where
# every one of them is as it was: a fresh client would make the same key there. (Code site runs
# is taken to depend on the environment and those files alone.)
MANIFEST = b"goinstrument hook manifest 1"
MANIFEST_VARIABLE = "GOINSTRUMENT_MANIFEST"  # "1": set by the native client for the client it runs in its place
ASKED = [False]
KEEP_MANIFESTS = 32  # the newest, per user: one per repository and environment the hook ran in


def key_variable(name: bytes) -> bool:
    """Whether a manifest is for the environment variable's value: every variable but those git
    sets for a commit's hooks (GIT_AUTHOR_DATE: a new value every second) and a shell's own of
    where it has been, which no start of Python reads (code site runs may read any other)."""
    return not name.startswith(b"GIT_") and name not in (b"PWD", b"OLDPWD", b"SHLVL", b"_", b"GOINSTRUMENT_CLIENT_TRACE")


def manifest_name(lookup: bytes) -> str:
    return f"m-{checksum(lookup)}-{len(lookup):x}"


def leave_manifest(full_key: bytes, name: str, checks: list[bytes]) -> None:
    """The manifest of this run's client, written unless the same is there already; nothing for a
    client not started as the hook starts it (`python -P -c HOOK_CODE`), whose key differs."""
    argv = getattr(sys, "orig_argv", [])
    infos = []
    for fd, stream_name in enumerate(STREAMS):
        stream = getattr(sys, stream_name)
        info = _stream_info(stream).split(b"\0") if stream is not None else []
        if info and info[2] != (b"1" if not info[3] and (fd == 2 or os.isatty(fd)) else b""):
            return  # line buffering the native client would not work out as the interpreter did
        infos.append(b"\0".join(info[:2] + info[3:]))
    if argv[1:4] != ["-P", "-c", HOOK_CODE]:
        return
    python, cwd = os.fsencode(sys.executable), os.fsencode(os.getcwd())
    environment = sorted(variable + b"=" + value for variable, value in os.environb.items() if key_variable(variable))
    lookup = b"\0".join([python, cwd, *environment])
    with open("/proc/self/cgroup", "rb") as file:
        cgroups = file.read()
    head = [MANIFEST, _client_source(), python, cwd, b"%d" % len(environment), *environment, cgroups, name.encode(), full_key, b"-c", *infos]
    data = pack([*head, b"%d" % (len(checks) // 2), *checks])
    found = directory()
    if found is None:
        return
    _, directory_fd = found
    try:
        _write_manifest(directory_fd, manifest_name(lookup), data)
    finally:
        os.close(directory_fd)


def _client_source() -> bytes:
    """The checksum the native client of this package's source is built with (driver/hook.py's
    build_client: -X main.source): a manifest for it, not for an older one."""
    import hashlib

    with open(os.path.join(_package(), "hookclient", "main.go"), "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:16].encode()


def _manifest_checks() -> list[bytes]:
    """Each file the key depends on, or sys.path does ("S" + path: its stat, "L" + path: its lstat), and its _version."""
    import site

    checks: list[bytes] = []

    def check(kind: str, path: str) -> None:
        try:
            version = _version(os.stat(path) if kind == "S" else os.lstat(path))
        except OSError:
            version = "-"
        checks.extend((os.fsencode(kind + path), version.encode()))

    executable = sys.executable
    check("S", executable)
    check("L", executable)
    for home in dict.fromkeys((os.path.dirname(executable), os.path.dirname(os.path.dirname(executable)))):
        check("S", os.path.join(home, "pyvenv.cfg"))
    for path_entry in sys.path:
        check("S", path_entry)
    for module in list(sys.modules.values()):  # what site loaded (sitecustomize, a .pth's imports), and all else
        origin = getattr(module, "__file__", None)
        if isinstance(origin, str):
            check("S", origin)
    for place in dict.fromkeys([*site.getsitepackages(), site.getusersitepackages()]):
        check("S", place)
        try:
            names = sorted(os.listdir(place))
        except OSError:
            continue
        for entry_name in names:
            if entry_name.endswith(".pth"):
                check("S", os.path.join(place, entry_name))
    directories: list[str] = []
    for path, version in _package_versions(_package(), directories):  # what `key` looks at, and each directory (a file added)
        checks.extend((os.fsencode("L" + path), version.encode()))
    for top in directories:
        check("S", top)
    return checks


def _write_manifest(directory_fd: int, name: str, data: bytes) -> None:
    """`data` as the manifest `name` (replaced whole), unless it holds it already; then the oldest
    beyond KEEP_MANIFESTS removed, and the temporary files of writers killed a minute ago or more."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=directory_fd)
    except OSError:
        pass
    else:
        try:
            there = b""
            while chunk := os.read(fd, 1 << 16):
                there += chunk
        finally:
            os.close(fd)
        if there == data:
            return
    temporary = f"{name}.{os.getpid()}.tmp"
    try:  # noqa: SIM105
        os.unlink(temporary, dir_fd=directory_fd)  # (a writer's of the same pid, killed)
    except OSError:
        pass
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=directory_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.rename(temporary, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
    listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=directory_fd)
    try:
        entries = [entry for entry in os.listdir(listing) if entry.startswith("m-")]
    finally:
        os.close(listing)
    from time import time_ns

    now, ages, stale = time_ns(), [], []
    for entry in entries:
        try:
            mtime = os.stat(entry, dir_fd=directory_fd, follow_symlinks=False).st_mtime_ns
        except OSError:
            continue
        if not entry.endswith(".tmp"):
            ages.append((mtime, entry))
        elif mtime < now - 60 * 10**9:
            stale.append(entry)
    for _, entry in sorted(ages)[: max(0, len(ages) - KEEP_MANIFESTS)]:
        stale.append(entry)
    for entry in stale:
        try:  # noqa: SIM105
            os.unlink(entry, dir_fd=directory_fd)
        except OSError:
            pass


def _hello(sock: _socket.socket, path: str) -> int:
    """The pid of the server's child at `path` that said HELLO (and now waits for the request), 0
    if the server refused this client; OSError if none answered within ANSWER_WITHIN."""
    sock.settimeout(ANSWER_WITHIN)  # a server stopped or stuck is no server
    sock.connect(path)
    if peer(sock)[1] != os.getuid():
        raise OSError("not our server")
    answer = _read_exactly(sock, 1 + INT_SIZE)
    if answer[:1] == REFUSED:  # the server's: this process is in another sandbox than the server's
        return 0
    if answer[:1] != HELLO or len(answer) < 1 + INT_SIZE:
        raise OSError("no server's child answered")
    return max(1, from_int(answer[1:]))


def _send(sock: _socket.socket, args: list[str], full_key: bytes, word: bytes = GO) -> None:
    """The request, this process's stdin, stdout, stderr and current directory beside it (fds,
    SCM_RIGHTS), and `word` last (GO: run it)."""
    data, fds = _request(args, full_key)
    if len(data) > MAX_REQUEST:
        raise OSError("a request too large")
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        message = to_int(len(data)) + data + word
        rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (*fds, cwd))
        sent = sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
        if sent < len(message):
            sock.sendall(message[sent:])
    finally:
        os.close(cwd)


def _outcome(sock: _socket.socket) -> int | None:
    """The exit of a run a child was told to do: its code (or its wait status, if it ended without
    saying it); None if it refused the run (it did nothing); 2 and a message if neither came
    (never the run again in-process)."""
    try:
        kind = _read_exactly(sock, 1)
        value = b"" if kind == REFUSED else _read_exactly(sock, INT_SIZE)
    except OSError:
        kind = value = b""
    if kind == REFUSED:
        return None
    if kind in (CODE, STATUS) and len(value) == INT_SIZE:
        number = from_int(value)
        return number if kind == CODE else _exit_as(number)
    os.write(2, b"goinstrument: the server ended before the run did; the run may be half done (GOINSTRUMENT_SERVER=0 runs without it)\n")
    return 2


def _exit_as(status: int) -> int:
    """The client's exit: the child's code, or the child's signal raised again on the client (128 +
    the signal if it survives it)."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        _signal.signal(number, _signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return 128 + number
    return os.waitstatus_to_exitcode(status)


def _interpreter_options() -> list[str]:
    """The options this interpreter was started with (`-X dev`, `-O`...), for the server's to match."""
    argv = getattr(sys, "orig_argv", [])
    starts = [i for i, arg in enumerate(argv) if i and argv[i - 1 : i + 1] in (["-m", "goinstrument.server"], ["-c", HOOK_CODE])]
    if starts:
        options = argv[1 : starts[0] - 1]
        values = [i for i, option in enumerate(options) if i and options[i - 1] in ("-X", "-W")]  # -X dev
        if all(option.startswith("-") for i, option in enumerate(options) if i not in values):
            return options if "-P" in options else [*options, "-P"]
    return ["-P"]


def start_server(path: str, full_key: bytes) -> None:
    """A server for `path`, detached (its own session, stdio /dev/null, cwd /): a double fork, so
    that it is never this process's child."""
    argv = [sys.executable, *_interpreter_options(), "-m", "goinstrument.zygote", path, checksum(full_key)]
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        try:  # noqa: SIM105  # contextlib costs the client 4 ms
            os.waitpid(pid, 0)
        except OSError:
            pass
        return
    try:  # the first child: leave the session, fork the server, go
        os.setsid()
        if os.fork() == 0:
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, 65536)
            os.execv(sys.executable, argv)
    finally:
        os._exit(0)


def stop() -> int:
    """Stop this user's servers (SIGTERM: each finishes the runs it has, then exits), found by
    their lock files, none of them made to fork a child: a lock held is a live server, whose pid
    the file says (checked to be ours and a goinstrument server of that socket)."""
    found = directory()
    if found is None:
        return 0
    _, directory_fd = found
    try:
        for name, pid in sweep(directory_fd):
            if _is_server(pid, name):
                try:
                    os.kill(pid, _signal.SIGTERM)
                except OSError:
                    continue
                print(f"stopped the goinstrument server {pid} ({name})")
    finally:
        os.close(directory_fd)
    return 0


def sweep(directory_fd: int, keep: str = "") -> list[tuple[str, int]]:
    """The live servers of the socket directory, (socket name, pid) from their lock files; the
    lock files no live server holds (a server's that died or exited) removed, with their sockets."""
    import fcntl

    live = []
    listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=directory_fd)  # (an O_PATH fd lists nothing)
    try:
        entries = sorted(os.listdir(listing))
    finally:
        os.close(listing)
    for entry in entries:
        if entry.startswith("s-") and TREES + "." in entry:  # a temporary of a child that died with it (driver/trees.py)
            pid = entry.rpartition(".")[2]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:  # noqa: SIM105  # contextlib costs the client 4 ms
                    os.unlink(entry, dir_fd=directory_fd)
                except OSError:
                    pass
            continue
        name = entry.removesuffix(".lock")
        if not entry.startswith("s-") or name in (entry, keep):
            continue
        try:
            fd = os.open(entry, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory_fd)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live server's
                words = os.pread(fd, 64, 0).split()
                if words and words[0].isdigit():
                    live.append((name, int(words[0])))
                continue
            if same_file(fd, entry, directory_fd):  # (not one a server made again meanwhile)
                for path in (name, name + TREES, entry):
                    try:  # noqa: SIM105  # contextlib costs the client 4 ms
                        os.unlink(path, dir_fd=directory_fd)
                    except OSError:
                        pass
        except OSError:
            continue
        finally:
            os.close(fd)
    return live


def same_file(fd: int, name: str, directory_fd: int) -> bool:
    """Whether `name` in the directory is still the file open as `fd`."""
    try:
        named = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _is_server(pid: int, name: str) -> bool:
    """Whether `pid` is a process of ours running the goinstrument server of socket `name`."""
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            return False
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            argv = file.read().split(b"\0")
    except OSError:
        return False
    return b"goinstrument.zygote" in argv and any(arg.endswith(os.fsencode("/" + name)) for arg in argv)


if __name__ == "__main__":
    raise SystemExit(main())
