package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/harden"
	"nucleus/internal/child"
	"nucleus/internal/hardencore"
	"nucleus/internal/proc"
	"nucleus/nsenter"
	"nucleus/state"
)

// entrypoint is argv[0] of every child: the name registered with reexec.
const entrypoint = "nucleus-launch"

// Start runs r.Command inside r.Target and returns once the command has been
// executed (or has failed to be). Cancelling ctx afterwards SIGKILLs
// everything the command started (its cgroup, cmdCgroup, else its process
// group); Wait then reaps it.
//
// A gVisor target is never joined: the command is created in the sandbox
// by runsc exec (startGVisor, gvisor.go).
//
// Errors name the step that failed; the sentinels of package state
// (ErrNotRunning, ErrStale, ErrPermission, ErrUnsupported) work with
// errors.Is. A failed Start leaves no process, zombie or fd behind.
func Start(ctx context.Context, r *Request) (*Process, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	st := r.Target
	if st.UsingGVisor && r.childMode() != child.ModeExec {
		return nil, fmt.Errorf("a host binary or a copy into a gVisor sandbox (runsc exec needs the file inside): %w", state.ErrUnsupported)
	}
	if st.UsingGVisor {
		// Never the host-side join: its namespaces are the sandbox's, not
		// the guest's.
		return startGVisor(ctx, r, r.Runsc)
	}
	if !nsenter.Available() {
		return nil, fmt.Errorf("built without cgo, the namespace join cannot run: %w", state.ErrUnsupported)
	}
	if err := permitted(st); err != nil {
		return nil, err
	}
	prefetchExe()
	// The cgroups the freezer check looked at are the cgroups joined.
	cgroups, err := st.CheckRunningCgroups()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	exe, _, err := exeFile(r.logger())
	if err != nil {
		return nil, err
	}
	var hostBin *os.File // nil: the fd slot stays closed
	if r.HostBinary != "" {
		if r.Policy != nil && r.Policy.Strict {
			// The strict filter denies execveat(fd, "", AT_EMPTY_PATH),
			// the only way to execute a file that is beneath none of the
			// container's paths without /proc: a file descriptor passed
			// in from outside the Landlock domain would run that way.
			return nil, fmt.Errorf("host binary %q: the strict policy denies executing a file by descriptor (execveat with AT_EMPTY_PATH); use the container policy, or one with Landlock rules of its own: %w", r.HostBinary, state.ErrUnsupported)
		}
		if hostBin, err = openHostBinary(r.HostBinary, r.HostBinaryDynamic); err != nil {
			return nil, err
		}
		defer hostBin.Close()
	}

	target, err := openPidfd(st)
	if err != nil {
		return nil, err
	}
	defer target.Close()

	log := r.logger()
	cg, err := planCgroups(cgroups, log)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	defer cg.close()
	defer cg.discard() // a failed start: nothing may stay in its cgroup
	sio, err := newStdio(r)
	if err != nil {
		return nil, err
	}
	defer sio.closeChildEnds()

	// The middle child starts before the rest of the request is known:
	// its exec, dynamic loading and libc start-up (half a millisecond on
	// this kind of machine, CPUID trapping in a VM) run on another CPU
	// while this thread compiles the program and reads the process spec.
	// The constructor waits on the socket for its request.
	l := &launcher{req: r, log: log, stdio: sio, cgroups: cg, hostBin: hostBin}
	sock, middle, err := l.spawn(exe, target)
	if err != nil {
		sio.abort()
		return nil, err
	}
	fail := func(err error) (*Process, error) {
		abandon(ctx, sock, middle)
		sio.abort()
		return nil, err
	}
	prog, progBytes, err := program(r.Policy, st)
	if err != nil {
		return fail(fmt.Errorf("policy: %w", err))
	}
	if l.spec, err = r.processSpec(); err != nil {
		return fail(err)
	}
	// After every read by PID number: it checks the target still lives.
	nsflags, err := namespacesToJoin(st, target)
	if err != nil {
		return fail(err)
	}
	p, err := l.run(ctx, sock, middle, nsflags, prog, progBytes)
	if err != nil {
		sio.abort()
		return nil, err
	}
	return p, nil
}

// openTarget opens a pidfd for the target and checks, after opening it, that
// it names the process the state describes: from here on the pidfd, not the
// number, names the target. It also returns the namespaces to join: those
// that differ from the caller's.
func openTarget(st *state.ContainerState) (*os.File, uint32, error) {
	f, err := openPidfd(st)
	if err != nil {
		return nil, 0, err
	}
	flags, err := namespacesToJoin(st, f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, flags, nil
}

// openPidfd opens a pidfd for the target and checks its start ticks.
func openPidfd(st *state.ContainerState) (*os.File, error) {
	fd, err := proc.PidfdOpen(st.PID)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("pid %d: %w", st.PID, state.ErrNotRunning)
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", st.PID, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	ticks, err := proc.StartTicks(st.PID)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pid %d: %w", st.PID, state.ErrNotRunning)
	}
	if ticks != st.StartTicks {
		f.Close()
		return nil, fmt.Errorf("pid %d started at tick %d, the state says %d: %w", st.PID, ticks, st.StartTicks, state.ErrStale)
	}
	return f, nil
}

