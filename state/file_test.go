package state

import (
	"encoding/json"
	"nucleus/internal/testutil"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func fullState() *ContainerState {
	mem := uint64(512 << 20)
	cpu := 1.5
	return &ContainerState{
		ID:             "web-1",
		Name:           "web",
		PID:            4242,
		Command:        []string{"/bin/sh", "-c", "echo hi"},
		StartedAt:      time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.UTC),
		MemoryLimit:    &mem,
		CPULimit:       &cpu,
		UsingGVisor:    true,
		Rootless:       true,
		CgroupPath:     "/sys/fs/cgroup/nucleus/web-1",
		ConfigHash:     18446744073709551615,
		CreatorUID:     1000,
		ProcessUID:     0,
		ProcessGID:     0,
		AdditionalGIDs: []uint32{5, 27},
		StartTicks:     123456,
		Status:         StatusRunning,
		BundlePath:     "/var/lib/bundles/web-1",
		Annotations:    map[string]string{"org.example/owner": "team-a"},
	}
}

// The JSON keys of a nucleus state file (the Rust nucleus-container 0.3).
var wantKeys = []string{
	"id", "name", "pid", "command", "started_at", "memory_limit", "cpu_limit",
	"using_gvisor", "rootless", "cgroup_path", "config_hash", "creator_uid",
	"process_uid", "process_gid", "additional_gids", "start_ticks", "status",
	"bundle_path", "annotations",
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested")
	s := fullState()
	require.NoError(t, s.Save(dir))

	got, err := Load(dir, "web-1")
	require.NoError(t, err)
	assert.Equal(t, s, got)

	raw, err := os.ReadFile(filepath.Join(dir, "web-1.json"))
	require.NoError(t, err)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Clone(wantKeys)
	slices.Sort(want)
	assert.Equal(t, want, keys, "exact key set of the file")
	assert.JSONEq(t, `"2026-11-28T10:00:00.123456789Z"`, string(m["started_at"]), "RFC 3339")
	assert.JSONEq(t, `18446744073709551615`, string(m["config_hash"]), "u64 kept exact")
	assert.JSONEq(t, `"running"`, string(m["status"]))

	// Nil limits are null, as the Rust Option<T> writes them.
	s2 := &ContainerState{ID: "min", Status: StatusCreated}
	require.NoError(t, s2.Save(dir))
	raw, err = os.ReadFile(filepath.Join(dir, "min.json"))
	require.NoError(t, err)
	m = nil
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Len(t, m, len(wantKeys))
	assert.Equal(t, "null", string(m["memory_limit"]))
	assert.Equal(t, "null", string(m["cpu_limit"]))

	// Saving again replaces the file and leaves no temporary files behind.
	s.PID = 4343
	require.NoError(t, s.Save(dir))
	got, err = Load(dir, "web-1")
	require.NoError(t, err)
	assert.Equal(t, 4343, got.PID)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"web-1.json", "min.json"}, names)
}

