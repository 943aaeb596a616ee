package launch

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/testutil"
)

// The PID report comes with a pidfd the middle child's clone made
// (CLONE_PIDFD) before the grandchild ran an instruction, close-on-exec:
// the parent holds the command from its birth, so that a command the
// kernel reaps at once (SIGCHLD ignored) still leaves its status in the
// pidfd. Here the grandchild is held before its go-ahead, killed through
// the pidfd and reaped through it.
func TestPIDReportCarriesPidfd(t *testing.T) {
	testutil.RequireRoot(t)
	st := startTarget(t, t.TempDir())
	sock, gc, pidfd := startHeld(t, st)
	defer sock.Close()
	defer unix.Close(pidfd)

	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", pidfd))
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(info), "\n"), fmt.Sprintf("Pid:\t%d", gc), "fdinfo of the pidfd:\n%s", info)
	flags, err := unix.FcntlInt(uintptr(pidfd), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, flags&unix.FD_CLOEXEC, "the pidfd is close-on-exec")

	require.NoError(t, unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0))
	var si unix.Siginfo
	require.NoError(t, unix.Waitid(unix.P_PIDFD, pidfd, &si, unix.WEXITED, nil))
	_, err = os.Stat(fmt.Sprintf("/proc/%d", gc))
	assert.ErrorIs(t, err, os.ErrNotExist, "the grandchild was reaped through its pidfd")
}
