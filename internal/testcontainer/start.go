package testcontainer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// Timeouts: a container is ready in milliseconds; these only bound failures.
const (
	startTimeout    = 10 * time.Second
	listenerTimeout = 5 * time.Second
	exitTimeout     = 10 * time.Second
)

// DefaultOwnerUID is the host uid that owns a rootless container when
// Options.OwnerUID is 0: any uid that is not root and has no other role.
const DefaultOwnerUID = 1234

// Options says what container to start. The zero value is a rootful
// container named "nucleus-test" without a listener or cgroups.
type Options struct {
	// Rootless starts the container as the unprivileged host uid OwnerUID,
	// which creates the container's user namespace (so it owns it) and is
	// root inside it; uid and gid 0 inside map to OwnerUID, nothing else maps.
	Rootless bool
	// OwnerUID is the owner of a rootless container (default
	// DefaultOwnerUID). Ignored for rootful containers, which root owns.
	OwnerUID uint32
	// Hostname is the container's hostname (default "nucleus-test").
	Hostname string
	// Port > 0 serves HTTP on 127.0.0.1:Port inside the container:
	// GET /healthz → 200 "ok", /status/404 → 404, anything else → 200.
	Port int
	// Cgroup puts the container in its own cgroups (cgroup v1 pids and
	// memory, and v2), below the caller's own, before its init runs.
	Cgroup bool
	// Distroless builds the rootfs of a distroless image: the static
	// helper (the init) and /etc/passwd and /etc/group, no busybox, no
	// shell, no tar.
	Distroless bool
}

