// Command goinstrument-hook-client is the git hook's client of goinstrument's warm server,
// built by `goinstrument --install-hook` where a Go toolchain is found. It does what the
// Python client (goinstrument/server.py) does when a server is up, without starting an
// interpreter (~15 ms of every commit): it hands the run to the server's child over the
// socket and exits as the run did.
//
// Usage: goinstrument-hook-client PYTHON ARGS...
//
// It never decides which server is the right one itself. When it runs the Python client in its
// place, it asks it (GOINSTRUMENT_MANIFEST=1) to leave a manifest in the socket directory: the
// key that client made, its socket, and every input the key was made from (the environment
// but a commit's own variables, the working directory, the cgroups, the streams' setup, and the
// size, mtime, ctime and inode of the interpreter, sys.path's entries, site's directories and
// .pth files, the modules loaded at start and goinstrument's files), and this client's source
// checksum. This client uses a manifest only where all of them are as they were: a fresh
// Python client would send the same key to the same socket. Anything else (no manifest, an
// input changed, no server, a refusal) and it runs `PYTHON -P -c HOOK_CODE ARGS` in its place
// (exec), the hook without it: that client starts a server if none is up, and the run is done
// once, by a server's child or in-process.
package main

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	oPath            = 0o10000000 // O_PATH, which package syscall does not name (Linux's generic value)
	hookCode         = "import sys; from goinstrument.server import main; sys.exit(main())"
	magic            = "goinstrument hook manifest 1"
	manifestVariable = "GOINSTRUMENT_MANIFEST"
	prime            = (1 << 61) - 2373
	maxRequest       = 16 << 20
	answerWithin     = 10 * time.Second
)

// source is the checksum of this file, set by the build (-ldflags -X): a manifest made for
// another client (an upgrade's, before --install-hook builds its own) is not this one's.
var source = ""

// The conversation's words (server.py).
const hello, goWord, refused, code, status = 'H', 'G', 'R', 'C', 'S'

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goinstrument-hook-client PYTHON ARGS...")
		os.Exit(2)
	}
	python, args := os.Args[1], os.Args[2:]
	if !strings.HasPrefix(python, "/") {
		runPython(python, hookCode, args) // (sys.executable would be another string)
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	forward := &forwarder{}
	go forward.run(signals)
	fd, pid, why := handOver(python, args, forward)
	if why != "" {
		trace("python: " + why)
		if sig := forward.first(false); sig != 0 {
			os.Exit(128 + int(sig)) // interrupted before anything ran
		}
		runPython(python, hookCode, args)
	}
	trace(fmt.Sprint("served by ", pid))
	forward.start(pid)
	os.Exit(outcome(fd, python, args, forward))
}

// runPython is this process replaced by the interpreter running `code` with args: the hook as
// it is without this client, asked to leave a manifest for the next run (server.MANIFEST_VARIABLE).
func runPython(python, code string, args []string) {
	signal.Reset()
	environ := os.Environ()
	if code == hookCode {
		environ = append(environ, manifestVariable+"=1")
	}
	err := syscall.Exec(python, append([]string{python, "-P", "-c", code}, args...), environ)
	fmt.Fprintf(os.Stderr, "goinstrument hook: cannot run %s: %v\n", python, err)
	os.Exit(2)
}

type forwarder struct {
	mu       sync.Mutex
	pid      int
	pending  []syscall.Signal // received before the run was handed over
	received []syscall.Signal
}

func (f *forwarder) run(signals <-chan os.Signal) {
	for s := range signals {
		sig := s.(syscall.Signal)
		f.mu.Lock()
		f.received = append(f.received, sig)
		if f.pid > 0 {
			syscall.Kill(f.pid, sig)
		} else {
			f.pending = append(f.pending, sig)
		}
		f.mu.Unlock()
	}
}

// first: the first signal received before the run was handed over, or (all) at any time.
func (f *forwarder) first(all bool) syscall.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	signals := f.pending
	if all {
		signals = f.received
	}
	if len(signals) > 0 {
		return signals[0]
	}
	return 0
}

