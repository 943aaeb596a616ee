package launch

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
)

// middleChild is the re-executed middle child, named by the pidfd that
// clone3 returned with it.
//
// Why not os.StartProcess: the first call in a process probes whether
// pidfds work by forking and reaping a throw-away child (os.checkPidfd),
// a whole extra fork and exit on the path of every one-shot attach. The
// child is started by syscall.StartProcess with SysProcAttr.PidFD instead,
// which asks clone3 for the pidfd directly and forks nothing else; a kernel
// without CLONE_PIDFD fails that clone, which the caller reports.
type middleChild struct {
	// Pid is the child's PID; until wait reaps it, no other process can
	// have that number.
	Pid   int
	pidfd int // closed by Wait
}

// startChild starts path as argv with env and files (nil entries leave
// that descriptor closed, as with os.StartProcess), under sys.
func startChild(path string, argv, env []string, files []*os.File, sys *syscall.SysProcAttr) (*middleChild, error) {
	pidfd := -1
	attr := *sys
	attr.PidFD = &pidfd
	fds := make([]uintptr, len(files))
	for i, f := range files {
		// Fd, as os.StartProcess does: a file in the runtime's poller is
		// switched back to blocking mode, which the child expects. A nil
		// file gives ^uintptr(0), which the fork closes.
		fds[i] = f.Fd()
	}
	pid, _, err := syscall.StartProcess(path, argv, &syscall.ProcAttr{Env: env, Files: fds, Sys: &attr})
	runtime.KeepAlive(files)
	if err != nil {
		return nil, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	if pidfd < 0 {
		// Not reachable on the kernels we run on (clone3 with
		// CLONE_PIDFD either fills it or fails); never leave the child
		// unnamed.
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
		return nil, fmt.Errorf("fork/exec %s: no pidfd returned", path)
	}
	return &middleChild{Pid: pid, pidfd: pidfd}, nil
}

// Kill SIGKILLs the child through its pidfd.
func (m *middleChild) Kill() error {
	return proc.PidfdSignal(m.pidfd, unix.SIGKILL)
}

// Wait reaps the child and releases its pidfd; call it exactly once. ECHILD
// (SIGCHLD ignored: the kernel reaped it) is not an error. It blocks its
// thread, as os.Process.Wait does: the middle child exits right after its
// report.
func (m *middleChild) Wait() (int, error) {
	defer unix.Close(m.pidfd)
	si, err := waitid(uintptr(m.pidfd), unix.WEXITED)
	if err == unix.ECHILD {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("wait for child %d: %w", m.Pid, err)
	}
	return int(si.Status), nil
}
