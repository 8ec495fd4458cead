"""The warm server behind goinstrument.server (the client, whose docstring says how it works).

Started by a client as `python -P -m goinstrument.zygote SOCKET CHECKSUM`, detached. It imports what
the hook's and CI's runs use, then forks one child per run: the child takes on the client's current
directory, environment, umask and standard streams, runs `goinstrument.cli.main(argv)`, and exits;
the server reports its exit status and never runs a request itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import Any

from goinstrument.driver import cache, trees
from goinstrument.server import (
    CHECK_EVERY,
    CODE,
    GO,
    HELLO,
    IDLE,
    IDLE_VARIABLE,
    INT_SIZE,
    MAX_REQUEST,
    REFUSED,
    REQUEST_WITHIN,
    STATUS,
    STREAMS,
    TREES,
    address,
    checksum,
    from_int,
    in_process,
    key,
    open_directory,
    peer,
    same_file,
    socket_name,
    sweep,
    to_int,
    unpack,
)

# What the hook's --staged and CI's --check --changed-since import, loaded once in the server.
# Not pygit2 (a walk of directories and --new-from-rev use it): libgit2 reads HOME and
# XDG_CONFIG_HOME when it is loaded, and a served run must see the client's, not the server's.
WARM = (
    "goinstrument.cli",
    "goinstrument.config",
    "goinstrument.options",
    "goinstrument.settings",
    "goinstrument.driver.run",
    "goinstrument.driver.process",
    "goinstrument.driver.batch",
    "goinstrument.driver.git",
    "goinstrument.driver.cache",
    "goinstrument.driver.discover",
    "goinstrument.driver.package_scope",
    "goinstrument.driver.gofmt",
    "goinstrument.driver.trees",
    "goinstrument.driver.progress",
    "goinstrument.engine.core",
    "goinstrument.engine.go.syntax",
    "goinstrument.backends.loader",
    "goinstrument.backends.otel",
    "goinstrument.report.formats",
    "goinstrument.report.summary",
    "goinstrument.report.text",
    "atexit",
    "io",
    "traceback",
    # What those runs import as they go (the cache's json, the batch's pickle and ctypes, hashlib).
    "ctypes",
    "hashlib",
    "json",
    "pickle",
)


# A file the pure engine works once in the server, as driver/batch.py's parent works its first item
# before it forks: the grammar's queries, the backend's shape, what the core builds once a process
# (~20 ms of CPU a child would pay again). The engine reads nothing but its arguments.
SAMPLE = b"""package warm

import (
	"context"
	"errors"
)

type S struct{}

func F(ctx context.Context) error {
	if ctx.Err() != nil {
		return errors.New("done")
	}
	go func() {}()
	return nil
}

func (s *S) G(ctx context.Context, n int) (int, error) {
	for i := range n {
		_ = i
	}
	return n, nil
}
"""


def _warm_engine() -> None:
    """The sample instrumented, instrumented again and removed: the hook's run and its stability check."""
    from goinstrument.driver import package_scope
    from goinstrument.engine import core, remove
    from goinstrument.engine.fileinfo import FileInfo
    from goinstrument.engine.go import buildtags
    from goinstrument.engine.options import RewriteOptions

    options, info = RewriteOptions(), FileInfo(path="warm.go", tracer="warm", import_path="example.com/warm")
    with contextlib.suppress(Exception):  # a server less warm, never none
        first = core.instrument(SAMPLE, options, info)
        core.instrument(first.output, options, info)
        remove.remove(first.output, options, info)
        package_scope.warm()  # the patterns that depend on no repository, compiled once for every child
        buildtags.platforms()  # every platform's tags, for the first build constraint a run judges


def serve(path: str, expected: str) -> int:
    """The server's life: one per socket (a lock beside it), until IDLE seconds pass without a
    run, its files change, or SIGTERM."""
    import fcntl

    os.chdir("/")
    own_key = _key()
    where, name = os.path.split(path)
    if own_key is None or checksum(own_key) != expected or socket_name(own_key) != name:
        return 0  # not the server the client wanted (started differently): leave it to in-process runs
    directory = open_directory(where)
    if directory is None:
        return 0
    lock = os.open(name + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600, dir_fd=directory)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(os.pidfd_open(os.getpid()))  # Linux 5.3 or later, or no server
    except OSError:
        return 0  # another server has it
    if not same_file(lock, name + ".lock", directory):
        return 0  # removed meanwhile by a sweep (below): the next client starts a server again
    _say(lock, 0, 0)  # whose it is, at once: --stop reads it (_count)
    os.ftruncate(lock, _SAID)  # anything longer a server before it left
    with contextlib.suppress(Exception):  # a directory less tidy, never no server
        sweep(directory, keep=name)  # the lock files (and sockets) of servers gone
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=directory)  # a server's that died
    old = os.umask(0o077)
    listener.bind(address(directory, name))
    os.umask(old)
    listener.listen(64)
    server = None
    try:
        server = _Server(listener, (directory, name), own_key, lock)
        return server.run()
    finally:
        if server is None or server.lock >= 0:  # the name is ours while the lock is (_stop gives up both)
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=directory)


