package testcontainer

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
)

// A runc container runs with its own namespaces, hostname, identity and
// cgroups, and the test cleanup removes everything, even when it is paused.
func TestStartRunc(t *testing.T) {
	var c *RuncContainer
	var ticks uint64
	t.Run("run", func(t *testing.T) {
		c = StartRunc(t, RuncOptions{Hostname: "runc-tc", UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}})
		out, err := c.State()
		require.NoError(t, err)
		var st struct {
			ID     string `json:"id"`
			PID    int    `json:"pid"`
			Status string `json:"status"`
			Bundle string `json:"bundle"`
		}
		require.NoError(t, json.Unmarshal(out, &st))
		assert.Equal(t, c.ID, st.ID)
		assert.Equal(t, c.PID, st.PID)
		assert.Equal(t, "running", st.Status)
		assert.Equal(t, c.Bundle, st.Bundle)

		for _, ns := range []string{"pid", "ipc", "uts", "mnt", "net", "cgroup"} {
			theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", c.PID, ns))
			require.NoError(t, err)
			ours, err := os.Readlink("/proc/self/ns/" + ns)
			require.NoError(t, err)
			assert.NotEqual(t, ours, theirs, ns)
		}
		ticks, err = proc.StartTicks(c.PID)
		require.NoError(t, err)
		status, err := proc.ReadStatus(c.PID)
		require.NoError(t, err)
		assert.Equal(t, uint32(1000), status.UID[1])
		assert.Equal(t, []uint32{2000}, status.Groups)
		cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID))
		require.NoError(t, err)
		assert.Contains(t, string(cg), "/nucleus-runc/"+c.ID+"\n")

		got, code, err := c.Exec("hostname")
		require.NoError(t, err)
		assert.Equal(t, 0, code)
		assert.Equal(t, "runc-tc\n", got)
		_, code, err = c.Exec("sh", "-c", "exit 5")
		require.NoError(t, err)
		assert.Equal(t, 5, code)

		_, err = c.Run("pause", c.ID)
		require.NoError(t, err)
	})
	require.NotNil(t, c)
	for _, p := range []string{c.Bundle, c.Rootfs, c.Root} {
		_, err := os.Stat(p)
		assert.True(t, os.IsNotExist(err), "%s left behind", p)
	}
	if st, err := proc.ReadStat(c.PID); err == nil {
		assert.True(t, st.State == 'Z' || st.StartTicks != ticks, "the container's init is still running: %+v", st)
	}
}
