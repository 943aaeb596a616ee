package launch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/state"
)

func TestMergeEnv(t *testing.T) {
	base := []string{"PATH=/a", "X=1", "X=dup", "Y=2"}
	assert.Equal(t, []string{"PATH=/b", "X=3", "Y=2", "Z="},
		mergeEnv(base, []string{"PATH=/b", "X=3", "Z="}), "replaced in place, duplicates dropped, new appended")
	assert.Equal(t, []string{"PATH=/a", "X=1", "X=dup", "Y=2"}, base, "base untouched")
	assert.Equal(t, []string{"A=1"}, mergeEnv(nil, []string{"A=0", "A=1"}))
}

func TestCheckUserSpec(t *testing.T) {
	for spec, ok := range map[string]bool{
		"app": true, "1000": true, "app:staff": true, "1000:50": true, "0:0": true,
		"": false, ":staff": false, "app:": false, "a:b:c": false, "a\x00": false, "a\nb": false,
	} {
		err := checkUserSpec(spec)
		assert.Equal(t, ok, err == nil, "%q: %v", spec, err)
	}
	r := &Request{Target: &state.ContainerState{}, Command: []string{"x"}, User: "app", Identity: &state.ProcessIdentity{}}
	assert.ErrorContains(t, r.check(), "both")
	r = &Request{Target: &state.ContainerState{}, Command: []string{"x"}, Env: []string{"=x"}}
	assert.ErrorContains(t, r.check(), "not KEY=VALUE")
}

func TestNumericUser(t *testing.T) {
	id, err := numericUser("1000:50")
	require.NoError(t, err)
	assert.Equal(t, state.ProcessIdentity{UID: 1000, GID: 50}, id)
	for _, spec := range []string{"app", "1000", "app:50", "1000:staff", "4294967295:0"} {
		_, err := numericUser(spec)
		assert.ErrorIs(t, err, state.ErrUnsupported, spec)
	}
}

// startTarget runs `env -i ENV... sleep 30` in dir and returns a state for
// it once sleep runs.
func startTarget(t testing.TB, dir string, env ...string) *state.ContainerState {
	t.Helper()
	cmd := exec.Command("env", append(append([]string{"-i"}, env...), "sleep", "30")...)
	cmd.Dir = dir
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool {
		st, err := proc.ReadStat(cmd.Process.Pid)
		return err == nil && st.Comm == "sleep"
	}, 10*time.Second, time.Millisecond)
	st, err := state.FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	return st
}

// A bare PID: the environment and the working directory are the target's;
// the request adds and overrides.
func TestProcessSpecFromPID(t *testing.T) {
	dir := t.TempDir()
	st := startTarget(t, dir, "APP_PORT=8080", "PATH=/opt/app/bin:/bin", "HOSTNAME=web", "HOME=/root")
	s, err := (&Request{Target: st}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"APP_PORT=8080", "PATH=/opt/app/bin:/bin", "HOSTNAME=web", "HOME=/root"}, s.env)
	assert.Equal(t, dir, s.dir)
	assert.False(t, s.needHome)
	assert.Equal(t, st.Identity(), s.identity)
	assert.Equal(t, "/opt/app/bin:/bin", s.path())

	s, err = (&Request{Target: st, Env: []string{"APP_PORT=9090", "HOME=/h"}, Dir: "/tmp", TTY: true}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"APP_PORT=9090", "PATH=/opt/app/bin:/bin", "HOSTNAME=web", "HOME=/h", "TERM=xterm"}, s.env)
	assert.Equal(t, "/tmp", s.dir)
	assert.False(t, s.needHome)

	s, err = (&Request{Target: st, Identity: &state.ProcessIdentity{UID: 1000}}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"APP_PORT=8080", "PATH=/opt/app/bin:/bin", "HOSTNAME=web"}, s.env, "another identity: the container's HOME goes")
	assert.True(t, s.needHome)

	s, err = (&Request{Target: st, Env: []string{"HOME=/h"}, User: "app"}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, "app", s.user)
	assert.False(t, s.needHome, "the request's HOME is kept")

	s, err = (&Request{Target: st, CleanEnv: true, Env: []string{"A=1"}}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", defaultPath}, s.env, "clean: only the request's, PATH by default")
}

