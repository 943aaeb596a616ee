package proc

import (
	"nucleus/internal/testutil"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestPidfd(t *testing.T) {
	self, err := PidfdOpen(os.Getpid())
	require.NoError(t, err)
	defer unix.Close(self)
	require.NoError(t, PidfdSignal(self, 0))
	flags, err := unix.FcntlInt(uintptr(self), unix.F_GETFD, 0)
	require.NoError(t, err)
	require.NotZero(t, flags&unix.FD_CLOEXEC, "pidfd must be close-on-exec")

	cmd := testutil.StartChild(t, exec.Command("sleep", "60"))
	fd, err := PidfdOpen(cmd.Process.Pid)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, PidfdSignal(fd, 0))

	// Kill through the pidfd, reap, and the pidfd reports the process gone.
	require.NoError(t, PidfdSignal(fd, unix.SIGKILL))
	_ = cmd.Wait()
	err = PidfdSignal(fd, 0)
	require.ErrorIs(t, err, unix.ESRCH)

	_, err = PidfdOpen(0)
	require.Error(t, err)
	_, err = PidfdOpen(cmd.Process.Pid) // reaped: gone (unless reused, vanishingly unlikely)
	require.Error(t, err)
}
