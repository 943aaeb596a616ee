package launch

import (
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// sigchldIgnored reads the kernel's disposition, which signal.Ignore sets
// to SIG_IGN. (signal.Reset alone leaves SIG_IGN in place for a signal the
// runtime handles by default; Notify reinstalls the runtime's handler.)
func TestSigchldIgnoredDetection(t *testing.T) {
	assert.False(t, sigchldIgnored(), "the Go runtime's own handler")
	signal.Ignore(syscall.SIGCHLD)
	ignored := sigchldIgnored()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGCHLD)
	signal.Reset(syscall.SIGCHLD)
	assert.True(t, ignored)
	assert.False(t, sigchldIgnored(), "restored")
}

// The wait statuses PIDFD_INFO_EXIT reports become Wait's exit codes.
func TestExitCode(t *testing.T) {
	assert.Equal(t, 42, exitCode(unix.WaitStatus(42<<8)))
	assert.Equal(t, 0, exitCode(0))
	assert.Equal(t, 137, exitCode(unix.WaitStatus(unix.SIGKILL)))
	assert.Equal(t, 128+int(unix.SIGSEGV), exitCode(unix.WaitStatus(unix.SIGSEGV|0x80)), "with a core dump")
}
