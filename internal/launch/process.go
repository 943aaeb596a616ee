package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
)

// Process is a command running inside a container, a child of the caller
// (the constructor cloned it with CLONE_PARENT). It is named by a pidfd, so
// signals never reach a recycled PID.
type Process struct {
	pid   int
	pidfd *os.File // non-blocking, in the runtime's poller
	stdio *stdio
	// cgroup is the command's own cgroup (cmdCgroup), nil when none could
	// be made: then only the process group can be killed.
	cgroup *cmdCgroup
	log    interface{ Debug(string, ...any) }

	mu       sync.Mutex
	reaped   bool // after the reap the PID and process group may be reused
	canceled bool
	stop     func() bool // stops the ctx watcher

	// sandbox is set for a command in a gVisor sandbox: the process is
	// then runsc exec, and signals go through runsc kill (gvisor.go).
	sandbox *sandboxExec

	waitOnce sync.Once
	code     int
	err      error
}

// processOf makes the Process of the grandchild pid from the pidfd its
// clone made (CLONE_PIDFD, sent with the PID report): held since before
// the grandchild ran, it keeps the command's exit status even when the
// kernel reaps the command at once (SIGCHLD ignored; PIDFD_INFO_EXIT,
// Linux 6.15), which a pidfd_open after the report could miss.
func processOf(pid, pidfd int, s *stdio, log interface{ Debug(string, ...any) }) (*Process, error) {
	// Non-blocking, as PIDFD_NONBLOCK would make it: in the runtime's
	// poller, and waitid(P_PIDFD, WNOHANG)-style reads never block.
	if err := unix.SetNonblock(pidfd, true); err != nil {
		unix.Close(pidfd)
		return nil, fmt.Errorf("pidfd of command %d: %w", pid, err)
	}
	return processFrom(pid, pidfd, s, log), nil
}

// processFrom is the Process of pid held by pidfd, a non-blocking pidfd
// it takes over.
func processFrom(pid, pidfd int, s *stdio, log interface{ Debug(string, ...any) }) *Process {
	return &Process{pid: pid, pidfd: os.NewFile(uintptr(pidfd), "pidfd"), stdio: s, log: log, stop: func() bool { return false }}
}

func newProcess(pid int, s *stdio, log interface{ Debug(string, ...any) }) (*Process, error) {
	// The grandchild is our child and stays a zombie until we reap it, so
	// its PID cannot be reused before this pidfd_open.
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if sigchldIgnored() {
			// No zombie holds the PID: the kernel reaped the command
			// (it exited already), and the number may name another
			// process now. Nothing to kill; the status is lost.
			return nil, fmt.Errorf("pidfd_open of command %d: %w: %w", pid, err, errSigchldIgnored)
		}
		// Unknown to us and unreapable through a pidfd: kill and reap by
		// number, which is safe for the same zombie reason.
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
		return nil, fmt.Errorf("pidfd_open of command %d: %w", pid, err)
	}
	return processFrom(pid, fd, s, log), nil
}

// Pid returns the command's PID as the caller's PID namespace sees it.
func (p *Process) Pid() int { return p.pid }

// Console returns the caller's end of the command's pseudo-terminal, or nil
// when the request asked for none.
func (p *Process) Console() *os.File { return p.stdio.console }

// Canceled reports whether the command was killed because its context ended.
func (p *Process) Canceled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.canceled
}

// Signal sends sig to the command through its pidfd.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: not a syscall.Signal", sig)
	}
	if p.sandbox != nil {
		return p.sandbox.signal(p, s)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return os.ErrProcessDone
	}
	return proc.PidfdSignal(int(p.pidfd.Fd()), s)
}

// KillGroup SIGKILLs every descendant of the command: all of its cgroup
// (cmdCgroup), which nothing started inside can leave, and its process
// group (the command called setsid, so the group is the command and
// whatever it started and did not move away; all there is to kill when no
// cgroup could be made), then the command itself through its pidfd.
func (p *Process) KillGroup() error {
	if p.sandbox != nil {
		return p.sandbox.killGroup(p)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killGroupLocked()
}

func (p *Process) killGroupLocked() error {
	if p.reaped {
		return nil
	}
	cerr := p.cgroup.kill()
	// Until the leader is reaped its PID stays allocated, so the group ID
	// cannot name another group. A leader the kernel reaped by itself
	// (SIGCHLD ignored) holds it no more, which its pidfd tells.
	var gerr error
	if proc.PidfdSignal(int(p.pidfd.Fd()), 0) == nil {
		if gerr = unix.Kill(-p.pid, unix.SIGKILL); gerr == unix.ESRCH {
			gerr = nil
		}
	}
	if err := proc.PidfdSignal(int(p.pidfd.Fd()), unix.SIGKILL); err != nil && err != unix.ESRCH {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("kill cgroup: %w", cerr)
	}
	return gerr
}

// watch kills every descendant when ctx ends before the command is reaped.
func (p *Process) watch(ctx context.Context) {
	p.stop = context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.reaped {
			return
		}
		p.canceled = true
		_ = p.killGroupLocked()
	})
}

