package launch

import (
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// namespacesToJoin names exactly the namespaces the target does not share
// with us, as the kernel reports them, and refuses a target that is gone
// with ErrNotRunning.
func TestNamespacesToJoin(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC}
	testutil.StartChild(t, cmd)
	ticks, err := proc.StartTicks(cmd.Process.Pid)
	require.NoError(t, err)
	st := &state.ContainerState{ID: "ns", PID: cmd.Process.Pid, StartTicks: ticks, Status: state.StatusRunning}
	target, err := openPidfd(st)
	require.NoError(t, err)
	defer target.Close()

	flags, err := namespacesToJoin(st, target)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.CLONE_NEWNET|unix.CLONE_NEWUTS|unix.CLONE_NEWIPC), flags)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	_, err = namespacesToJoin(st, target)
	require.ErrorIs(t, err, state.ErrNotRunning)
}