NAMESPACES = ("mnt", "pid", "user", "net", "ipc", "uts", "cgroup")
CONFINING = (b"NoNewPrivs", b"Seccomp", b"Seccomp_filters", b"Groups")  # of /proc/PID/status


def _confinement(pid: str) -> tuple[bytes, ...] | None:
    """What a process's sandbox is made of: its namespaces, no_new_privs, seccomp, supplementary
    groups and cgroups. A client's must be the server's, whose child runs git and gofmt from the
    client's PATH outside any sandbox the client is in; None (never equal) if any cannot be read.
    All read through one fd of /proc/PID: one process's, or (gone) none."""
    try:
        proc = os.open(f"/proc/{pid}", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            links = [os.fsencode(os.readlink(f"ns/{name}", dir_fd=proc)) for name in NAMESPACES]
            status = [line for line in _read(proc, "status").split(b"\n") if line.partition(b":")[0] in CONFINING]
            cgroups = _read(proc, "cgroup")
        finally:
            os.close(proc)
    except OSError:
        return None
    if {line.partition(b":")[0] for line in status} < {b"NoNewPrivs", b"Seccomp", b"Groups"}:
        return None
    return (*links, *status, cgroups)


def _read(directory: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=directory)
    try:
        data = b""
        while chunk := os.read(fd, 1 << 16):
            data += chunk
        return data
    finally:
        os.close(fd)


def _key() -> bytes | None:
    """The server's key, None if it cannot be made (a client's failing so runs in-process)."""
    try:
        return key()
    except Exception:
        return None


class _Server:
    def __init__(self, listener: socket.socket, path: tuple[int, str], own_key: bytes, lock: int) -> None:
        import importlib
        import select

        for name in WARM:
            importlib.import_module(name)
        _warm_engine()
        import gc

        gc.collect()
        gc.freeze()  # what a child shares with the server stays shared: no copy on write by the collector
        self.listener, self.path, self.key, self.lock = listener, path, own_key, lock
        self.confinement = _confinement("self")
        try:
            self.idle = float(os.environ.get(IDLE_VARIABLE, IDLE))
        except ValueError:
            self.idle = IDLE
        self.poll = select.poll()
        self.select = select
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGTERM, lambda *_: None)  # wakes the loop through the pipe
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.poll.register(listener.fileno(), select.POLLIN)
        self.poll.register(self.wake_read, select.POLLIN)
        self.children: dict[int, tuple[int, socket.socket]] = {}  # pidfd: (pid, connection)
        self.connections: dict[int, int] = {}  # a connection's fd: its child's pidfd
        self.spare: tuple[int, int, socket.socket] | None = None  # pid, pidfd, the socket it waits on
        self.stopping = False
        self.served = 0
        self._count()
        self._fork_spare()

    def run(self) -> int:
        import time

        last = checked = time.monotonic()
        while not (self.stopping and not self.children):
            now = time.monotonic()
            wait = CHECK_EVERY if self.children else min(CHECK_EVERY, max(0.0, last + self.idle - now))
            for fd, _ in self.poll.poll(int(wait * 1000) + 1):
                if fd == self.wake_read:
                    self._signals()
                elif fd == self.listener.fileno() and not self.stopping:
                    self._accept()
                    last = time.monotonic()
                elif fd in self.children:
                    self._reap(fd)
                    last = time.monotonic()
                elif fd in self.connections:
                    self._client_gone(fd)
                elif self.spare is not None and fd == self.spare[1]:
                    self._spare_ended()
            now = time.monotonic()
            if not self.children and now - last >= self.idle:
                self._stop()
            if now - checked >= CHECK_EVERY:
                checked = now
                if _key() != self.key:  # (None: it cannot be made now, as a client's cannot)
                    self._stop()
        return 0

    def _count(self) -> None:
        """The lock file says the server's pid, how many runs it has served (a run in the client's
        own process leaves it as it was) and its spare's pid (0: none): tests/test_server.py."""
        _say(self.lock, self.served, self.spare[0] if self.spare else 0)

    def _stop(self) -> None:
        """No more runs: the socket's name and its lock go to the next server at once; the runs
        going on finish."""
        if not self.stopping:
            self.stopping = True
            self._drop_spare()
            self.poll.unregister(self.listener.fileno())
            for name in (self.path[1], self.path[1] + TREES):
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=self.path[0])
            self.listener.close()
            os.close(self.lock)
            self.lock = -1

    def _signals(self) -> None:
        try:
            got = os.read(self.wake_read, 64)
        except BlockingIOError:
            return
        if signal.SIGTERM in got:
            self._stop()

    def _accept(self) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        try:
            client, uid, gid = peer(connection)
            if (uid, gid) != (os.getuid(), os.getgid()):  # our user only (and its group: the files a run creates)
                connection.close()
                return
            if _confinement(str(client)) != self.confinement:  # a process of ours in another sandbox: its own run
                with contextlib.suppress(OSError):
                    connection.sendall(REFUSED, socket.MSG_NOSIGNAL)
                connection.close()
                return
        except OSError:
            connection.close()
            return
        child = self._hand_to_spare(connection) or self._fork(connection)
        if child is None:
            connection.close()
            return
        pid, pidfd = child
        self.served += 1
        self._count()
        self.children[pidfd] = (pid, connection)
        self.connections[connection.fileno()] = pidfd
        self.poll.register(pidfd, self.select.POLLIN)
        self.poll.register(connection.fileno(), self.select.POLLRDHUP)

    def _fork(self, connection: socket.socket) -> tuple[int, int] | None:
        """A child forked for the run on `connection` (when no spare waits): its pid and pidfd."""
        try:
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:
            try:
                at = self._trees_at()
                self._forget()
                _child(connection, self.key, at)
            finally:
                os._exit(2)
        try:
            return pid, os.pidfd_open(pid)
        except OSError:  # (out of fds): the child would say HELLO and run; killed, not waited for a run long
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None

    def _fork_spare(self) -> None:
        """A child forked ahead of the next run, so that the fork and the child's first steps are
        off that run's path: it waits for one connection (handed over by _hand_to_spare, after the
        checks of _accept), takes on that client's directory, environment and streams and runs its
        request as a child forked for it would, and exits. One run per child: a spare taken is
        never handed another, and the next spare is forked once the server is idle again."""
        if self.spare is not None or self.stopping:
            return
        try:
            ours, theirs = socket.socketpair()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return
        if pid == 0:
            try:
                ours.close()
                at, wait = self._trees_at(), trees.waiting()
                self._forget()
                os.environ.clear()  # the server's, of no run's: a run gets its client's, whole (half the cost of that, ahead)
                with contextlib.suppress(Exception):  # the last run's files parsed ahead, unless the next run comes first
                    trees.take(*at, lambda seconds: not _ready(theirs, seconds), wait)
                connection = _handed(theirs)
                if connection is None:  # the server stopped or dropped it: nothing to run
                    os._exit(0)
                _child(connection, self.key, at)
            finally:
                os._exit(2)
        theirs.close()
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            ours.close()  # (it reads EOF and exits)
            os.waitpid(pid, 0)
            return
        self.spare = (pid, pidfd, ours)
        self.poll.register(pidfd, self.select.POLLIN)  # (it dies waiting: reaped, not left a zombie)
        self._count()
        # The pages the server now shares with the spare are copied on its first write to them (a
        # reference count changed): the next accept's checks would pay that on a run's path.
        _confinement("self")

    def _hand_to_spare(self, connection: socket.socket) -> tuple[int, int] | None:
        """The spare's pid and pidfd, `connection` handed to it; None if there is none, or it died."""
        if self.spare is None:
            return None
        pid, pidfd, control = self.spare
        try:
            socket.send_fds(control, [b"C"], [connection.fileno()])
        except OSError:
            self._drop_spare()
            return None
        self.spare = None
        control.close()
        return pid, pidfd

    def _drop_spare(self) -> None:
        """The spare, if any, ended (it never got a connection) and reaped."""
        if self.spare is None:
            return
        pid, pidfd, control = self.spare
        self.spare = None
        self.poll.unregister(pidfd)
        control.close()
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)  # (stopped, it would not read EOF)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        os.close(pidfd)
        if self.lock >= 0:
            self._count()

    def _spare_ended(self) -> None:
        """The spare's pidfd is readable: if it did end (killed while it waited), it is reaped, and
        the next run gets a child forked for it. (Not if it did not: a readiness of the fd number
        the pidfd took over from one closed in the same round of poll.)"""
        assert self.spare is not None
        pid, pidfd, control = self.spare
        try:
            ended, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            ended = pid
        if ended:
            self.spare = None
            self.poll.unregister(pidfd)
            os.close(pidfd)
            control.close()
            self._count()

    def _trees_at(self) -> tuple[int, str]:
        """In a child, before _forget: the server's directory (an fd of the child's own) and the name
        of the file where one run leaves the next the files it parsed (driver/trees.py); -1 where no
        fd is to be had (out of fds): then neither leaves nor takes any, and the run is as ever."""
        try:
            directory = os.dup(self.path[0])
        except OSError:
            directory = -1
        return directory, self.path[1] + TREES

    def _forget(self) -> None:
        """In a child: nothing of the server's stays open or installed."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        self.listener.close()
        spare = [self.spare[1]] if self.spare else []
        for fd in (self.wake_read, self.wake_write, self.lock, self.path[0], *self.children, *spare):
            if fd >= 0:
                os.close(fd)
        for _, connection in self.children.values():
            connection.close()
        if self.spare:
            self.spare[2].close()

    def _reap(self, pidfd: int) -> None:
        pid, connection = self.children.pop(pidfd)
        self.poll.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        fd = connection.fileno()
        if fd in self.connections:
            del self.connections[fd]
            self.poll.unregister(fd)
        with contextlib.suppress(OSError):
            connection.sendall(STATUS + to_int(status), socket.MSG_NOSIGNAL)
        connection.close()
        self._fork_spare()  # the next run's, now that this one is over

    def _client_gone(self, fd: int) -> None:
        """The client is gone: killed (so is its run: SIGTERM, which leaves no temporary file), or
        it had the run's CODE and exited (the child is ending)."""
        pidfd = self.connections.pop(fd)
        self.poll.unregister(fd)
        pid, _ = self.children[pidfd]
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def _ready(control: socket.socket, seconds: float) -> bool:
    """In a spare: whether the server hands it something (a connection, or its end closed) within `seconds`."""
    import select

    waiting = select.poll()
    waiting.register(control.fileno(), select.POLLIN)
    return bool(waiting.poll(int(seconds * 1000)))