func (f *forwarder) start(pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pid = pid
	for _, sig := range f.pending {
		syscall.Kill(pid, sig)
	}
	f.pending = nil
}

// trace: what became of the run, a line appended to the file GOINSTRUMENT_CLIENT_TRACE names.
func trace(what string) {
	if path := os.Getenv("GOINSTRUMENT_CLIENT_TRACE"); path != "" {
		if file, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
			file.WriteString(what + "\n")
			file.Close()
		}
	}
}

// handOver: the socket to a server's child that was sent the request and GO, and its pid; or
// why none was (nothing ran).
func handOver(python string, args []string, forward *forwarder) (sock int, pid int, why string) {
	defer func() { // a bug of ours (a manifest it misreads): Python's client, never a failed commit
		if recover() != nil {
			sock, pid, why = -1, 0, "internal error"
		}
	}()
	if os.Getenv("GOINSTRUMENT_SERVER") == "0" || os.Getenv("CI") != "" {
		return -1, 0, "no server wanted"
	}
	dir, ok := directory()
	if !ok {
		return -1, 0, "no socket directory of ours"
	}
	defer syscall.Close(dir)
	environ := os.Environ()
	m, why := manifest(dir, python, environ)
	if why != "" {
		return -1, 0, why
	}
	sock, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, "no socket"
	}
	pid, err = helloFrom(sock, fmt.Sprintf("/proc/self/fd/%d/%s", dir, m.socket))
	switch {
	case err != nil:
		why = "no server: " + err.Error()
	case pid == 0:
		why = "refused by the server"
	case forward.first(false) != 0:
		why = "interrupted"
	default:
		if err = send(sock, m, args, environ); err == nil {
			return sock, pid, ""
		}
		why = "not sent: " + err.Error()
	}
	syscall.Close(sock)
	return -1, 0, why
}

// directory: an fd of this user's socket directory, if it is a directory of ours (not a
// symlink) that no one else may enter.
func directory() (int, bool) {
	path := fmt.Sprintf("/tmp/goinstrument-%d", os.Getuid())
	if runtime := os.Getenv("XDG_RUNTIME_DIR"); strings.HasPrefix(runtime, "/") {
		path = runtime + "/goinstrument"
	}
	fd, err := syscall.Open(path, oPath|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, false
	}
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		syscall.Close(fd)
		return -1, false
	}
	return fd, true
}

type found struct {
	socket  string
	key     []byte
	argv0   []byte
	streams [3][]string // encoding, errors, write_through, buffered; nil: none was open
}

// checksum is goinstrument.server.checksum: the bytes as a big-endian number modulo prime.
func checksum(data []byte) string {
	var h uint64
	for _, b := range data {
		_, h = bits.Div64(h>>56, h<<8|uint64(b), prime) // (h*256 + b) mod prime; h>>56 < prime
	}
	return fmt.Sprintf("%016x", h)
}

// manifestName: the manifest of a Python client run with this interpreter, directory and
// environment (server.manifest_name).
func manifestName(python, cwd string, variables []string) string {
	lookup := []byte(strings.Join(append([]string{python, cwd}, variables...), "\x00"))
	return fmt.Sprintf("m-%s-%x", checksum(lookup), len(lookup))
}

// keyVariables: the environment but the variables of a commit's own, which no start of Python
// reads (server.key_variable), sorted.
func keyVariables(environ []string) []string {
	var found []string
	for _, entry := range environ {
		name, _, _ := strings.Cut(entry, "=")
		if !strings.HasPrefix(name, "GIT_") && name != "PWD" && name != "OLDPWD" && name != "SHLVL" && name != "_" && name != "GOINSTRUMENT_CLIENT_TRACE" {
			found = append(found, entry)
		}
	}
	sort.Strings(found)
	return found
}

