package state

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
)

func TestParseSandbox(t *testing.T) {
	cases := []struct {
		name string
		argv []string
		ok   bool
		want sandbox
	}{
		{"runsc-sandbox as runsc starts it",
			[]string{"runsc-sandbox", "--root=/var/run/runsc", "--debug=false", "--platform=systrap", "boot", "--bundle=/b", "--controller-fd=3", "--stdio-fds=7", "my-id"},
			true, sandbox{root: "/var/run/runsc", id: "my-id"}},
		{"separate values", []string{"/usr/local/bin/runsc", "-root", "/r", "--network", "none", "boot", "-bundle", "/b", "id2"},
			true, sandbox{root: "/r", id: "id2"}},
		{"single dash with =", []string{"runsc", "-root=/r", "boot", "--bundle", "/b", "x"}, true, sandbox{root: "/r", id: "x"}},
		{"no root: default later", []string{"runsc-sandbox", "boot", "--bundle=/b", "x"}, true, sandbox{id: "x"}},
		{"runsc-sandbox without boot", []string{"runsc-sandbox", "--root=/r"}, true, sandbox{root: "/r"}},
		{"no id", []string{"runsc-sandbox", "boot", "--bundle=/b"}, true, sandbox{}},
		{"root after boot is not runsc's", []string{"runsc-sandbox", "boot", "--root=/evil", "x"}, true, sandbox{id: "x"}},
		{"rootless is not root", []string{"runsc-sandbox", "--rootless", "--root=/r", "boot", "x"}, true, sandbox{root: "/r", id: "x"}},
		{"runsc run", []string{"runsc", "--root=/r", "run", "x"}, false, sandbox{}},
		{"runsc gofer", []string{"runsc-gofer", "--root=/r", "gofer", "--bundle", "/b"}, false, sandbox{}},
		{"boot after --", []string{"runsc", "--", "boot"}, false, sandbox{}},
		{"other program", []string{"sleep", "boot"}, false, sandbox{}},
		{"empty", nil, false, sandbox{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseSandbox(tc.argv)
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestCheckRuntimeRoot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o711))
	owner, err := CheckRuntimeRoot(dir)
	require.NoError(t, err)
	assert.Equal(t, uint32(os.Geteuid()), owner)

	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	open := filepath.Join(dir, "open")
	require.NoError(t, os.Mkdir(open, 0o700))
	require.NoError(t, os.Chmod(open, 0o777))
	for _, tc := range []struct{ dir, text string }{
		{"relative", "absolute"},
		{dir + "/", "clean"},
		{dir + "/../" + filepath.Base(dir), "clean"},
		{link, "not a directory"},
		{file, "not a directory"},
		{open, "writable by group or others"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		_, err := CheckRuntimeRoot(tc.dir)
		assert.ErrorContains(t, err, tc.text, tc.dir)
	}

	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "other")
		require.NoError(t, os.Mkdir(other, 0o700))
		require.NoError(t, os.Chown(other, 1234, 1234))
		_, err := CheckRuntimeRoot(other)
		assert.ErrorContains(t, err, "owned by uid 1234")
	}
}

// fakeSandbox starts a process whose command line is a gVisor sandbox
// supervisor's: a shell with argv[0] runsc-sandbox that stays alive (it
// cannot exec its last command away, a wait follows it).
func fakeSandbox(t *testing.T, args ...string) int {
	t.Helper()
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	cmd := &exec.Cmd{Path: sh, Args: append([]string{"runsc-sandbox", "-c", "sleep 60 & wait"}, args...)}
	testutil.StartChild(t, cmd)
	pid := cmd.Process.Pid
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err == nil && strings.HasPrefix(string(b), "runsc-sandbox\x00")
	}, 5*time.Second, 5*time.Millisecond)
	return pid
}