// A state with a bundle: the config's process.env, cwd and user, as runc
// exec takes them; a removed bundle falls back to the process; a
// malformed one is an error naming the file.
func TestProcessSpecFromBundle(t *testing.T) {
	st := startTarget(t, t.TempDir(), "FROM_PROC=1")
	bundle := t.TempDir()
	st.BundlePath = bundle
	writeConfig := func(v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644))
	}
	writeConfig(map[string]any{"ociVersion": "1.0.2", "process": map[string]any{
		"env": []string{"PATH=/usr/bin", "APP_PORT=8080"}, "cwd": "/app",
		"user": map[string]any{"uid": 1000, "gid": 1000, "additionalGids": []int{10}},
	}})
	s, err := (&Request{Target: st, Env: []string{"EXTRA=1"}}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"PATH=/usr/bin", "APP_PORT=8080", "EXTRA=1"}, s.env)
	assert.Equal(t, "/app", s.dir)
	assert.Equal(t, state.ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10}}, s.identity)

	// Changed on disk: read again, not served from the cache.
	writeConfig(map[string]any{"ociVersion": "1.0.2", "process": map[string]any{"env": []string{"B=2"}, "cwd": "/srv/www/x"}})
	s, err = (&Request{Target: st}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"B=2", defaultPath}, s.env)
	assert.Equal(t, "/srv/www/x", s.dir)

	writeConfig(map[string]any{"process": map[string]any{"env": []string{"NOEQUALS"}, "cwd": "/"}})
	_, err = (&Request{Target: st}).processSpec()
	assert.ErrorContains(t, err, "not KEY=VALUE")
	writeConfig(map[string]any{"process": map[string]any{"cwd": "relative"}})
	_, err = (&Request{Target: st}).processSpec()
	assert.ErrorContains(t, err, "not absolute")

	require.NoError(t, os.WriteFile(filepath.Join(bundle, "config.json"), []byte("{"), 0o644))
	_, err = (&Request{Target: st}).processSpec()
	assert.ErrorContains(t, err, filepath.Join(bundle, "config.json"))

	require.NoError(t, os.Remove(filepath.Join(bundle, "config.json")))
	s, err = (&Request{Target: st}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"FROM_PROC=1", defaultPath}, s.env, "bundle gone: the process's own")
}

// A gVisor target without a config: nothing of the supervisor's.
func TestProcessSpecGVisorWithoutBundle(t *testing.T) {
	st := startTarget(t, t.TempDir(), "SUPERVISOR=1")
	st.UsingGVisor = true
	s, err := (&Request{Target: st}).processSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{defaultPath}, s.env)
	assert.Equal(t, "/", s.dir)
}

// What reading the container's process spec costs per attach: the
// target's environ and cwd (bare PID), or the bundle's config.json — the
// cache against a fresh read of a config the size of Docker's (its default
// seccomp profile lists ≈ 350 syscalls), reported as x-uncached.
func BenchmarkProcessSpec(b *testing.B) {
	st := startTarget(b, b.TempDir(), "A=1", "PATH=/bin")
	b.Run("pid", func(b *testing.B) {
		for b.Loop() {
			if _, err := (&Request{Target: st}).processSpec(); err != nil {
				b.Fatal(err)
			}
		}
	})
	bundle := b.TempDir()
	var names []string
	for i := range 350 {
		names = append(names, "syscall_"+strconv.Itoa(i))
	}
	cfg, err := json.Marshal(map[string]any{"ociVersion": "1.0.2",
		"process": map[string]any{"env": []string{"PATH=/bin", "APP_PORT=8080"}, "cwd": "/app",
			"capabilities": map[string]any{"bounding": []string{"CAP_CHOWN", "CAP_KILL"}}},
		"linux": map[string]any{"seccomp": map[string]any{"defaultAction": "SCMP_ACT_ERRNO",
			"syscalls": []map[string]any{{"names": names, "action": "SCMP_ACT_ALLOW"}}}},
	})
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(bundle, "config.json"), cfg, 0o644))
	bst := *st
	bst.BundlePath = bundle
	b.Run("bundle", func(b *testing.B) {
		const fresh = 200
		start := time.Now()
		for range fresh {
			if _, err := state.ReadBundleSpec(bundle); err != nil {
				b.Fatal(err)
			}
		}
		uncached := time.Since(start) / fresh
		b.ResetTimer()
		for b.Loop() {
			if _, err := (&Request{Target: &bst}).processSpec(); err != nil {
				b.Fatal(err)
			}
		}
		cached := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(uncached.Nanoseconds()), "uncached-ns/op")
		b.ReportMetric(float64(cached)/float64(uncached), "x-uncached")
	})
}
