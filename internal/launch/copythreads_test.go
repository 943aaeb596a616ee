package launch

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// A copy worker is the one grandchild that runs Go inside the container,
// and the constructor hardens it before the Go runtime starts: every
// thread the runtime then creates inherits the identity, the capability
// sets (already those execve would leave uid 1000), no_new_privs and the
// seccomp filters of the first one — the kernel copies a thread's
// credentials and filters at clone. Hardening in Go changed only the main
// thread, and the runtime's other threads kept root's full capabilities and
// no filter.
func TestCopyWorkerEveryThreadHardened(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := StartCopyIn(ctx, &Request{Target: st, Identity: &state.ProcessIdentity{UID: 1000, GID: 1000}}, "/tmp")
	require.NoError(t, err)
	defer func() { assert.NoError(t, w.Abort()) }()

	// The worker waits for records on stdin; its runtime has started
	// sysmon at least.
	task := "/proc/" + strconv.Itoa(w.p.Pid()) + "/task"
	var tids []os.DirEntry
	require.True(t, testutil.Within(10*time.Second, func() bool {
		tids, _ = os.ReadDir(task)
		return len(tids) > 1
	}), "the worker's Go runtime never started a second thread")
	fields := []string{"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters"}
	var first map[string]string
	for _, tid := range tids {
		b, err := os.ReadFile(task + "/" + tid.Name() + "/status")
		require.NoError(t, err)
		got := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				got[k] = strings.TrimSpace(v)
			}
		}
		assert.Equal(t, "2", got["Seccomp"], "thread %s is not in seccomp filter mode", tid.Name())
		assert.Equal(t, "1000\t1000\t1000\t1000", got["Uid"], "thread %s", tid.Name())
		assert.Equal(t, "0000000000000000", got["CapEff"], "thread %s: uid 1000 keeps no capability, as after execve", tid.Name())
		if first == nil {
			first = got
			continue
		}
		for _, f := range fields {
			assert.Equal(t, first[f], got[f], "thread %s: %s", tid.Name(), f)
		}
	}
}
