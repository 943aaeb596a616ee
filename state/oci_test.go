package state

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
)

// runcState is `runc state` output (runc 1.1.5) with the given fields.
func runcState(id string, pid int, status string) string {
	return fmt.Sprintf(`{
  "ociVersion": "1.0.2-dev",
  "id": %q,
  "pid": %d,
  "status": %q,
  "bundle": "/tmp/bundles/%s",
  "rootfs": "/tmp/bundles/%s/rootfs",
  "created": "2026-11-28T10:18:49.134227507Z",
  "owner": ""
}`, id, pid, status, id, id)
}

// sleeper starts `sleep 60` and returns its pid once it has exec'd.
func sleeper(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	testutil.StartChild(t, cmd)
	pid := cmd.Process.Pid
	require.Eventually(t, func() bool {
		st, err := proc.ReadStat(pid)
		return err == nil && st.Comm == "sleep"
	}, 5*time.Second, 5*time.Millisecond)
	return pid
}

func TestFromOCIRunning(t *testing.T) {
	start := time.Now()
	pid := sleeper(t, exec.Command("sleep", "60"))
	s, err := FromOCI(strings.NewReader(runcState("web-1", pid, "running")))
	require.NoError(t, err)
	assert.Equal(t, "web-1", s.ID)
	assert.Equal(t, "web-1", s.Name)
	assert.Equal(t, pid, s.PID)
	assert.Equal(t, StatusRunning, s.Status)
	assert.Equal(t, "/tmp/bundles/web-1", s.BundlePath)
	assert.Nil(t, s.Annotations)
	ticks, err := proc.StartTicks(pid)
	require.NoError(t, err)
	assert.Equal(t, ticks, s.StartTicks, "start ticks captured at load")
	assert.Equal(t, []string{"sleep", "60"}, s.Command)
	assert.WithinDuration(t, start, s.StartedAt, 2*time.Second)
	assert.False(t, s.Rootless)
	assert.False(t, s.UsingGVisor)
	assert.Empty(t, s.RuntimeRoot)
	assert.Equal(t, uint32(os.Getuid()), s.CreatorUID)
	assert.Equal(t, uint32(os.Geteuid()), s.ProcessUID)
	assert.Equal(t, uint32(os.Getegid()), s.ProcessGID)
	require.NoError(t, s.CheckRunning())
	assert.True(t, s.IsRunning())

	// The recorded start ticks name this process: another one under the
	// same number is stale.
	other := *s
	other.StartTicks++
	require.ErrorIs(t, other.CheckRunning(), ErrStale)

	// It saves and loads as a nucleus state file.
	dir := t.TempDir()
	require.NoError(t, s.Save(dir))
	got, err := Load(dir, "web-1")
	require.NoError(t, err)
	assert.Equal(t, s.StartTicks, got.StartTicks)
	assert.Equal(t, s.BundlePath, got.BundlePath)

	// Once the process is gone, the state says so.
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return errors.Is(s.CheckRunning(), ErrNotRunning) }, 5*time.Second, 5*time.Millisecond)
	// And an OCI state naming a dead process is out of date: refused.
	dead := exitedPID(t)
	_, err = FromOCI(strings.NewReader(runcState("web-1", dead, "running")))
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), `state: from oci: container "web-1": pid `)
}