def _handed(control: socket.socket) -> socket.socket | None:
    """In a spare: the connection the server hands it, None if the server closes its end instead."""
    try:
        _, fds, _, _ = socket.recv_fds(control, 1, 1)
    except OSError:
        return None
    finally:
        control.close()
    if not fds:
        return None
    os.set_inheritable(fds[0], False)  # as the server's accepted connection is (SOCK_CLOEXEC): never a command's
    return socket.socket(fileno=fds[0])


def _say(lock: int, served: int, spare: int) -> None:
    """The lock file's words: the server's pid, the runs it served, its spare's pid; written over
    the last at one width, never truncated first (a reader between the truncation and the write
    found it empty: a server missed by --stop, by the tests' count). (A lock file just made is
    empty until the server's first words, as before.)"""
    os.pwrite(lock, f"{os.getpid()} {served} {spare}".ljust(_SAID - 1).encode() + b"\n", 0)


_SAID = 48  # the lock file's bytes (server.stop reads 64)


def _child(connection: socket.socket, own_key: bytes, trees_at: tuple[int, str]) -> None:
    """A served run, in a child of the server: HELLO, the client's request and GO, then its run;
    never returns. `trees_at`: where it leaves the next child the files it parsed (_Server._trees_at)."""
    connection.sendall(HELLO + to_int(os.getpid()))
    # A generous time limit: a client stopped here (^Z) sends its request and GO when it goes on,
    # and expects the run done; one that gave up or was killed has closed its end (EOF). A
    # connection that sends nothing does not keep a child (and a stopping server) for good.
    connection.settimeout(REQUEST_WITHIN)
    try:
        data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 4)
        size = from_int(data) if len(data) >= INT_SIZE else -1
        while 0 <= size <= MAX_REQUEST and len(data) < INT_SIZE + size + len(GO):
            chunk = connection.recv(INT_SIZE + size + len(GO) - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        data, size = b"", -1
    connection.settimeout(None)
    if not 0 <= size <= MAX_REQUEST or data[INT_SIZE + size :] != GO:
        # Not run. REFUSED: a client still waiting (a read that failed) runs it itself; one that
        # gave up hears nothing. Exit 2, not 0: a client that missed REFUSED must not read success.
        with contextlib.suppress(OSError):
            connection.sendall(REFUSED, socket.MSG_NOSIGNAL)
        os._exit(2)
    try:  # from GO on, the run is this child's: any failure before it starts is REFUSED (not run)
        args = _take_on(unpack(data[INT_SIZE : INT_SIZE + size]), fds, own_key)
    except Exception:
        args = None
    if args is None:
        connection.sendall(REFUSED)
        os._exit(0)
    cache.defer_saves()
    code = _run(args)
    # CODE, after which the client exits as the run did (the child's own exit, the server's reaping
    # and STATUS are not waited for); no signal stops it half way. Then, the client's streams let
    # go (a reader of its pipes, as pre-commit, sees their end), what the run left for later: its
    # cache's writes, and the files it parsed for the next child (driver/trees.py).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the server's SIGTERM as the client goes: for any thread
        signal.signal(number, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        connection.sendall(CODE + to_int(code), socket.MSG_NOSIGNAL)
    connection.close()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    with contextlib.suppress(BaseException):  # a cache that cannot be written only costs time
        cache.saved_later()
    with contextlib.suppress(BaseException):  # nor do trees not left
        trees.leave(*trees_at)
    os._exit(code)


def _take_on(fields: list[bytes], fds: list[int], own_key: bytes) -> list[str] | None:
    """The client's directory, umask, environment and streams taken on: the run's args; None (and
    nothing taken on) if the request is not for this server."""
    present = int(fields[2])
    wanted = [fd for fd in (0, 1, 2) if present & 1 << fd]
    if fields[0] != own_key or len(fds) != len(wanted) + 1:
        return None
    umask, infos, argv0, count = int(fields[1]), fields[3:6], fields[6], int(fields[7])
    args = [os.fsdecode(arg) for arg in fields[8 : 8 + count]]
    environment = fields[8 + count :]
    os.fchdir(fds[-1])
    os.close(fds[-1])
    os.umask(umask)
    os.environ.clear()
    for entry in environment:
        name, _, value = entry.partition(b"=")
        os.environb[name] = value
    for fd, received in zip(wanted, fds, strict=False):
        os.dup2(received, fd)
        os.close(received)
    for fd in {0, 1, 2} - set(wanted):
        os.close(fd)
    for fd, stream_name, info in zip((0, 1, 2), STREAMS, infos, strict=True):
        stream = _stream(fd, stream_name, info) if fd in wanted and info else None
        setattr(sys, stream_name, stream)
        setattr(sys, f"__{stream_name}__", stream)
    sys.argv = [os.fsdecode(argv0), *args]
    return args


def _stream(fd: int, name: str, info: bytes) -> object:
    """sys.stdin, sys.stdout or sys.stderr over `fd`, made as the interpreter makes it at start
    (create_stdio), with the encoding, errors and buffering the client's interpreter chose."""
    import io

    encoding, errors, line_buffering, write_through, buffered = info.decode().split("\0")
    reading = fd == 0
    buffering = -1 if buffered or reading else 0
    buffer: Any = open(fd, "rb" if reading else "wb", buffering, closefd=False)  # noqa: SIM115  # sys.std* for good
    raw = buffer.raw if buffering else buffer
    raw.name = f"<{name}>"
    text = io.TextIOWrapper(
        buffer,
        encoding=encoding,
        errors=errors,
        newline="\n",
        line_buffering=bool(line_buffering),
        write_through=bool(write_through),
    )
    text.mode = "r" if reading else "w"  # type: ignore[misc]
    return text


def _run(args: list[str]) -> int:
    """The run's exit code, with what the interpreter does on its way out: SystemExit's code,
    atexit's functions, the last flush of stdout and stderr (120 if stdout's fails)."""
    import atexit

    try:
        code = in_process(args)
    except SystemExit as exc:
        code = _system_exit(exc)
    except BaseException as exc:
        import traceback

        traceback.print_exc()
        code = 1
        if isinstance(exc, KeyboardInterrupt):  # as the interpreter ends on one: killed by SIGINT
            atexit._run_exitfuncs()
            _flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
    atexit._run_exitfuncs()
    return _flush() or code & 0xFF


def _flush() -> int:
    """The interpreter's last flush of stdout and stderr: 120 if stdout's fails (said on stderr)."""
    code = 0
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            continue
        try:
            stream.flush()
        except Exception as exc:  # as the interpreter's flush_std_files: said on stderr, exit 120
            if name == "stdout":
                try:
                    sys.stderr.write(f"Exception ignored in: {stream!r}\n{type(exc).__name__}: {exc}\n")
                    sys.stderr.flush()
                except Exception:
                    pass
            code = 120
    return code


def _system_exit(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    with contextlib.suppress(Exception):
        print(exc.code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(serve(sys.argv[1], sys.argv[2]))