// manifest: the Python client's manifest for this interpreter, directory and environment, if
// every input it names is as it was; else why not.
func manifest(dir int, python string, environ []string) (found, string) {
	var none found
	cwd, err := syscall.Getwd()
	if err != nil {
		return none, "no current directory"
	}
	variables := keyVariables(environ)
	data, ok := readAt(dir, manifestName(python, cwd, variables))
	if !ok {
		return none, "no manifest"
	}
	fields, ok := unpack(data)
	if !ok || len(fields) < 13 || string(fields[0]) != magic || string(fields[2]) != python || string(fields[3]) != cwd {
		return none, "another manifest"
	}
	if string(fields[1]) != source {
		return none, "a manifest for another client"
	}
	at := 4
	count, ok := number(fields[at])
	if !ok || count != len(variables) || at+1+count > len(fields) {
		return none, "another environment"
	}
	for i, entry := range variables {
		if string(fields[at+1+i]) != entry {
			return none, "another environment"
		}
	}
	at += 1 + count
	if len(fields) < at+8 {
		return none, "a manifest cut short"
	}
	cgroups, err := os.ReadFile("/proc/self/cgroup")
	if err != nil || string(fields[at]) != string(cgroups) {
		return none, "another cgroup"
	}
	m := found{socket: string(fields[at+1]), key: fields[at+2], argv0: fields[at+3]}
	if strings.ContainsAny(m.socket, "/\x00") || m.socket == "" {
		return none, "a manifest without a socket"
	}
	for i := 0; i < 3; i++ {
		if len(fields[at+4+i]) > 0 {
			m.streams[i] = strings.Split(string(fields[at+4+i]), "\x00")
			if len(m.streams[i]) != 4 {
				return none, "a manifest without streams"
			}
		}
	}
	at += 7
	checks, ok := number(fields[at])
	if !ok || len(fields) != at+1+2*checks {
		return none, "a manifest cut short"
	}
	for i := 0; i < checks; i++ {
		if check := string(fields[at+1+2*i]); len(check) < 2 {
			return none, "a manifest without a path"
		} else if !unchanged(check, string(fields[at+2+2*i])) {
			return none, "changed: " + check[1:] // (the path, without its S or L)
		}
	}
	return m, ""
}

// unchanged: whether the file is as the manifest says ("S" + path: stat; "L" + path: lstat).
func unchanged(check, version string) bool {
	var st syscall.Stat_t
	var err error
	switch check[0] {
	case 'S':
		err = syscall.Stat(check[1:], &st)
	case 'L':
		err = syscall.Lstat(check[1:], &st)
	default:
		return false
	}
	if err != nil {
		return version == "-"
	}
	now := fmt.Sprintf("%d:%d:%d:%d", st.Size, st.Mtim.Sec*1e9+st.Mtim.Nsec, st.Ctim.Sec*1e9+st.Ctim.Nsec, st.Ino)
	return now == version
}

func readAt(dir int, name string) ([]byte, bool) {
	fd, err := syscall.Openat(dir, name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, false
	}
	var data []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n == 0 {
			return data, true
		}
		data = append(data, buf[:n]...)
		if len(data) > maxRequest {
			return nil, false
		}
	}
}

