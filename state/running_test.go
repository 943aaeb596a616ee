package state

import (
	"errors"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
)

func TestIdentity(t *testing.T) {
	s := &ContainerState{ProcessUID: 1000, ProcessGID: 100, AdditionalGIDs: []uint32{5, 27}}
	id := s.Identity()
	assert.Equal(t, ProcessIdentity{UID: 1000, GID: 100, AdditionalGIDs: []uint32{5, 27}}, id)
	id.AdditionalGIDs[0] = 99
	assert.Equal(t, uint32(5), s.AdditionalGIDs[0], "Identity returns a copy")
	assert.Nil(t, (&ContainerState{}).Identity().AdditionalGIDs)
}

func TestCheckRunningChild(t *testing.T) {
	cmd := testutil.StartChild(t, exec.Command("sleep", "60"))
	pid := cmd.Process.Pid
	ticks, err := proc.StartTicks(pid)
	require.NoError(t, err)

	s := &ContainerState{ID: "c1", PID: pid, StartTicks: ticks, Status: StatusRunning}
	require.NoError(t, s.CheckRunning())
	assert.True(t, s.IsRunning())
	for _, st := range []Status{StatusCreating, StatusCreated} {
		s.Status = st
		assert.True(t, s.IsRunning(), st)
	}
	s.Status = StatusRunning

	// Stale: the PID is alive but the ticks do not match.
	stale := *s
	stale.StartTicks = ticks + 1
	err = stale.CheckRunning()
	require.ErrorIs(t, err, ErrStale)
	assert.False(t, errors.Is(err, ErrNotRunning))
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(pid))
	assert.False(t, stale.IsRunning())

	stale.StartTicks = 0
	require.ErrorIs(t, stale.CheckRunning(), ErrStale)

	// Status stopped wins over a live process.
	stopped := *s
	stopped.Status = StatusStopped
	err = stopped.CheckRunning()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(pid))

	for _, bad := range []int{0, -1} {
		b := *s
		b.PID = bad
		err := b.CheckRunning()
		require.ErrorIs(t, err, ErrNotRunning)
		assert.Contains(t, err.Error(), "pid "+strconv.Itoa(bad))
	}

	// Killed but not reaped: a zombie is not running.
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Eventually(t, func() bool {
		st, err := proc.ReadStat(pid)
		return err == nil && st.State == 'Z'
	}, 5*time.Second, 5*time.Millisecond)
	err = s.CheckRunning()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.False(t, s.IsRunning())

	// Reaped: /proc/PID/stat is gone.
	_ = cmd.Wait()
	err = s.CheckRunning()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(pid))
	assert.False(t, s.IsRunning())
}

func TestSentinelMessages(t *testing.T) {
	assert.Equal(t, "container is not running", ErrNotRunning.Error())
	for _, e := range []error{ErrNotRunning, ErrStale, ErrPermission, ErrUnsupported} {
		assert.NotEmpty(t, e.Error())
	}
	assert.False(t, errors.Is(ErrStale, ErrNotRunning))
}
