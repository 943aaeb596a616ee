package attach_test

import (
	"context"
	"os/exec"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/proc"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// A step that fails after the middle child was started (the process spec:
// the target's environment has more entries than are taken) ends and reaps
// that child before Start returns: no child, no zombie, no fd left.
func TestFailureAfterSpawnLeavesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "60")
	for i := 0; i <= proc.MaxEnvironEntries; i++ {
		cmd.Env = append(cmd.Env, "K"+strconv.Itoa(i)+"=v")
	}
	testutil.StartChild(t, cmd)
	st, err := state.FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	// The process's own once-only state (the executable's view, the
	// floor filter) exists before the baseline is taken.
	code, err := attach.Attach(st, []string{"true"}, attach.WithCleanEnv(), attach.WithStdio(nil, nil, nil))
	require.NoError(t, err)
	require.Equal(t, 0, code)
	fds, kids := fdCount(t), children(t)

	for i := 0; i < 5; i++ {
		_, err := attach.Start(context.Background(), st, []string{"true"}, attach.WithStdio(nil, nil, nil))
		require.ErrorIs(t, err, proc.ErrEnvironTooLarge)
		assert.Equal(t, kids, children(t), "the middle child was reaped: %v", testutil.ZombieChildren(t))
		assert.Equal(t, fds, fdCount(t))
	}
}
