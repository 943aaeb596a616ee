package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// PidfdOpen returns a pidfd for pid (pidfd_open(2), Linux 5.3). A pidfd
// refers to one process for as long as the descriptor is open, even after the
// number is reused, which closes the race between checking a PID and acting
// on it. The kernel always sets O_CLOEXEC on it. pid must be a thread group
// leader. Callers must close the descriptor.
//
// To be sure the pidfd names the process a caller checked, compare
// StartTicks(pid) with the expected value AFTER opening: if they still
// match, the pidfd was opened on that process.
func PidfdOpen(pid int) (int, error) {
	if pid <= 0 {
		return -1, fmt.Errorf("proc: pidfd_open: invalid pid %d", pid)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("proc: pidfd_open(%d): %w", pid, err)
	}
	return fd, nil
}

// PidfdSignal sends sig to the process a pidfd refers to
// (pidfd_send_signal(2), Linux 5.1). Unlike kill(2) it cannot hit a new
// process that reused the PID. Signal 0 checks that the process still exists:
// it fails with ESRCH once the process has been reaped, but succeeds on a
// zombie (exited, not yet reaped). To learn that a process has exited, poll
// the pidfd for readability (it becomes readable at exit) or check
// ReadStat's State for 'Z'.
func PidfdSignal(pidfd int, sig unix.Signal) error {
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		return fmt.Errorf("proc: pidfd_send_signal(%d): %w", int(sig), err)
	}
	return nil
}
