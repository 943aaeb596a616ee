package launch

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// When the embedding program ignores SIGCHLD (signal.Ignore(syscall.SIGCHLD)
// sets SIG_IGN in the kernel; SA_NOCLDWAIT does the same), the kernel reaps
// our children itself as they exit (wait(2), "NOTES"): waitid then fails
// with ECHILD and the exit status is gone — unless the kernel kept it in
// the pidfd. Linux 6.15 does: PIDFD_GET_INFO with PIDFD_INFO_EXIT returns it
// even after the reap.

// pidfdInfo is the first, 64-byte version of the kernel's struct pidfd_info
// (include/uapi/linux/pidfd.h, PIDFD_INFO_SIZE_VER0): the kernel copies as
// much as the caller's size (encoded in the ioctl number) holds, and
// exit_code is in this part.
type pidfdInfo struct {
	Mask     uint64
	CgroupID uint64
	PID      uint32
	TGID     uint32
	PPID     uint32
	RUID     uint32
	RGID     uint32
	EUID     uint32
	EGID     uint32
	SUID     uint32
	SGID     uint32
	FSUID    uint32
	FSGID    uint32
	ExitCode int32 // a wait status, as wait(2) fills it
}

const (
	pidfdInfoExit = 1 << 3 // PIDFD_INFO_EXIT
	// PIDFD_GET_INFO is _IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct
	// pidfd_info), with the size of the struct we pass.
	pidfdGetInfo = 3<<30 | uint(unsafe.Sizeof(pidfdInfo{}))<<16 | 0xFF<<8 | 11
)

// errSigchldIgnored explains an ECHILD from waiting for our own child.
var errSigchldIgnored = errors.New("SIGCHLD is ignored in this process (SIG_IGN or SA_NOCLDWAIT), so the kernel reaped the command and discarded its exit status; this kernel (before Linux 6.15) keeps none in the pidfd: do not ignore SIGCHLD")

// sigchldIgnored reports whether this process's SIGCHLD disposition makes
// the kernel reap children by itself: SIG_IGN, or SA_NOCLDWAIT.
func sigchldIgnored() bool {
	// The kernel's struct sigaction starts with the handler and the flags
	// on every architecture Go supports with rt_sigaction.
	var old struct {
		handler uintptr
		flags   uint64
		rest    [4]uint64 // restorer and mask, whatever the layout
	}
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	if e != 0 {
		return false
	}
	const sigIgn, saNoCldWait = 1, 0x2
	return old.handler == sigIgn || old.flags&saNoCldWait != 0
}

// pidfdExitStatus returns the exit status the kernel kept in the pidfd of a
// child that was already reaped. The pidfd polls readable at the exit, a
// moment before the kernel records the status at the reap: a pidfd that
// reports no status yet is asked again, for at most drainTime.
func pidfdExitStatus(pidfd uintptr) (unix.WaitStatus, error) {
	deadline := time.Now().Add(drainTime)
	for delay := 50 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		info := pidfdInfo{Mask: pidfdInfoExit}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, pidfd, uintptr(pidfdGetInfo), uintptr(unsafe.Pointer(&info)))
		switch {
		case e == unix.ENOTTY || e == unix.EINVAL:
			return 0, errSigchldIgnored // no PIDFD_GET_INFO (Linux < 6.13)
		case e == unix.ESRCH:
			return 0, errSigchldIgnored // reaped, and no PIDFD_INFO_EXIT (< 6.15)
		case e != 0:
			return 0, fmt.Errorf("PIDFD_GET_INFO: %w", e)
		case info.Mask&pidfdInfoExit != 0:
			return unix.WaitStatus(info.ExitCode), nil
		case time.Now().After(deadline):
			return 0, errSigchldIgnored
		}
		time.Sleep(delay)
	}
}

// exitCode is the code Wait returns for a wait status: the exit status, or
// 128 plus the signal that killed the command.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