// abort kills and reaps a command that failed to start, and releases its
// stdio.
func (p *Process) abort() {
	p.stop()
	_ = p.KillGroup()
	_, _ = p.reap(false)
	p.cgroup.release(true)
	p.stdio.abort()
}

// Wait waits for the command to exit, reaps it, waits for its output to be
// copied (bounded by the drain time when something it started still holds
// the pipes) and returns its exit code: the status it exited with, or 128
// plus the number of the signal that killed it.
//
// What the command started in the background and left running keeps
// running, as after `runc exec` or `docker exec`, unless the context ended
// first (then everything was killed). They are moved from the command's
// cgroup into the container's, where `runc exec` leaves them, and the
// command's cgroup is removed (cmdCgroup).
func (p *Process) Wait() (int, error) { return p.wait(false) }

// WaitAndKillGroup is Wait that leaves nothing the command started alive:
// after the command exits, and before it is reaped, its cgroup (else its
// process group) is SIGKILLed, and the cgroup is removed once empty. What
// probes want.
func (p *Process) WaitAndKillGroup() (int, error) { return p.wait(true) }

func (p *Process) wait(killGroup bool) (int, error) {
	p.waitOnce.Do(func() {
		p.code, p.err = p.reap(killGroup)
		p.stop()
		if killGroup || p.Canceled() {
			// Killed: wait for the members to die, so that the
			// directory is gone when Wait returns.
			p.cgroup.release(true)
		} else {
			// Exited by itself: what it left running moves to the
			// container's cgroup and the directory goes now.
			p.cgroup.retire()
		}
		if p.sandbox != nil {
			p.code, p.err = p.sandbox.finish(p, p.code, p.err, killGroup)
		}
		p.stdio.finish()
	})
	return p.code, p.err
}

// siginfo is the part of the kernel's siginfo_t that waitid fills for
// SIGCHLD (x/sys/unix's Siginfo hides these fields).
type siginfo struct {
	Signo  int32
	Errno  int32
	Code   int32
	_      int32
	Pid    int32
	UID    uint32
	Status int32
	_      [100]byte
}

func waitid(fd uintptr, options int) (siginfo, error) {
	var si siginfo
	for {
		_, _, e := unix.Syscall6(unix.SYS_WAITID, unix.P_PIDFD, fd, uintptr(unsafe.Pointer(&si)), uintptr(options), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return si, e
		}
		return si, nil
	}
}

// reap waits for the exit without a thread blocked in waitid: the pidfd
// polls readable when the process exits, and the runtime's poller parks the
// goroutine until then.
func (p *Process) reap(killGroup bool) (int, error) {
	rc, err := p.pidfd.SyscallConn()
	if err != nil {
		return -1, err
	}
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		si, err := waitid(fd, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT)
		if err != nil {
			werr = err
			return true
		}
		return si.Pid != 0
	})
	if err == nil {
		err = werr
	}
	// ECHILD: the kernel reaped the command itself (see exitstatus.go).
	autoreaped := errors.Is(err, unix.ECHILD)
	if err != nil && !autoreaped {
		return -1, fmt.Errorf("wait: %w", err)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if killGroup {
		_ = p.cgroup.kill()
		if !autoreaped { // else the group ID may name another group
			_ = unix.Kill(-p.pid, unix.SIGKILL)
		}
	}
	code := -1
	if !autoreaped {
		var si siginfo
		err = rc.Control(func(fd uintptr) { si, werr = waitid(fd, unix.WEXITED) })
		if err == nil {
			err = werr
		}
		autoreaped = errors.Is(err, unix.ECHILD) // reaped between the two calls
		if err == nil {
			p.log.Debug("command exited", "pid", p.pid, "code", si.Code, "status", si.Status)
			code = int(si.Status)
			if si.Code != cldExited { // CLD_KILLED, CLD_DUMPED
				code += 128
			}
		}
	}
	if autoreaped {
		var ws unix.WaitStatus
		err = rc.Control(func(fd uintptr) { ws, werr = pidfdExitStatus(fd) })
		if err == nil {
			err = werr
		}
		if err == nil {
			p.log.Debug("command exited, reaped by the kernel (SIGCHLD ignored), status from its pidfd", "pid", p.pid, "status", int(ws))
			code = exitCode(ws)
		}
	}
	p.reaped = true
	p.pidfd.Close()
	if err != nil {
		return -1, fmt.Errorf("reap: %w", err)
	}
	return code, nil
}

// si_code values of SIGCHLD (include/uapi/asm-generic/siginfo.h).
const cldExited = 1
