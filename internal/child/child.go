package child

import (
	"errors"
	"strconv"
	"syscall"

	"nucleus/internal/hardencore"
)

// The wire constants of nucleus/nsenter that the child uses.
const (
	// FdSocket is the bootstrap socket's fd number in the child.
	FdSocket = 3
	// MsgError carries a failed step and its errno.
	MsgError = 2
	// MsgExecError says the command could not be executed.
	MsgExecError = 3
	// MessageSize is the size of one message on the wire.
	MessageSize = 256
)

// Main runs in the grandchild, inside every namespace of the target, on the
// main thread during package initialisation: read the config, harden this
// thread, execve. It never returns: a failure is reported to the parent over
// the socket and the process exits.
//
// The thread is locked without runtime.LockOSThread: Main runs only from
// package initialisation, and the runtime locks the main goroutine to the
// main thread for the whole of it (runtime.main). An explicit LockOSThread
// would start the runtime's template thread, one more thread for execve to
// kill. The check below makes the assumption fail loudly, never silently.
func Main() {
	if syscall.Gettid() != syscall.Getpid() {
		report("child: not on the main thread during initialisation", 0)
	}
	cfg, err := readConfig(FdSocket)
	if err != nil {
		report("read config: "+err.Error(), 0)
	}
	id, home := cfg.Identity, ""
	if cfg.User != "" {
		if id, home, err = resolveUser(cfg.User); err != nil {
			report("user "+quoteText(cfg.User)+": "+err.Error(), 0)
		}
	}
	env := cfg.Env
	if cfg.NeedHome {
		if home == "" {
			if home, err = homeOf(id.UID); err != nil {
				report("HOME: "+err.Error()+" (set HOME to skip the lookup)", 0)
			}
		}
		env = append(env, "HOME="+home)
	}
	if cfg.Mode != ModeExec {
		runMode(cfg, env) // a host binary or a copy worker (mode.go); never returns
	}
	path, err := lookPath(cfg.Args[0], env)
	if err != nil {
		reportExec(cfg.Args[0], syscall.ENOENT)
	}
	if err := cfg.Program.Apply(id, cfg.Dir); err != nil {
		var errno syscall.Errno
		errors.As(err, &errno)
		report(err.Error(), errno)
	}
	err = syscall.Exec(path, cfg.Args, env)
	var errno syscall.Errno
	errors.As(err, &errno)
	reportExec(path, errno|landlockRefused(cfg.Program, path, errno))
}

// ExecRefusedByLandlock is or'ed into the errno of an exec report when
// Landlock, not the file's mode, refused the execve: errnos stay below it.
const ExecRefusedByLandlock = 1 << 16

// landlockRefused tells an EACCES of execve that Landlock caused from one
// of the file's mode or the mount: access(2) applies the same DAC checks
// (and noexec mounts) but Landlock does not restrict it, so an EACCES that
// access(X_OK) does not reproduce came from Landlock.
func landlockRefused(p *hardencore.Program, path string, errno syscall.Errno) syscall.Errno {
	if errno != syscall.EACCES || p.Landlock == nil {
		return 0
	}
	if err := syscall.Faccessat(atFDCWD, path, 1 /* X_OK */, 0); err != nil {
		return 0
	}
	return ExecRefusedByLandlock
}

const atFDCWD = -100 // AT_FDCWD

// NotJoined reports, in a process started as a nucleus child whose
// constructor did not run or did not join, that nothing will be run, and
// exits. Running the command now would run it on the host.
func NotJoined() {
	report("nsenter: the namespace constructor did not run (binary built without cgo?)", 0)
}

// report sends a failure to the parent and exits.
func report(text string, errno syscall.Errno) {
	writeMessage(MsgError, int32(errno), text)
	syscall.Exit(1)
}

// reportExec says the command could not be executed, and exits.
func reportExec(path string, errno syscall.Errno) {
	writeMessage(MsgExecError, int32(errno), path)
	syscall.Exit(1)
}

// writeMessage sends one message in nsenter's layout: u32 type, i32 value,
// text NUL-terminated in the rest.
func writeMessage(typ uint32, value int32, text string) {
	var b [MessageSize]byte
	putU32(b[0:], typ)
	putU32(b[4:], uint32(value))
	copy(b[8:MessageSize-1], text)
	for off := 0; off < len(b); {
		n, err := syscall.Write(FdSocket, b[off:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		off += n
	}
}

// errNotFound is lookPath's answer for a command not in PATH.
var errNotFound = errors.New("executable file not found in $PATH")

// lookPath finds a command without a slash in the PATH of its environment,
// inside the container.
func lookPath(name string, env []string) (string, error) {
	if containsByte(name, '/') {
		return name, nil
	}
	// The first PATH entry, the one getenv(3) gives the command.
	for i := range env {
		if hasPrefix(env[i], "PATH=") {
			for _, dir := range split(env[i][len("PATH="):], ':') {
				if dir == "" || dir[0] != '/' {
					continue // a relative PATH entry would depend on the cwd
				}
				p := dir + "/" + name
				var st syscall.Stat_t
				if err := syscall.Stat(p, &st); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0 {
					return p, nil
				}
			}
			break
		}
	}
	return "", errNotFound
}

func indexByte(b []byte, c byte) int {
	for i, v := range b {
		if v == c {
			return i
		}
	}
	return -1
}

// readFull fills b from fd; io.ErrUnexpectedEOF's text when the peer
// closed early ("EOF" when nothing came).
func readFull(fd int, b []byte) error {
	for off := 0; off < len(b); {
		n, err := syscall.Read(fd, b[off:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if off == 0 {
				return errEOF
			}
			return errUnexpectedEOF
		}
		off += n
	}
	return nil
}

var (
	errEOF           = errors.New("EOF")
	errUnexpectedEOF = errors.New("unexpected EOF")
)

// readConfig reads the length-prefixed config record from fd.
func readConfig(fd int) (*Config, error) {
	var n [4]byte
	if err := readFull(fd, n[:]); err != nil {
		return nil, err
	}
	size := getU32(n[:])
	if size > MaxConfig {
		return nil, errors.New("config of " + strconv.FormatUint(uint64(size), 10) + " bytes")
	}
	b := make([]byte, size)
	if err := readFull(fd, b); err != nil {
		return nil, err
	}
	cfg, err := DecodeConfig(b)
	if err != nil {
		return nil, err
	}
	if len(cfg.Args) == 0 || cfg.Program == nil {
		return nil, errors.New("incomplete config")
	}
	return cfg, nil
}
