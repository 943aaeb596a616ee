package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

func init() { commands["init"] = initMain }

// initMain is PID 1 of a test container. Its namespaces (mnt, pid, uts, ipc,
// net, and user when rootless) were created by the clone that started it; it
// waits for the "go" byte on fd 4 (the parent has then placed it in its
// cgroups), builds the container's filesystem view, and reports "ready\n" on
// fd 3. It then reaps orphans until SIGTERM or EOF on fd 4 (the parent closed
// the container or died); SIGUSR1/SIGUSR2 stop/start the HTTP listener and
// are acknowledged on fd 3.
func initMain(args []string) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	rootfs := fs.String("rootfs", "", "host path of the root filesystem")
	hostname := fs.String("hostname", "nucleus-test", "hostname")
	port := fs.Int("port", 0, "serve HTTP on 127.0.0.1:PORT when > 0")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(step string, err error) int {
		fmt.Fprintf(os.Stderr, "init: %s: %v\n", step, err)
		return 1
	}
	if os.Getpid() != 1 {
		return fail("check", fmt.Errorf("pid is %d, not 1 (not in a new pid namespace)", os.Getpid()))
	}
	if *rootfs == "" {
		return fail("check", errors.New("-rootfs is required"))
	}
	ready, gate := os.NewFile(3, "ready"), os.NewFile(4, "gate")
	if _, err := gate.Read(make([]byte, 1)); err != nil {
		return fail("wait for go", err)
	}
	// The parent holds the gate open until it closes the container: EOF
	// means it is gone, and so must the container be (exiting as PID 1
	// kills every process of the pid namespace).
	go func() {
		gate.Read(make([]byte, 1))
		os.Exit(0)
	}()

	// Handle signals before anything else can send them. Signals the kernel
	// would deliver to PID 1 only because Go installed a handler are ignored.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGUSR1, unix.SIGUSR2, unix.SIGTERM)
	signal.Ignore(unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGPIPE)

	// A new cgroup namespace now, on the main thread (see main.go), so that
	// its root is the cgroup the parent just put us in.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fail("unshare(cgroup)", err)
	}
	if err := setupRoot(*rootfs); err != nil {
		return fail("rootfs", err)
	}
	if err := unix.Sethostname([]byte(*hostname)); err != nil {
		return fail("sethostname", err)
	}
	if err := loopbackUp(); err != nil {
		return fail("loopback", err)
	}
	var srv *http.Server
	if *port > 0 {
		var err error
		if srv, err = serve(*port); err != nil {
			return fail("listen", err)
		}
	}
	if _, err := ready.Write([]byte("ready\n")); err != nil {
		return fail("report ready", err)
	}

	for sig := range sigs {
		switch sig {
		case unix.SIGCHLD:
			reap()
		case unix.SIGTERM:
			return 0
		case unix.SIGUSR1:
			if srv != nil {
				srv.Close()
				srv = nil
			}
			fmt.Fprintf(ready, "listener stopped\n")
		case unix.SIGUSR2:
			if srv == nil && *port > 0 {
				var err error
				if srv, err = serve(*port); err != nil {
					fmt.Fprintf(ready, "listener error: %v\n", err)
					continue
				}
			}
			fmt.Fprintf(ready, "listener started\n")
		}
	}
	return 0
}

// reap collects every exited child: orphans of the container reparent to
// PID 1 of its pid namespace.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil && err != unix.EINTR {
			return
		}
	}
}

// setupRoot makes rootfs the root of this mount namespace with its own /proc,
// /tmp, /dev and /dev/shm, and detaches the host's root.
func setupRoot(rootfs string) error {
	type step struct {
		name        string
		src, target string
		fstype      string
		flags       uintptr
		data        string
	}
	const nsd = unix.MS_NOSUID | unix.MS_NODEV
	steps := []step{
		// Nothing we mount may propagate back to the host.
		{"make / rprivate", "", "/", "", unix.MS_REC | unix.MS_PRIVATE, ""},
		// pivot_root needs the new root to be a mount point.
		{"bind rootfs", rootfs, rootfs, "", unix.MS_BIND | unix.MS_REC, ""},
		// A user namespace may mount proc only for a pid namespace it owns and
		// only while a fully visible proc is mounted (mount_too_revealing).
		{"mount /proc", "proc", "proc", "proc", nsd | unix.MS_NOEXEC, ""},
		{"mount /tmp", "tmpfs", "tmp", "tmpfs", nsd, "mode=1777"},
		// Not nodev: the device nodes are bind mounts from the host's /dev
		// (mknod is not allowed in a user namespace).
		{"mount /dev", "tmpfs", "dev", "tmpfs", unix.MS_NOSUID | unix.MS_NOEXEC, "mode=755"},
	}
	run := func(s step) error {
		target := s.target
		if !filepath.IsAbs(target) {
			target = filepath.Join(rootfs, target)
		}
		if err := unix.Mount(s.src, target, s.fstype, s.flags, s.data); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		return nil
	}
	for _, s := range steps {
		if err := run(s); err != nil {
			return err
		}
	}
	dev := filepath.Join(rootfs, "dev")
	for _, name := range []string{"null", "zero", "random", "urandom", "tty"} {
		f, err := os.OpenFile(filepath.Join(dev, name), os.O_CREATE|os.O_RDONLY, 0o666)
		if err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
		f.Close()
		if err := run(step{"bind /dev/" + name, "/dev/" + name, "dev/" + name, "", unix.MS_BIND, ""}); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", name, err)
		}
	}
	if err := os.Mkdir(filepath.Join(dev, "shm"), 0o755); err != nil {
		return fmt.Errorf("mkdir /dev/shm: %w", err)
	}
	if err := run(step{"mount /dev/shm", "tmpfs", "dev/shm", "tmpfs", nsd, "mode=1777"}); err != nil {
		return err
	}
	// pivot_root(".", ".") stacks the old root on top of the new one; the
	// detach then uncovers the new root (pivot_root(2), NOTES).
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo: a new network namespace starts with it down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// serve listens on 127.0.0.1:port: see serveOn.
func serve(port int) (*http.Server, error) {
	return serveOn(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// serveOn listens on addr: GET /healthz → 200 "ok", /status/404 → 404,
// anything else → 200.
func serveOn(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprintln(w, "ok")
		case "/status/404":
			http.Error(w, "not found", http.StatusNotFound)
		default:
			fmt.Fprintf(w, "ok %s\n", r.URL.Path)
		}
	})}
	go srv.Serve(ln)
	return srv, nil
}