// exitedPID runs a process to completion and returns its now unused pid.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// The state of every runtime: extra fields, annotations, null annotations,
// created and creating.
func TestFromOCIRuntimes(t *testing.T) {
	pid := sleeper(t, exec.Command("sleep", "60"))
	cases := []struct {
		name, json string
		status     Status
		ann        map[string]string
	}{
		{"crun", fmt.Sprintf(`{"ociVersion":"1.0.0","id":"c","pid":%d,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-28T10:00:00Z","owner":"root","systemd-scope":"crun-c.scope"}`, pid),
			StatusRunning, nil},
		{"runsc", fmt.Sprintf(`{"ociVersion":"1.1.0","id":"c","status":"running","pid":%d,"bundle":"/b","annotations":{"io.kubernetes.cri.container-type":"container","a":"b"}}`, pid),
			StatusRunning, map[string]string{"io.kubernetes.cri.container-type": "container", "a": "b"}},
		{"null annotations", fmt.Sprintf(`{"ociVersion":"1.0.0","id":"c","pid":%d,"status":"created","bundle":"/b","annotations":null}`, pid),
			StatusCreated, nil},
		{"no ociVersion", fmt.Sprintf(`{"id":"c","pid":%d,"status":"running","bundle":"/b"}`, pid), StatusRunning, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := FromOCI(strings.NewReader(tc.json))
			require.NoError(t, err)
			assert.Equal(t, "c", s.ID)
			assert.Equal(t, tc.status, s.Status)
			assert.Equal(t, tc.ann, s.Annotations)
			assert.Equal(t, "/b", s.BundlePath)
			assert.NotZero(t, s.StartTicks)
			require.NoError(t, s.CheckRunning())
		})
	}

	// creating without a pid yet: returned, not running.
	s, err := FromOCI(strings.NewReader(`{"ociVersion":"1.0.0","id":"c","pid":0,"status":"creating","bundle":"/b"}`))
	require.NoError(t, err)
	assert.Equal(t, StatusCreating, s.Status)
	require.ErrorIs(t, s.CheckRunning(), ErrNotRunning)
}

func TestFromOCIStopped(t *testing.T) {
	s, err := FromOCI(strings.NewReader(runcState("gone", 0, "stopped")))
	require.NoError(t, err)
	assert.Equal(t, StatusStopped, s.Status)
	assert.Zero(t, s.StartTicks)
	assert.False(t, s.IsRunning())
	err = s.CheckRunning()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "stopped")

	// A stopped state that still names a live pid is not read: stopped wins.
	pid := sleeper(t, exec.Command("sleep", "60"))
	s, err = FromOCI(strings.NewReader(runcState("gone", pid, "stopped")))
	require.NoError(t, err)
	assert.Zero(t, s.StartTicks)
	require.ErrorIs(t, s.CheckRunning(), ErrNotRunning)
}

func TestFromOCIPaused(t *testing.T) {
	pid := sleeper(t, exec.Command("sleep", "60"))
	s, err := FromOCI(strings.NewReader(runcState("p", pid, "paused")))
	require.NoError(t, err)
	assert.Equal(t, StatusPaused, s.Status)
	assert.NotZero(t, s.StartTicks)
	err = s.CheckRunning()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), `container "p"`)
	assert.Contains(t, err.Error(), "is paused")
	assert.False(t, s.IsRunning())

	// Paused is not a status of nucleus state files.
	require.ErrorContains(t, s.Save(t.TempDir()), `unknown status "paused"`)
}

// A container in its own user namespace running as 1000:1000 with an extra
// group: the identity inside, rootless, the host creator.
func TestFromOCIUserNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappingsEnableSetgroups: true,
		Credential:                 &syscall.Credential{Uid: 1000, Gid: 1000, Groups: []uint32{2000}},
	}
	pid := sleeper(t, cmd)
	s, err := FromOCI(strings.NewReader(runcState("rl", pid, "running")))
	require.NoError(t, err)
	assert.True(t, s.Rootless)
	assert.Equal(t, uint32(0), s.CreatorUID, "the owner of the user namespace, not the real uid 101000")
	assert.Equal(t, ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}}, s.Identity())
}