func writeConfig(t *testing.T, bundle, user string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(bundle, 0o755))
	cfg := `{"ociVersion":"1.0.2","process":{"user":` + user + `,"args":["sleep","1"],"cwd":"/"},"root":{"path":"rootfs"}}`
	require.NoError(t, os.WriteFile(filepath.Join(bundle, "config.json"), []byte(cfg), 0o644))
}

func TestGVisorSandbox(t *testing.T) {
	root := t.TempDir() // 0700, owned by the caller
	tmp := t.TempDir()
	sandboxBundle, bundle := filepath.Join(tmp, "sandbox"), filepath.Join(tmp, "ctr")
	writeConfig(t, sandboxBundle, `{"uid":0,"gid":0}`)
	writeConfig(t, bundle, `{"uid":1000,"gid":1000,"additionalGids":[2000,3000]}`)
	pid := fakeSandbox(t, "--root="+root, "--platform=systrap", "boot", "--bundle="+sandboxBundle, "--controller-fd=3", "sb-1")

	// From the OCI state, as `runsc state ctr-2` prints it in a pod whose
	// sandbox is sb-1: the container's id and bundle, the sandbox's pid.
	s, err := FromOCI(strings.NewReader(fmt.Sprintf(`{"ociVersion":"1.0.0","id":"ctr-2","status":"running","pid":%d,"bundle":%q}`, pid, bundle)))
	require.NoError(t, err)
	assert.True(t, s.UsingGVisor)
	assert.Equal(t, root, s.RuntimeRoot)
	assert.Equal(t, "ctr-2", s.ID)
	assert.Equal(t, "ctr-2", s.Name)
	assert.Equal(t, bundle, s.BundlePath)
	assert.Equal(t, uint32(os.Geteuid()), s.CreatorUID, "the owner of the runsc root")
	assert.Equal(t, ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000, 3000}}, s.Identity(),
		"process.user of the container's config.json")
	ticks, err := proc.StartTicks(pid)
	require.NoError(t, err)
	assert.Equal(t, ticks, s.StartTicks)
	require.NoError(t, s.CheckRunning())

	// The runtime root is part of the state file.
	dir := t.TempDir()
	require.NoError(t, s.Save(dir))
	got, err := Load(dir, "ctr-2")
	require.NoError(t, err)
	assert.Equal(t, root, got.RuntimeRoot)
	assert.True(t, got.UsingGVisor)

	// From the bare pid: the sandbox's own id and bundle.
	s, err = FromPID(pid)
	require.NoError(t, err)
	assert.True(t, s.UsingGVisor)
	assert.Equal(t, root, s.RuntimeRoot)
	assert.Equal(t, "sb-1", s.ID)
	assert.Equal(t, ProcessIdentity{}, s.Identity())
}

// A runsc root that fails the checks is not recorded and only root may act
// on the sandbox; a missing config.json leaves the supervisor's identity.
func TestGVisorSandboxBadRoot(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(open, 0o700))
	require.NoError(t, os.Chmod(open, 0o777))
	pid := fakeSandbox(t, "--root", open, "boot", "--bundle", "/nonexistent", "../x")
	s, err := FromPID(pid)
	require.NoError(t, err)
	assert.True(t, s.UsingGVisor)
	assert.Empty(t, s.RuntimeRoot)
	assert.Equal(t, uint32(0), s.CreatorUID)
	assert.Equal(t, fmt.Sprint(pid), s.ID, "an id that cannot name a state file is not taken")
	assert.Equal(t, uint32(os.Geteuid()), s.ProcessUID)

	// No --root at all: runsc's default, when it passes the checks.
	pid = fakeSandbox(t, "boot", "x")
	s, err = FromPID(pid)
	require.NoError(t, err)
	assert.True(t, s.UsingGVisor)
	if _, err := CheckRuntimeRoot(DefaultRunscRoot); err == nil {
		assert.Equal(t, DefaultRunscRoot, s.RuntimeRoot)
	} else {
		assert.Empty(t, s.RuntimeRoot)
	}
}