// namespacesToJoin returns the namespaces of the target that differ from the
// caller's.
//
// The target's are read through its /proc/PID directory held open: the
// pidfd, checked alive after the open, proves the directory is the target's
// (and that every read by number before it read the target), and lookups
// under it can reach no other process later, even if the number is reused.
// The caller's through /proc/self/ns, also held open: two directory walks
// instead of sixteen.
func namespacesToJoin(st *state.ContainerState, pidfd *os.File) (uint32, error) {
	dir, err := unix.Open("/proc/"+strconv.Itoa(st.PID), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w: %w", st.PID, state.ErrNotRunning, err)
	}
	defer unix.Close(dir)
	if err := proc.PidfdSignal(int(pidfd.Fd()), 0); err != nil {
		return 0, fmt.Errorf("pid %d: %w", st.PID, state.ErrNotRunning)
	}
	self, err := unix.Open("/proc/self/ns", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("own namespaces: %w", err)
	}
	defer unix.Close(self)
	var flags uint32
	for _, ns := range proc.Namespaces {
		theirs, err := proc.NamespaceIDAt(dir, "ns/"+ns)
		if errors.Is(err, os.ErrNotExist) && ns == "time" {
			continue // a kernel without time namespaces
		}
		if err != nil {
			if errors.Is(err, unix.ESRCH) || errors.Is(err, os.ErrNotExist) {
				return 0, fmt.Errorf("namespace %s of pid %d: %w: %w", ns, st.PID, state.ErrNotRunning, err)
			}
			return 0, fmt.Errorf("namespace %s of pid %d: %w", ns, st.PID, err)
		}
		ours, err := proc.NamespaceIDAt(self, ns)
		if err != nil {
			return 0, fmt.Errorf("own namespace %s: %w", ns, err)
		}
		if theirs != ours {
			flags |= uint32(proc.NSFlag(ns))
		}
	}
	return flags, nil
}

// launcher carries one Start through its steps.
type launcher struct {
	req     *Request
	log     interface{ Debug(string, ...any) }
	stdio   *stdio
	cgroups *cgroupJoin
	hostBin *os.File // nsenter.FdHostBinary, or nil
	spec    *processSpec
	// tasks is how many v1 tasks files spawn passed (they are closed
	// once the child holds them).
	tasks int
}

// bootstrap is everything the children read from the socket, in one write:
// the middle child's request, then the grandchild's go-ahead byte and its
// length-prefixed config. Nothing in it waits for an answer, so it is sent
// as soon as the middle child exists; the grandchild finds it there.
func (l *launcher) bootstrap(nsflags uint32, prog *harden.Program, progBytes []byte) ([]byte, error) {
	r := l.req
	var flags uint32
	if r.TTY {
		flags |= nsenter.FlagTTY
	}
	if l.hostBin != nil {
		flags |= nsenter.FlagHostBinary
	}
	buf, err := nsenter.Request{NSFlags: nsflags, Flags: flags, Cgroups: uint32(l.tasks)}.AppendBinary(make([]byte, 0, nsenter.RequestSize+1024+len(progBytes)))
	if err != nil {
		return nil, err
	}
	s := l.spec
	buf = append(buf, nsenter.Go, 0, 0, 0, 0)
	at := len(buf)
	buf = child.AppendConfig(buf, &child.Config{Args: r.Command, Env: s.env, NeedHome: s.needHome, Dir: s.dir,
		Identity: harden.Identity(s.identity), User: s.user, Mode: r.childMode(), Program: (*hardencore.Program)(prog)}, progBytes)
	size := len(buf) - at
	if size > child.MaxConfig {
		return nil, fmt.Errorf("encode child config: %d bytes, at most %d", size, child.MaxConfig)
	}
	child.PutConfigSize(buf[at-4:], uint32(size))
	return buf, nil
}

// childEnv is the environment of the middle child and of a copy worker's Go
// runtime (a command gets its own, from the config). GOMAXPROCS=1: a worker
// runs one goroutine, so a second P only makes the runtime start (and spin)
// another thread, on 2 cores shared with the caller.
var childEnv = []string{nsenter.Env + "=1", "GOMAXPROCS=1"}