// Container is a running test container. Its exported fields are read-only.
type Container struct {
	// PID is the host pid of the container's init (PID 1 inside).
	PID int
	// Name is "nct-<PID>": the ID and Name of State, and the name of the
	// container's cgroup directories.
	Name string
	// Rootfs is the host path of the container's root directory.
	Rootfs string
	// Hostname is the container's hostname.
	Hostname string
	// OwnerUID is the host uid that owns the container: 0 when rootful.
	OwnerUID uint32
	// Port is the HTTP listener's port inside, 0 for none.
	Port int
	// Rootless reports whether the container has its own user namespace.
	Rootless bool
	// CgroupDirs are the container's cgroup directories on the host, with
	// Options.Cgroup.
	CgroupDirs []string
	// LauncherPID is the host pid of the unprivileged launcher, the init's
	// parent, for a rootless container; 0 otherwise.
	LauncherPID int

	cmd    *exec.Cmd           // the init (rootful) or the launcher (rootless)
	pidfd  int                 // the init, from the time its pid is known; -1 before
	gate   *os.File            // write end of the init's "go" pipe, open until Close
	events chan string         // lines the init writes on its fd 3; closed at EOF
	exited chan struct{}       // closed when cmd has been waited for
	done   chan struct{}       // closed by Close: stops the event reader
	stderr testutil.SyncBuffer // the init's (and launcher's) stderr

	mu        sync.Mutex // serialises listener requests and Close
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// Start builds a fresh rootfs and starts a container in it, ready when
// Start returns. Close it when done: it owns processes, a temporary
// directory and maybe cgroups. Start needs root.
func Start(opts Options) (*Container, error) {
	if opts.Hostname == "" {
		opts.Hostname = "nucleus-test"
	}
	if len(opts.Hostname) > 64 {
		return nil, fmt.Errorf("testcontainer: start: hostname %q is longer than 64 bytes", opts.Hostname)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("testcontainer: start: port %d out of range", opts.Port)
	}
	if !opts.Rootless {
		opts.OwnerUID = 0
	} else if opts.OwnerUID == 0 {
		opts.OwnerUID = DefaultOwnerUID
	}
	rootfs, err := buildRootfs(opts.Hostname, int(opts.OwnerUID), opts.Distroless)
	if err != nil {
		return nil, err
	}
	c := &Container{
		Rootfs: rootfs, Hostname: opts.Hostname, OwnerUID: opts.OwnerUID, Port: opts.Port, Rootless: opts.Rootless,
		pidfd: -1, events: make(chan string, 4), exited: make(chan struct{}), done: make(chan struct{}),
	}
	if err := c.start(opts.Cgroup); err != nil {
		cerr := c.Close() // waits for the init, so its stderr is complete
		if msg := bytes.TrimSpace(c.stderr.Bytes()); len(msg) > 0 {
			err = fmt.Errorf("%w; stderr: %s", err, msg)
		}
		return nil, errors.Join(err, cerr)
	}
	return c, nil
}

func (c *Container) start(cgroup bool) error {
	fail := func(step string, err error) error { return fmt.Errorf("testcontainer: start: %s: %w", step, err) }
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fail("pipe", err)
	}
	defer readyW.Close()
	goR, goW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		return fail("pipe", err)
	}
	defer goR.Close()
	c.gate = goW

	initArgs := []string{"-rootfs", c.Rootfs, "-hostname", c.Hostname, "-port", strconv.Itoa(c.Port)}
	newCmd := func() *exec.Cmd {
		cmd := &exec.Cmd{
			Path:       filepath.Join(c.Rootfs, "bin", helperName),
			Dir:        c.Rootfs,
			Stderr:     &c.stderr,
			ExtraFiles: []*os.File{readyW, goR}, // fd 3, fd 4
			WaitDelay:  time.Second,
		}
		if c.Rootless {
			owner := strconv.Itoa(int(c.OwnerUID))
			cmd.Args = append([]string{helperName, "rootless-launch", "-uid", owner, "-gid", owner, "--"}, initArgs...)
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Credential: &syscall.Credential{Uid: c.OwnerUID, Gid: c.OwnerUID, Groups: []uint32{}},
			}
		} else {
			// No CLONE_NEWCGROUP: the init unshares it after the gate, once it
			// is in its own cgroups, so that they are the root of its view.
			cmd.Args = append([]string{helperName, "init"}, initArgs...)
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
			}
		}
		return cmd
	}
	cmd, err := startRetry(newCmd)
	if err != nil {
		readyR.Close()
		return fail("exec helper", err)
	}
	c.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	go c.readEvents(readyR)
	readyW.Close()
	goR.Close()

	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	pid := cmd.Process.Pid
	if c.Rootless {
		c.LauncherPID = pid
		line, err := c.next(timeout.C)
		if err != nil {
			return fail("wait for init pid", err)
		}
		if pid, err = strconv.Atoi(strings.TrimPrefix(line, "pid ")); err != nil || !strings.HasPrefix(line, "pid ") {
			return fail("wait for init pid", fmt.Errorf("launcher said %q", line))
		}
	}
	c.PID, c.Name = pid, fmt.Sprintf("nct-%d", pid)
	// From here the pidfd names the init: the pid could be reused once the
	// init is reaped (by the launcher, when rootless).
	if c.pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		return fail("pidfd_open", err)
	}
	if c.Rootless {
		if st, err := proc.ReadStat(pid); err != nil || st.PPID != c.LauncherPID {
			return fail("check init", fmt.Errorf("pid %d is not the launcher's child (%+v, %v)", pid, st, err))
		}
	}
	if cgroup {
		if c.CgroupDirs, err = createCgroups(c.Name, pid); err != nil {
			return err
		}
	}
	// The gate stays open until Close: the init exits when it reads EOF, so
	// a caller that dies without Close takes its containers with it.
	if _, err := c.gate.Write([]byte{'g'}); err != nil {
		return fail("release init", err)
	}
	line, err := c.next(timeout.C)
	if err != nil {
		return fail("wait for ready", err)
	}
	if line != "ready" {
		return fail("wait for ready", fmt.Errorf("init said %q", line))
	}
	return nil
}

// startRetry starts a command, retrying while exec fails with ETXTBSY: the
// helper was just written, and a child that another goroutine forked
// meanwhile may hold the write descriptor until its own exec closes it
// (golang/go#22315).
func startRetry(newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	delay, deadline := time.Millisecond, time.Now().Add(2*time.Second)
	for {
		cmd := newCmd() // an exec.Cmd cannot be started twice
		err := cmd.Start()
		if !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			return cmd, err
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// readEvents forwards the init's fd 3 lines to c.events until EOF (every
// process holding the pipe has exited) or Close.
func (c *Container) readEvents(r *os.File) {
	defer r.Close()
	defer close(c.events)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case c.events <- sc.Text():
		case <-c.done:
			return
		}
	}
}

// next returns the init's next line, or an error at timeout or its exit.
func (c *Container) next(timeout <-chan time.Time) (string, error) {
	select {
	case line, ok := <-c.events:
		if !ok {
			return "", errors.New("container init exited")
		}
		return line, nil
	case <-timeout:
		return "", errors.New("timed out")
	}
}

