package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// A one-shot nsattach always exits before what its command left running
// in the background: that process runs on in the container's cgroup, as
// after `runc exec`, and no cgroup of the command's is left behind in the
// container's (one per such attach, for as long as the container ran).
func TestBackgroundChildLeavesNoCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Cgroup: true})
	r := run(t, "", pidArgs(c, nil, "sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!")...)
	require.Equal(t, 0, r.code, r.stderr)
	dirs, err := c.CommandCgroups()
	require.NoError(t, err)
	assert.Empty(t, dirs, "nsattach left its command's cgroup behind")

	left := testutil.InPIDNamespace(t, c.PID, "sleep")
	require.Len(t, left, 1, "the background sleep runs on")
	pid, err := strconv.Atoi(strings.Fields(left[0])[0])
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	theirs, err := os.ReadFile("/proc/" + strconv.Itoa(c.PID) + "/cgroup")
	require.NoError(t, err)
	mine, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	require.NoError(t, err)
	assert.Equal(t, string(theirs), string(mine), "the sleep is in the container's cgroups")
	// Still running (not frozen): it answers a signal 0 and is not a zombie.
	require.NoError(t, syscall.Kill(pid, 0))
	assert.True(t, testutil.Within(time.Second, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err == nil && !strings.Contains(string(b), ") Z ")
	}))
}