// startMiddle starts the middle child, in the target's cgroup v2 when there
// is one to join. When that clone fails (a kernel without
// CLONE_INTO_CGROUP, a cgroup that refuses it, a caller without the right
// to write it), the child is started where we are and moved by PID, which
// also gives the refusal its proper error.
func (l *launcher) startMiddle(exe *os.File, files []*os.File) (*middleChild, error) {
	// The executable is the child's last file; the constructor closes it.
	files = append(files, exe)
	path := "/proc/self/fd/" + strconv.Itoa(len(files)-1)
	argv := []string{entrypoint}
	// No Pdeathsig: it would kill the grandchild, forked into another PID
	// namespace, when the thread that started the middle child exits.
	if cg := l.cgroups; cg.v2 != nil {
		middle, err := startChild(path, argv, childEnv, files, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.v2.Fd())})
		if err == nil {
			return middle, nil
		}
		l.log.Debug("clone into cgroup v2 failed, moving the child by pid", "path", cg.v2Path, "err", err)
		middle, err = startChild(path, argv, childEnv, files, &syscall.SysProcAttr{})
		if err != nil {
			return nil, fmt.Errorf("start child: %w", err)
		}
		if err := cg.joinV2ByPID(middle.Pid, l.log); err != nil {
			_ = middle.Kill() // still waiting for its request: nothing else exists
			_, _ = middle.Wait()
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		return middle, nil
	}
	middle, err := startChild(path, argv, childEnv, files, &syscall.SysProcAttr{})
	if err != nil {
		return nil, fmt.Errorf("start child: %w", err)
	}
	return middle, nil
}

// spawn starts the middle child with its files (stdio, the bootstrap
// socket, the target's pidfd, the host binary, the v1 tasks files) and
// returns our end of the socket; the child waits there for its request.
func (l *launcher) spawn(exe *os.File, target *os.File) (*os.File, *middleChild, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	// Our end is non-blocking, so that it sits in the runtime's poller and
	// a cancelled ctx can interrupt a read with a deadline.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	sock := os.NewFile(uintptr(fds[0]), "bootstrap")
	childSock := os.NewFile(uintptr(fds[1]), "bootstrap-child")

	files := append(l.stdio.childFiles(), childSock, target, l.hostBin) // fds 3, 4, 5
	files = append(files, l.cgroups.tasks...)
	l.tasks = len(l.cgroups.tasks)
	middle, err := l.startMiddle(exe, files)
	childSock.Close()
	l.cgroups.close()
	if err != nil {
		sock.Close()
		return nil, nil, err
	}
	l.log.Debug("child started", "pid", middle.Pid)
	return sock, middle, nil
}

// abandon ends a middle child whose request was never sent (a step after
// its start failed): our end of the socket closes, so the constructor reads
// EOF, and it is killed too. It is reaped before abandon returns unless ctx
// ends first — a container frozen since the checks freezes the child with
// it — and then by a goroutine, once it is gone.
func abandon(ctx context.Context, sock *os.File, middle *middleChild) {
	sock.Close()
	_ = middle.Kill()
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		_, _ = middle.Wait()
	}()
	select {
	case <-reaped:
	case <-ctx.Done():
	}
}

// run sends the request to the middle child spawn started and reads the
// reports: the grandchild's PID, then its exec.
func (l *launcher) run(ctx context.Context, sock *os.File, middle *middleChild, nsflags uint32, prog *harden.Program, progBytes []byte) (*Process, error) {
	boot, err := l.bootstrap(nsflags, prog, progBytes)
	if err != nil {
		abandon(ctx, sock, middle)
		return nil, err
	}
	l.log.Debug("sending the request", "pid", middle.Pid, "nsflags", fmt.Sprintf("%#x", nsflags))

	msg, pidfd, werr, rerr := l.exchange(ctx, sock, middle, boot)
	if errors.Is(rerr, errAbandoned) {
		// sock and middle now belong to the cleanup goroutine.
		return nil, fmt.Errorf("nsenter: %w", context.Cause(ctx))
	}
	defer sock.Close()
	// The middle child exits right after its report: it is reaped on the
	// way out, not waited for here, while the grandchild starts.
	defer func() { _, _ = middle.Wait() }()
	if pidfd >= 0 && (rerr != nil || msg.Type != nsenter.MsgPID) {
		unix.Close(pidfd) // only a PID report carries one
		pidfd = -1
	}
	switch {
	case rerr == nil && msg.Type == nsenter.MsgPID && pidfd < 0:
		return nil, errors.New("nsenter: the PID report came without a pidfd")
	case rerr == nil && msg.Type == nsenter.MsgPID:
	case rerr == nil && msg.Type == nsenter.MsgError:
		return nil, l.middleError(msg)
	case werr != nil && rerr != nil:
		return nil, fmt.Errorf("nsenter: send request: %w", werr)
	case rerr != nil:
		return nil, fmt.Errorf("nsenter: child ended without a report: %w", rerr)
	default:
		return nil, fmt.Errorf("nsenter: unexpected message type %d", msg.Type)
	}

	p, err := processOf(int(msg.Value), pidfd, l.stdio, l.log)
	if err != nil {
		return nil, err
	}
	p.cgroup = l.cgroups.takeCommand()
	fail := func(err error) (*Process, error) {
		p.abort()
		return nil, err
	}

	// From now on a cancelled ctx kills the command's cgroup; the exec report
	// below then ends with EOF.
	p.watch(ctx)
	msg, err = nsenter.ReadMessage(sock)
	switch {
	case errors.Is(err, io.EOF):
		// The socket is close-on-exec: EOF without a message is a
		// successful execve.
		l.log.Debug("command executed", "pid", p.pid)
		p.stdio.started()
		return p, nil
	case err != nil:
		return fail(fmt.Errorf("read exec report: %w", err))
	case msg.Type == nsenter.MsgExecError:
		e := execError(msg.Text, msg.Value, prog)
		e.SearchPath = l.spec.path()
		return fail(e)
	default:
		if e := msg.Err(); e != nil {
			return fail(e)
		}
		return fail(fmt.Errorf("unexpected message type %d", msg.Type))
	}
}