func TestSaveModes(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	parent := t.TempDir()
	dir := filepath.Join(parent, "a", "b")
	require.NoError(t, fullState().Save(dir))

	for _, d := range []string{filepath.Join(parent, "a"), dir} {
		fi, err := os.Lstat(d)
		require.NoError(t, err)
		assert.True(t, fi.IsDir())
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), d)
	}
	fi, err := os.Lstat(filepath.Join(dir, "web-1.json"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A strict umask does not change the file mode either.
	unix.Umask(0o277)
	s := fullState()
	s.ID = "umask"
	require.NoError(t, s.Save(dir))
	fi, err = os.Lstat(filepath.Join(dir, "umask.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestLoadMissingStatusIsStopped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "old.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"id":"old","name":"old","pid":12,"start_ticks":5}`), 0o600))
	s, err := LoadFile(p)
	require.NoError(t, err)
	assert.Equal(t, StatusStopped, s.Status)
	assert.False(t, s.IsRunning())
	require.ErrorIs(t, s.CheckRunning(), ErrNotRunning)

	require.NoError(t, os.WriteFile(p, []byte(`{"id":"old","status":null}`), 0o600))
	s, err = Load(dir, "old")
	require.NoError(t, err)
	assert.Equal(t, StatusStopped, s.Status)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}

	p := write("bad.json", `{"id": "bad", "pid": `)
	_, err := LoadFile(p)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "state: load "+p+": invalid JSON: "), err.Error())

	p = write("type.json", `{"id": "type", "pid": "12"}`)
	_, err = LoadFile(p)
	require.ErrorContains(t, err, "state: load "+p+": invalid JSON: ")

	p = write("status.json", `{"id": "status", "status": "paused"}`)
	_, err = LoadFile(p)
	require.ErrorContains(t, err, `unknown status "paused"`)

	p = write("noid.json", `{"pid": 1}`)
	_, err = LoadFile(p)
	require.ErrorContains(t, err, "empty id")

	p = write("evil.json", `{"id": "../evil"}`)
	_, err = LoadFile(p)
	require.ErrorContains(t, err, "invalid id")

	write("other.json", `{"id": "someone-else"}`)
	_, err = Load(dir, "other")
	require.ErrorContains(t, err, `file holds id "someone-else", want "other"`)

	_, err = Load(dir, "missing")
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo.json"), 0o600))
	_, err = Load(dir, "fifo")
	require.ErrorContains(t, err, "not a regular file")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "adir.json"), 0o700))
	_, err = Load(dir, "adir")
	require.ErrorContains(t, err, "not a regular file")
}

func TestSymlinksRefused(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	require.NoError(t, fullState().Save(real))

	// A symlinked state file.
	other := filepath.Join(base, "other")
	require.NoError(t, os.Mkdir(other, 0o700))
	require.NoError(t, os.Symlink(filepath.Join(real, "web-1.json"), filepath.Join(other, "web-1.json")))
	_, err := Load(other, "web-1")
	require.ErrorContains(t, err, "symbolic link")
	_, err = LoadFile(filepath.Join(other, "web-1.json"))
	require.ErrorContains(t, err, "symbolic link")

	// A symlinked directory, for Load, LoadFile and Save.
	link := filepath.Join(base, "link")
	require.NoError(t, os.Symlink(real, link))
	_, err = Load(link, "web-1")
	require.ErrorContains(t, err, "symbolic link")
	_, err = LoadFile(filepath.Join(link, "web-1.json"))
	require.ErrorContains(t, err, "symbolic link")
	err = fullState().Save(link)
	require.ErrorContains(t, err, "symbolic link")

	// Save replaces a symlink planted at the file name instead of writing
	// through it.
	target := filepath.Join(base, "target")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o600))
	require.NoError(t, os.Remove(filepath.Join(real, "web-1.json")))
	require.NoError(t, os.Symlink(target, filepath.Join(real, "web-1.json")))
	require.NoError(t, fullState().Save(real))
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b))
	fi, err := os.Lstat(filepath.Join(real, "web-1.json"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
}

func TestSaveRefusesForeignDir(t *testing.T) {
	testutil.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "foreign")
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chown(dir, 4321, 4321))
	err := fullState().Save(dir)
	require.ErrorContains(t, err, "owned by uid 4321")
}

func TestBadIDs(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"", ".", "..", "a/b", "/abs", "a..b", "../x", "x\x00y", strings.Repeat("x", 251)} {
		t.Run(id, func(t *testing.T) {
			require.Error(t, ValidateID(id))
			_, err := Load(dir, id)
			require.ErrorContains(t, err, "state: load: ")
			s := fullState()
			s.ID = id
			require.ErrorContains(t, s.Save(dir), "state: save: ")
		})
	}
	for _, id := range []string{"a", "web-1", ".hidden", "a.b", "x y", strings.Repeat("x", 250)} {
		require.NoError(t, ValidateID(id), id)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written for a bad id")

	s := fullState()
	s.Status = "paused"
	require.ErrorContains(t, s.Save(dir), "unknown status")
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("NUCLEUS_STATE_DIR", "/custom/dir")
	assert.Equal(t, "/custom/dir", DefaultDir())
	assert.Equal(t, "/custom/dir", defaultDir(1000))
	t.Setenv("NUCLEUS_STATE_DIR", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	assert.Equal(t, "/var/run/nucleus", defaultDir(0))
	assert.Equal(t, "/run/user/1000/nucleus", defaultDir(1000))
	t.Setenv("XDG_RUNTIME_DIR", "")
	assert.Equal(t, filepath.Join(os.TempDir(), "nucleus-1000"), defaultDir(1000))
	assert.Equal(t, defaultDir(os.Geteuid()), DefaultDir())
}