func number(field []byte) (int, bool) {
	n := 0
	if len(field) == 0 || len(field) > 9 {
		return 0, false
	}
	for _, c := range field {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func unpack(data []byte) ([][]byte, bool) {
	var fields [][]byte
	for at := 0; at < len(data); {
		if at+4 > len(data) {
			return nil, false
		}
		size := int(int32(binary.BigEndian.Uint32(data[at:])))
		at += 4
		if size < 0 || at+size > len(data) {
			return nil, false
		}
		fields = append(fields, data[at:at+size])
		at += size
	}
	return fields, true
}

func pack(fields [][]byte) []byte {
	var out []byte
	for _, f := range fields {
		out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
		out = append(out, f...)
	}
	return out
}

// helloFrom: the pid of the server's child that said HELLO on the socket at path; 0 if the
// server refused this client.
func helloFrom(sock int, path string) (int, error) {
	if err := syscall.Connect(sock, &syscall.SockaddrUnix{Name: path}); err != nil {
		return 0, err
	}
	cred, err := syscall.GetsockoptUcred(sock, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil || int(cred.Uid) != os.Getuid() {
		return 0, fmt.Errorf("not our server")
	}
	tv := syscall.NsecToTimeval(int64(answerWithin))
	syscall.SetsockoptTimeval(sock, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	answer := readExactly(sock, 5)
	if len(answer) >= 1 && answer[0] == refused {
		return 0, nil
	}
	if len(answer) < 5 || answer[0] != hello {
		return 0, fmt.Errorf("no server's child answered")
	}
	var zero syscall.Timeval
	syscall.SetsockoptTimeval(sock, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &zero)
	pid := int(int32(binary.BigEndian.Uint32(answer[1:])))
	if pid < 1 {
		pid = 1
	}
	return pid, nil
}

func readExactly(sock, size int) []byte {
	data := make([]byte, 0, size)
	buf := make([]byte, size)
	for len(data) < size {
		n, err := syscall.Read(sock, buf[:size-len(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		data = append(data, buf[:n]...)
	}
	return data
}

// send: the request (server._request's fields), this process's stdin, stdout, stderr and
// current directory beside it (SCM_RIGHTS), and GO last.
func send(sock int, m found, args, environ []string) error {
	var fds []int
	present := 0
	infos := [3][]byte{}
	for fd := 0; fd < 3; fd++ {
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil {
			continue
		}
		if m.streams[fd] == nil {
			return fmt.Errorf("no stream like the Python client's")
		}
		fds = append(fds, fd)
		present |= 1 << fd
		s := m.streams[fd]
		lineBuffered := ""
		if s[2] == "" && (isatty(fd) || fd == 2) { // the interpreter's create_stdio
			lineBuffered = "1"
		}
		infos[fd] = []byte(strings.Join([]string{s[0], s[1], lineBuffered, s[2], s[3]}, "\x00"))
	}
	umask := syscall.Umask(0o022)
	syscall.Umask(umask)
	fields := [][]byte{m.key, []byte(fmt.Sprint(umask)), []byte(fmt.Sprint(present)), infos[0], infos[1], infos[2], m.argv0, []byte(fmt.Sprint(len(args)))}
	for _, arg := range args {
		fields = append(fields, []byte(arg))
	}
	for _, entry := range environ {
		fields = append(fields, []byte(entry))
	}
	data := pack(fields)
	if len(data) > maxRequest {
		return fmt.Errorf("a request too large")
	}
	cwd, err := syscall.Open(".", oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(cwd)
	message := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	message = append(append(message, data...), goWord)
	sent, err := syscall.SendmsgN(sock, message, syscall.UnixRights(append(fds, cwd)...), nil, 0)
	for err == syscall.EINTR {
		sent, err = syscall.SendmsgN(sock, message, syscall.UnixRights(append(fds, cwd)...), nil, 0)
	}
	if err != nil {
		return err
	}
	for sent < len(message) {
		n, err := syscall.Write(sock, message[sent:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		sent += n
	}
	return nil
}

func isatty(fd int) bool {
	var termios syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&termios)))
	return errno == 0
}

// outcome: the exit of the run the child was told to do (server._outcome and _exit_as).
// A refusal after GO (another key than the manifest's): the child did nothing, and the run is
// Python's client's, which leaves a manifest of what is there now; or, interrupted meanwhile, none.
func outcome(sock int, python string, args []string, forward *forwarder) int {
	kind := readExactly(sock, 1)
	if len(kind) == 1 && kind[0] == refused {
		syscall.Close(sock)
		trace("python: refused after GO")
		if sig := forward.first(true); sig != 0 {
			return 128 + int(sig)
		}
		runPython(python, hookCode, args)
	}
	if len(kind) == 1 && (kind[0] == code || kind[0] == status) {
		value := readExactly(sock, 4)
		if len(value) == 4 {
			n := int(int32(binary.BigEndian.Uint32(value)))
			if kind[0] == code {
				return n
			}
			ws := syscall.WaitStatus(n)
			if ws.Signaled() { // as a shell says a process killed by it: 128 + the signal
				return 128 + int(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
	os.Stderr.WriteString("goinstrument: the server ended before the run did; the run may be half done (GOINSTRUMENT_SERVER=0 runs without it)\n")
	return 2
}
