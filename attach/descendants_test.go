package attach_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// escaper starts a grandchild in a session (and process group) of its own,
// out of reach of a process-group kill, and waits.
var escaper = []string{"sh", "-c", `setsid sh -c "sleep 300" & sleep 100`}

// sleepers lists the sleep processes in the container's PID namespace.
func sleepers(t *testing.T, c *testcontainer.Container) []string {
	return testutil.InPIDNamespace(t, c.PID, "sleep")
}

// Issue 9 item 7: when AttachContext's timeout ends the command, everything
// it started dies with it — also what called setsid — and nothing is left:
// no process, no zombie, no cgroup directory. With the container in
// cgroups of its own and sharing the caller's.
func TestTimeoutKillsEveryDescendant(t *testing.T) {
	for _, own := range []bool{true, false} {
		t.Run("Cgroup="+strconv.FormatBool(own), func(t *testing.T) {
			c, st := container(t, testcontainer.Options{Cgroup: own})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			// Both sleeps must have been running before the timeout, or
			// the test would prove nothing.
			var seen atomic.Bool
			go func() {
				for ctx.Err() == nil && !seen.Load() {
					if len(sleepers(t, c)) == 2 {
						seen.Store(true)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			code, err := attach.AttachContext(ctx, st, escaper, attach.WithStdio(nil, nil, nil))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 128+int(syscall.SIGKILL), code)
			require.True(t, seen.Load(), "the setsid'd sleep 300 ran before the timeout")
			// Killed ones are zombies until the container's init reaps them.
			assert.True(t, testutil.Within(2*time.Second, func() bool { return len(sleepers(t, c)) == 0 }),
				"nothing the command started survives: %v", sleepers(t, c))
			assert.Empty(t, testutil.ZombieChildren(t))
			left, err := c.CommandCgroups()
			require.NoError(t, err)
			assert.Empty(t, left, "the command's cgroup is removed")
		})
	}
}

// What a command leaves running in the background outlives Attach, as
// after `runc exec`, in the container's own cgroup — where runc puts the
// processes of an exec — and the command's cgroup is gone as soon as
// Attach returns: nothing of it is left for the runtime to find, even when
// the caller exits before the background child does.
func TestBackgroundChildrenOutliveAttach(t *testing.T) {
	c, st := container(t, testcontainer.Options{Cgroup: true})
	code, err := attach.Attach(st, []string{"sh", "-c", `setsid sleep 300 >/dev/null 2>&1 &`}, attach.WithStdio(nil, nil, nil))
	require.NoError(t, err)
	require.Equal(t, 0, code)
	dirs, err := c.CommandCgroups()
	require.NoError(t, err)
	assert.Empty(t, dirs, "the command's cgroup is removed when Attach returns")
	var left []string
	require.True(t, testutil.Within(10*time.Second, func() bool {
		left = sleepers(t, c)
		return len(left) == 1
	}), "the background sleep runs on")
	pid, err := strconv.Atoi(strings.Fields(left[0])[0])
	require.NoError(t, err)
	defer syscall.Kill(pid, syscall.SIGKILL)
	theirs, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID))
	require.NoError(t, err)
	mine, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	require.NoError(t, err)
	assert.Equal(t, string(theirs), string(mine), "the sleep is in the container's cgroups, v2 included (so not in a frozen one)")
}
