package launch

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/reexec"
	"golang.org/x/sys/unix"

	"nucleus/nsenter"
)

// The child's entrypoint is registered with reexec and dispatched from this
// package's initialisation, so an embedding program needs no call in main
// and its main never runs inside a container. A program that calls
// reexec.Init() in main keeps working: for a nucleus child that call is never
// reached.
func init() {
	reexec.Register(entrypoint, childMain)
	if len(os.Args) > 0 && os.Args[0] == entrypoint {
		reexec.Init()
		os.Exit(1) // childMain does not return
	}
}

// childMain runs in the grandchild, inside every namespace of the target, on
// the main thread: read the config, harden this thread, execve.
//
// The thread is locked without runtime.LockOSThread: childMain runs only
// from this package's init, and the runtime locks the main goroutine to the
// main thread for the whole of package initialisation (runtime.main; the
// reason "LockOSThread in an init function makes main run on that thread"
// holds). An explicit LockOSThread would start the runtime's template
// thread, one more thread for execve to kill: ≈ 0.1 ms per attach. The
// check below makes the assumption fail loudly, never silently.
func childMain() {
	sock := os.NewFile(nsenter.FdSocket, "bootstrap")
	if unix.Gettid() != unix.Getpid() {
		report(sock, "child: not on the main thread during initialisation", 0)
	}
	if !nsenter.Joined() {
		// Without the constructor nothing was joined: running the command
		// now would run it on the host.
		report(sock, "nsenter: the namespace constructor did not run (binary built without cgo?)", 0)
	}
	cfg, err := readConfig(sock)
	if err != nil {
		report(sock, "read config: "+err.Error(), 0)
	}
	env := cfg.Env
	if cfg.NeedHome {
		env = append(env, "HOME="+homeOf(cfg.Identity.UID))
	}
	path, err := lookPath(cfg.Args[0], env)
	if err != nil {
		reportExec(sock, cfg.Args[0], unix.ENOENT)
	}
	if err := cfg.Program.Apply(cfg.Identity, cfg.Dir); err != nil {
		var errno syscall.Errno
		errors.As(err, &errno)
		report(sock, err.Error(), errno)
	}
	err = syscall.Exec(path, cfg.Args, env)
	var errno syscall.Errno
	errors.As(err, &errno)
	reportExec(sock, path, errno)
}

// report sends a failure to the parent and exits.
func report(sock *os.File, text string, errno syscall.Errno) {
	_ = nsenter.WriteMessage(sock, nsenter.Message{Type: nsenter.MsgError, Value: int32(errno), Text: text})
	os.Exit(1)
}

// reportExec says the command could not be executed, and exits.
func reportExec(sock *os.File, path string, errno syscall.Errno) {
	_ = nsenter.WriteMessage(sock, nsenter.Message{Type: nsenter.MsgExecError, Value: int32(errno), Text: path})
	os.Exit(1)
}

// maxConfig bounds what the child reads from the parent.
const maxConfig = 1 << 20

func readConfig(r io.Reader) (*childConfig, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.NativeEndian.Uint32(n[:])
	if size > maxConfig {
		return nil, fmt.Errorf("config of %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(b)
	if err != nil {
		return nil, err
	}
	if len(cfg.Args) == 0 || cfg.Program == nil {
		return nil, errors.New("incomplete config")
	}
	return cfg, nil
}

// lookPath finds a command without a slash in the PATH of its environment,
// inside the container.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			for _, dir := range strings.Split(v, ":") {
				if dir == "" || dir[0] != '/' {
					continue // a relative PATH entry would depend on the cwd
				}
				p := dir + "/" + name
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
					return p, nil
				}
			}
			break
		}
	}
	return "", exec.ErrNotFound
}

// homeOf returns the home directory of uid in the container's /etc/passwd,
// or "/" (as runc does). The file belongs to the container, which may be
// hostile: it must be a regular file, is opened without following a FIFO's
// block, and is read up to a bound.
func homeOf(uid uint32) string {
	fd, err := unix.Open("/etc/passwd", unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return "/"
	}
	f := os.NewFile(uintptr(fd), "/etc/passwd")
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "/"
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfig))
	if err != nil {
		return "/"
	}
	return homeFromPasswd(b, uid)
}

func homeFromPasswd(b []byte, uid uint32) string {
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 6 && f[2] == want && strings.HasPrefix(f[5], "/") {
			return f[5]
		}
	}
	return "/"
}