func TestFromOCIInvalid(t *testing.T) {
	pid := sleeper(t, exec.Command("sleep", "60"))
	cases := []struct{ name, json, text string }{
		{"empty", ``, "invalid JSON"},
		{"not JSON", `ociVersion: 1`, "invalid JSON"},
		{"array", `[]`, "invalid JSON"},
		{"trailing garbage", runcState("a", pid, "running") + `}`, "invalid JSON"},
		{"no id", fmt.Sprintf(`{"pid":%d,"status":"running"}`, pid), "no id"},
		{"NUL in id", fmt.Sprintf(`{"id":"a\u0000b","pid":%d,"status":"running"}`, pid), "NUL"},
		{"no status", fmt.Sprintf(`{"id":"a","pid":%d}`, pid), "no status"},
		{"unknown status", fmt.Sprintf(`{"id":"a","pid":%d,"status":"Running"}`, pid), `unknown status "Running"`},
		{"status not a string", fmt.Sprintf(`{"id":"a","pid":%d,"status":1}`, pid), "invalid JSON"},
		{"pid not a number", `{"id":"a","pid":"12","status":"running"}`, "invalid JSON"},
		{"pid fraction", `{"id":"a","pid":1.5,"status":"running"}`, "invalid JSON"},
		{"negative pid", `{"id":"a","pid":-3,"status":"running"}`, "invalid pid -3"},
		{"running without pid", `{"id":"a","status":"running"}`, "without a pid"},
		{"running pid 0", `{"id":"a","pid":0,"status":"running"}`, "without a pid"},
		{"paused pid 0", `{"id":"a","pid":0,"status":"paused"}`, "without a pid"},
		{"created pid 0", `{"id":"a","pid":0,"status":"created"}`, "without a pid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := FromOCI(strings.NewReader(tc.json))
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), "state: from oci: ")
			assert.Contains(t, err.Error(), tc.text)
		})
	}

	_, err := FromOCI(nil)
	require.Error(t, err)
	big := io.MultiReader(strings.NewReader(`{"id":"a","x":"`), bytes.NewReader(bytes.Repeat([]byte("x"), maxStateFile)))
	_, err = FromOCI(big)
	require.ErrorContains(t, err, "larger than")
	_, err = FromOCI(iotestErrReader{})
	require.ErrorContains(t, err, "state: from oci: read: boom")
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// A process in a frozen cgroup is paused whatever its status says:
// CheckRunning refuses it (a command joining its cgroups would freeze too),
// and accepts it again after the thaw. Both freezers that are mounted are
// tried: cgroup v1's freezer.state and cgroup v2's cgroup.freeze.
func TestCheckRunningFrozen(t *testing.T) {
	testutil.RequireRoot(t)
	own, err := proc.Cgroups(0)
	require.NoError(t, err)
	tried := 0
	for _, d := range own {
		switch {
		case strings.Contains(","+d.Controllers+",", ",freezer,"):
			t.Run("v1", func(t *testing.T) { freezeTest(t, d.Dir, "freezer.state", "FROZEN", "THAWED") })
		case d.Hierarchy == 0 && d.Controllers == "":
			t.Run("v2", func(t *testing.T) { freezeTest(t, d.Dir, "cgroup.freeze", "1", "0") })
		default:
			continue
		}
		tried++
	}
	if tried == 0 {
		t.Skip("no freezer: neither a v1 freezer hierarchy nor cgroup v2 is mounted")
	}
}

func freezeTest(t *testing.T, parent, stateFile, freeze, thaw string) {
	dir := filepath.Join(parent, fmt.Sprintf("nucleus-state-freeze-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		testutil.Missing(t, "cannot create a cgroup: %v", err)
	}
	pid := sleeper(t, exec.Command("sleep", "60"))
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, stateFile), []byte(thaw), 0)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		require.Eventually(t, func() bool { return os.Remove(dir) == nil }, 5*time.Second, 10*time.Millisecond)
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(pid)), 0); err != nil {
		testutil.Missing(t, "cannot move a process into %s: %v", dir, err)
	}
	s, err := FromOCI(strings.NewReader(runcState("f", pid, "running")))
	require.NoError(t, err)
	require.NoError(t, s.CheckRunning())
	// What an attach joins: every hierarchy, resolved as proc.Cgroups
	// does, the new cgroup among them.
	dirs, err := s.CheckRunningCgroups()
	require.NoError(t, err)
	want, err := proc.Cgroups(pid)
	require.NoError(t, err)
	assert.Equal(t, want, dirs)
	assert.True(t, slices.ContainsFunc(dirs, func(d proc.CgroupDir) bool { return d.Dir == dir }), "%s in %v", dir, dirs)

	require.NoError(t, os.WriteFile(filepath.Join(dir, stateFile), []byte(freeze), 0))
	err = s.CheckRunning()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "is paused (its cgroup is frozen)")
	assert.False(t, s.IsRunning())
	_, err = s.CheckRunningCgroups()
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "is paused (its cgroup is frozen)")

	require.NoError(t, os.WriteFile(filepath.Join(dir, stateFile), []byte(thaw), 0))
	require.Eventually(t, func() bool { return s.CheckRunning() == nil }, 5*time.Second, 10*time.Millisecond)
}
