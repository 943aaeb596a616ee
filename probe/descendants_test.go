package probe

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// Issue 9 item 7: an exec probe leaves nothing of what its command started,
// also what called setsid (out of the process group): not at the timeout,
// not after a normal exit. No process, zombie or cgroup directory remains.
func TestExecProbeKillsEveryDescendant(t *testing.T) {
	for _, own := range []bool{true, false} {
		t.Run("Cgroup="+strconv.FormatBool(own), func(t *testing.T) {
			c := testcontainer.New(t, testcontainer.Options{Cgroup: own})
			nothingLeft := func(t *testing.T) {
				t.Helper()
				assert.True(t, testutil.Within(2*time.Second, func() bool { return len(testutil.InPIDNamespace(t, c.PID, "")) == 0 }),
					"left in the container: %v", testutil.InPIDNamespace(t, c.PID, ""))
				assert.Empty(t, testutil.ZombieChildren(t))
				left, err := c.CommandCgroups()
				require.NoError(t, err)
				assert.Empty(t, left, "the command's cgroup is removed")
			}
			t.Run("timeout", func(t *testing.T) {
				var seen, done atomic.Bool
				go func() {
					for !done.Load() && !seen.Load() {
						if len(testutil.InPIDNamespace(t, c.PID, "sleep")) == 2 {
							seen.Store(true)
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
				res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c", `setsid sh -c "sleep 300" & sleep 100`}}, 3*time.Second)
				done.Store(true)
				require.NoError(t, err)
				assert.Equal(t, Failure, res.Status)
				assert.Equal(t, "timeout", res.Reason)
				require.True(t, seen.Load(), "the setsid'd sleep 300 ran before the timeout")
				nothingLeft(t)
			})
			t.Run("normal exit", func(t *testing.T) {
				// The command exits once its setsid'd child has written
				// the marker, so that child surely runs at the exit.
				res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c",
					`rm -f /tmp/m; setsid sh -c "echo > /tmp/m; exec sleep 300" & while [ ! -e /tmp/m ]; do :; done`}}, 5*time.Second)
				require.NoError(t, err)
				assert.Equal(t, Success, res.Status, res.Reason)
				nothingLeft(t)
			})
		})
	}
}