// StopListener closes the HTTP listener inside the container (the port
// then refuses connections) and returns once the init has done so.
func (c *Container) StopListener() error {
	return c.listener(unix.SIGUSR1, "listener stopped")
}

// StartListener opens the HTTP listener again after StopListener and
// returns once it accepts connections.
func (c *Container) StartListener() error {
	return c.listener(unix.SIGUSR2, "listener started")
}

func (c *Container) listener(sig unix.Signal, want string) error {
	if c.Port <= 0 {
		return errors.New("testcontainer: listener: the container has no port")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("testcontainer: listener: container closed")
	}
	if err := unix.PidfdSendSignal(c.pidfd, sig, nil, 0); err != nil {
		return fmt.Errorf("testcontainer: listener: signal init: %w", err)
	}
	timeout := time.NewTimer(listenerTimeout)
	defer timeout.Stop()
	line, err := c.next(timeout.C)
	if err != nil {
		return fmt.Errorf("testcontainer: listener: %w", err)
	}
	if line != want {
		return fmt.Errorf("testcontainer: listener: init said %q", line)
	}
	return nil
}

// State describes the container as nucleus sees a bare PID
// (state.FromPID), with ID and Name set to c.Name.
func (c *Container) State() (*state.ContainerState, error) {
	st, err := state.FromPID(c.PID)
	if err != nil {
		return nil, fmt.Errorf("testcontainer: state: %w", err)
	}
	st.ID, st.Name = c.Name, c.Name
	return st, nil
}

// Close kills the container's processes, waits for them, and removes its
// cgroups and rootfs. The container's mounts lived only in its own mount
// namespace and went with its last process. Close is idempotent and safe
// to call on a half-started container.
//
// The init's exit completes only when every process of its pid namespace has
// been reaped, including processes that joined it from outside, which their
// own parents reap (pid_namespaces(7)): a caller holding an unreaped child in
// the container makes Close fail after a timeout.
func (c *Container) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.closed = true
		c.closeErr = c.close()
	})
	return c.closeErr
}

func (c *Container) close() error {
	var errs []error
	if c.gate != nil {
		c.gate.Close() // the init reads EOF and exits
	}
	if c.cmd != nil {
		// SIGKILL reaches a pid namespace's init from an ancestor namespace
		// even though the init ignores it from inside (pid_namespaces(7));
		// the whole pid namespace dies with it.
		if c.pidfd >= 0 {
			if err := unix.PidfdSendSignal(c.pidfd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
				errs = append(errs, fmt.Errorf("testcontainer: close: kill init: %w", err))
			}
			if c.Rootless { // let the launcher reap the init and exit by itself
				fds := []unix.PollFd{{Fd: int32(c.pidfd), Events: unix.POLLIN}}
				for {
					if _, err := unix.Poll(fds, int(exitTimeout/time.Millisecond)); err != unix.EINTR {
						break
					}
				}
			}
		}
		_ = c.cmd.Process.Kill() // the launcher, or the init when its pidfd was never opened
		select {
		case <-c.exited:
		case <-time.After(exitTimeout):
			errs = append(errs, fmt.Errorf("testcontainer: close: pid %d did not exit", c.cmd.Process.Pid))
		}
	}
	if c.pidfd >= 0 {
		unix.Close(c.pidfd)
		c.pidfd = -1
	}
	close(c.done)
	if err := removeCgroups(c.CgroupDirs); err != nil {
		errs = append(errs, err)
	}
	if c.Rootfs != "" {
		if err := removeRootfs(c.Rootfs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeRootfs deletes the rootfs, unless something is mounted on or below
// it in the caller's mount namespace: deleting through a leaked bind mount of
// the host's /dev would delete the host's files.
func removeRootfs(dir string) error {
	mnts, err := mountsBelow(dir)
	if err != nil {
		return fmt.Errorf("testcontainer: close: %w", err)
	}
	if len(mnts) > 0 {
		return fmt.Errorf("testcontainer: close: %s is still mounted in the caller's mount namespace; not removing %s", mnts[0], dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("testcontainer: close: remove rootfs: %w", err)
	}
	return nil
}

// mountsBelow lists the mount points on or below dir in the caller's mount
// namespace.
func mountsBelow(dir string) ([]string, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mnts []string
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mnt := strings.ReplaceAll(f[4], `\040`, " ")
		if mnt == dir || strings.HasPrefix(mnt, dir+"/") {
			mnts = append(mnts, mnt)
		}
	}
	return mnts, nil
}
