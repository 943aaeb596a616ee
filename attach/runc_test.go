package attach_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// runcState loads the container's state the way a user would: `runc state`
// into state.FromOCI.
func runcState(t *testing.T, c *testcontainer.RuncContainer) *state.ContainerState {
	t.Helper()
	out, err := c.State()
	require.NoError(t, err)
	st, err := state.FromOCI(bytes.NewReader(out))
	require.NoError(t, err, "runc state: %s", out)
	return st
}

// attachOut attaches cmd and returns its stdout and exit code.
func attachOut(t *testing.T, st *state.ContainerState, cmd ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code, err := attach.Attach(st, cmd, attach.WithStdio(nil, &out, &errOut))
	require.NoError(t, err, "stderr: %s", errOut.String())
	return out.String(), code
}

// sameAsRuncExec runs each command with `runc exec` and with attach and
// wants the same stdout and exit code.
func sameAsRuncExec(t *testing.T, c *testcontainer.RuncContainer, st *state.ContainerState, cmds [][]string) {
	t.Helper()
	for _, cmd := range cmds {
		want, wantCode, err := c.Exec(cmd...)
		require.NoError(t, err)
		got, code := attachOut(t, st, cmd...)
		assert.Equal(t, want, got, "%q: output", cmd)
		assert.Equal(t, wantCode, code, "%q: exit code", cmd)
		assert.NotEmpty(t, got, "%q", cmd)
	}
}

// A runc container as root: what a command sees through attach is what it
// sees through runc exec.
func TestRuncInterop(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Hostname: "runc-interop"})
	// Under /etc: the default Landlock policy lets / be listed, not read.
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "etc/marker"), []byte("from the bundle\n"), 0o644))
	st := runcState(t, c)
	assert.Equal(t, c.ID, st.ID)
	assert.Equal(t, c.PID, st.PID)
	assert.Equal(t, c.Bundle, st.BundlePath)
	assert.Equal(t, state.StatusRunning, st.Status)
	assert.False(t, st.UsingGVisor)
	assert.False(t, st.Rootless)

	sameAsRuncExec(t, c, st, [][]string{
		{"cat", "/etc/marker"},
		{"hostname"},
		{"id", "-u"},
		{"id"},
		{"sh", "-c", "echo $HOME"},
		{"pwd"},
		{"sh", "-c", "echo out; exit 3"},
	})
	out, code := attachOut(t, st, "sh", "-c", "cat /etc/marker; hostname; exit 3")
	assert.Equal(t, "from the bundle\nrunc-interop\n", out)
	assert.Equal(t, 3, code)

	// The command is in the container's cgroups: runc's, nucleus-runc/<id>
	// (v2: a cgroup of its own below it).
	got, _ := attachOut(t, st, "cat", "/proc/self/cgroup")
	want, _, err := c.Exec("cat", "/proc/self/cgroup")
	require.NoError(t, err)
	assert.NoError(t, testutil.CheckCommandCgroups(want, got))
}

// process.user 1000:1000 with an additional group: attach takes the
// identity from the live init, runc exec from config.json; they agree.
func TestRuncInteropUser(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}})
	st := runcState(t, c)
	assert.Equal(t, state.ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}}, st.Identity())
	sameAsRuncExec(t, c, st, [][]string{
		{"id"},
		{"id", "-u"},
		{"sh", "-c", "echo $HOME"},
		{"pwd"},
	})
	out, _ := attachOut(t, st, "sh", "-c", "echo $HOME")
	assert.Equal(t, "/home/user\n", out)
}

// Paused: refused with a clear error, as runc exec refuses; after resume it
// works; after the container is killed: ErrNotRunning.
func TestRuncPauseResumeKill(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{})
	running := runcState(t, c)

	_, err := c.Run("pause", c.ID)
	require.NoError(t, err)
	paused := runcState(t, c)
	assert.Equal(t, state.StatusPaused, paused.Status)
	code, err := attach.Attach(paused, []string{"true"}, attach.WithStdio(nil, nil, nil))
	require.ErrorIs(t, err, attach.ErrNotRunning)
	assert.Contains(t, err.Error(), "paused")
	assert.Equal(t, -1, code)
	_, runcCode, err := c.Exec("true")
	require.NoError(t, err)
	assert.Equal(t, 255, runcCode, "runc exec refuses a paused container")

	// The state loaded before the pause still says running: the frozen
	// cgroup is seen live and refused the same way. (Joining it would
	// freeze the command, and with the v1 freezer even SIGKILL waits for the
	// thaw: the attach would hang whatever its context says.)
	done := make(chan error, 1)
	go func() {
		_, err := attach.Attach(running, []string{"true"}, attach.WithStdio(nil, nil, nil))
		done <- err
	}()
	select {
	case err = <-done:
		require.ErrorIs(t, err, attach.ErrNotRunning)
		assert.Contains(t, err.Error(), "paused")
	case <-time.After(10 * time.Second):
		_, _ = c.Run("resume", c.ID)
		<-done
		t.Fatal("attach to a frozen container hung until it was resumed")
	}

	_, err = c.Run("resume", c.ID)
	require.NoError(t, err)
	resumed := runcState(t, c)
	assert.Equal(t, state.StatusRunning, resumed.Status)
	assert.Equal(t, running.StartTicks, resumed.StartTicks)
	_, code = attachOut(t, resumed, "true")
	assert.Equal(t, 0, code)

	_, err = c.Run("kill", c.ID, "KILL")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		out, err := c.State()
		return err == nil && bytes.Contains(out, []byte(`"stopped"`))
	}, 10*time.Second, 10*time.Millisecond)
	stopped := runcState(t, c)
	assert.Equal(t, state.StatusStopped, stopped.Status)
	_, err = attach.Attach(stopped, []string{"true"}, attach.WithStdio(nil, nil, nil))
	require.ErrorIs(t, err, attach.ErrNotRunning)
	// The state loaded while it ran: its process is gone.
	_, err = attach.AttachContext(context.Background(), running, []string{"true"}, attach.WithStdio(nil, nil, nil))
	require.ErrorIs(t, err, attach.ErrNotRunning)
}