// middleError turns the middle child's failure report into an error; a
// failed cgroup move names the hierarchy.
func (l *launcher) middleError(msg nsenter.Message) error {
	if n, ok := strings.CutPrefix(msg.Text, "cgroup #"); ok {
		if i, err := strconv.Atoi(n); err == nil {
			return fmt.Errorf("cgroup: join %s: %w", l.cgroups.hierarchy(i), syscall.Errno(msg.Value))
		}
	}
	return fmt.Errorf("nsenter: %w", msg.Err())
}

// errAbandoned: exchange gave up on the middle child because ctx ended.
var errAbandoned = errors.New("abandoned")

// exchange sends boot in one write — the middle child reads its request,
// the grandchild the go-ahead and the config; should the children be gone,
// the write fails with EPIPE and the report says why — and reads the middle
// child's report.
//
// The middle child's work is short (a cgroup move, setns, one clone), but a
// container frozen after the checks (a pause) freezes it in the target's
// cgroups, so the exchange also ends with ctx. The middle child is then
// killed and a goroutine takes the socket over: it reaps the middle child,
// and when a PID report still comes (the clone was made) kills and reaps
// that grandchild, so nothing is left behind once the container thaws.
func (l *launcher) exchange(ctx context.Context, sock *os.File, middle *middleChild, boot []byte) (msg nsenter.Message, pidfd int, werr, rerr error) {
	var mu sync.Mutex
	done := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			_ = sock.SetDeadline(time.Now())
		}
	})
	pidfd = -1
	_, werr = sock.Write(boot)
	if !errors.Is(werr, os.ErrDeadlineExceeded) {
		msg, pidfd, rerr = nsenter.ReadMessageFD(sock)
	}
	mu.Lock()
	done = true
	mu.Unlock()
	stop()
	// Whether or not the deadline was set, none is wanted from here on.
	_ = sock.SetDeadline(time.Time{})
	if !errors.Is(werr, os.ErrDeadlineExceeded) && !errors.Is(rerr, os.ErrDeadlineExceeded) {
		return msg, pidfd, werr, rerr
	}
	// Everything in the command's cgroup, listed before it is killed: the
	// grandchild may exist without its PID having been reported yet, and
	// killing the middle child may prevent the report for good.
	var seized []int
	if l.cgroups != nil {
		seized = l.cgroups.cmd.seize()
	}
	_ = middle.Kill()
	go func() {
		defer sock.Close()
		msg, fd, err := nsenter.ReadMessageFD(sock)
		if fd >= 0 {
			unix.Close(fd)
		}
		_, _ = middle.Wait()
		if sigchldIgnored() {
			// The kernel reaps our children: a number may name another
			// process by now; the command's cgroup was killed.
			return
		}
		var ws unix.WaitStatus
		reported := 0
		if err == nil && msg.Type == nsenter.MsgPID {
			// Our child (CLONE_PARENT), unreaped: the PID is still its.
			pid := int(msg.Value)
			reported = pid
			_ = unix.Kill(-pid, unix.SIGKILL)
			_ = unix.Kill(pid, unix.SIGKILL)
			_, _ = unix.Wait4(pid, &ws, 0, nil)
		}
		for _, pid := range seized {
			// The grandchild whose report never came. Never one reaped
			// already: its number may be another child's by now.
			if pid != middle.Pid && pid != reported {
				_, _ = unix.Wait4(pid, &ws, 0, nil)
			}
		}
	}()
	return nsenter.Message{}, -1, nil, errAbandoned
}
