package testcontainer

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
)

// A gVisor container runs, is seen by nucleus as a sandbox (FromOCI), runs
// commands through runsc exec, and the test cleanup removes everything:
// the sandbox, its gofer and the directories.
func TestStartRunsc(t *testing.T) {
	var c *RunscContainer
	var ticks uint64
	t.Run("run", func(t *testing.T) {
		c = StartRunsc(t, RunscOptions{Hostname: "runsc-tc", UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}})
		st, err := c.State()
		require.NoError(t, err)
		assert.Equal(t, c.ID, st.ID)
		assert.Equal(t, c.PID, st.PID)
		assert.True(t, st.UsingGVisor)
		assert.Equal(t, c.Root, st.RuntimeRoot)
		assert.Equal(t, c.Bundle, st.BundlePath)
		assert.Equal(t, uint32(1000), st.ProcessUID, "process.user of the bundle")
		assert.Equal(t, []uint32{2000}, st.AdditionalGIDs)
		ticks = st.StartTicks

		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(c.PID) + "/cmdline")
		require.NoError(t, err)
		assert.Contains(t, string(cmdline), "boot")
		for _, ns := range []string{"pid", "mnt", "net"} {
			theirs, err := os.Readlink("/proc/" + strconv.Itoa(c.PID) + "/ns/" + ns)
			require.NoError(t, err)
			ours, err := os.Readlink("/proc/self/ns/" + ns)
			require.NoError(t, err)
			assert.NotEqual(t, ours, theirs, ns)
		}

		got, code, err := c.Exec("hostname")
		require.NoError(t, err)
		assert.Equal(t, 0, code)
		assert.Equal(t, "runsc-tc\n", got)
		got, code, err = c.Exec("id", "-u")
		require.NoError(t, err)
		assert.Equal(t, 0, code)
		assert.Equal(t, "1000\n", got)
		_, code, err = c.Exec("sh", "-c", "exit 5")
		require.NoError(t, err)
		assert.Equal(t, 5, code)

		ps, err := c.Ps()
		require.NoError(t, err)
		require.Len(t, ps, 1, "%+v", ps)
		assert.Equal(t, helperName[:15], ps[0].Cmd, "comm: 15 bytes")
		assert.Equal(t, 1, ps[0].PID)
	})
	require.NotNil(t, c)
	for _, p := range []string{c.Bundle, c.Rootfs, c.Root} {
		_, err := os.Stat(p)
		assert.True(t, os.IsNotExist(err), "%s left behind", p)
	}
	if st, err := proc.ReadStat(c.PID); err == nil {
		assert.True(t, st.State == 'Z' || st.StartTicks != ticks, "the sandbox is still running: %+v", st)
	}
}
