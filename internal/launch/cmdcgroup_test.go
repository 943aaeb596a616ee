package launch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// v2Dir is the container's cgroup v2 directory.
func v2Dir(tb testing.TB, pid int) string {
	tb.Helper()
	cgs, err := proc.Cgroups(pid)
	require.NoError(tb, err)
	for _, c := range cgs {
		if c.Hierarchy == 0 && c.Controllers == "" {
			return c.Dir
		}
	}
	testutil.Missing(tb, "no cgroup v2 mounted")
	return ""
}

// A failed start removes the command's cgroup it made (here: the command
// does not exist, so the grandchild dies before the exec).
func TestFailedStartRemovesCommandCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Cgroup: true})
	st, err := c.State()
	require.NoError(t, err)
	_, err = Start(context.Background(), &Request{Target: st, Command: []string{"/no/such/command"}})
	require.Error(t, err)
	left, err := testutil.CommandCgroupDirs(v2Dir(t, c.PID))
	require.NoError(t, err)
	assert.Empty(t, left)
	assert.Empty(t, testutil.ZombieChildren(t))
}

// Where cgroup.kill is missing (a kernel before 5.14; here: a directory
// that is no cgroup) no command cgroup is made and nothing is left: the
// caller falls back to the process-group kill.
func TestNoCommandCgroupWithoutCgroupKill(t *testing.T) {
	parent := t.TempDir()
	cg, err := newCmdCgroup(parent)
	require.Error(t, err)
	assert.Nil(t, cg)
	assert.Contains(t, err.Error(), "cgroup.kill")
	ents, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Empty(t, ents, "the directory it made is removed")
}

// The reaper removes a cgroup whose last member exits after its command.
func TestReaperRemovesOnceEmpty(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Cgroup: true})
	cg, err := newCmdCgroup(v2Dir(t, c.PID))
	require.NoError(t, err)
	sleeper := testutil.StartChild(t, exec.Command("sleep", "30"))
	require.NoError(t, os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0))
	removed := reaper.remove(cg.dir)
	select {
	case <-removed:
		t.Fatal("removed while a member lives")
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, cg.kill())
	select {
	case <-removed:
	case <-time.After(10 * time.Second):
		t.Fatal("not removed after its last member died")
	}
	_, err = os.Stat(cg.dir)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// BenchmarkCommandCgroup puts the cost of a command's cgroup (mkdir, the
// cgroup.kill check, rmdir once empty) beside one whole attach of
// /bin/true in the same container, alternating them so that both see the
// same load; cgroup-us and cgroup-%-of-attach are the extra metrics.
func BenchmarkCommandCgroup(b *testing.B) {
	testutil.RequireRoot(b)
	c := testcontainer.New(b, testcontainer.Options{Cgroup: true})
	st, err := c.State()
	if err != nil {
		b.Fatal(err)
	}
	dir := v2Dir(b, c.PID)
	attachTrue := func(st *state.ContainerState) {
		p, err := Start(context.Background(), &Request{Target: st, Command: []string{"/bin/true"}})
		if err != nil {
			b.Fatal(err)
		}
		if code, err := p.Wait(); err != nil || code != 0 {
			b.Fatalf("wait: %d, %v", code, err)
		}
	}
	attachTrue(st)
	var tCg, tAttach time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		cg, err := newCmdCgroup(dir)
		if err != nil {
			b.Fatal(err)
		}
		cg.release(false)
		t1 := time.Now()
		attachTrue(st)
		tCg += t1.Sub(t0)
		tAttach += time.Since(t1)
	}
	b.ReportMetric(float64(tCg.Microseconds())/float64(b.N), "cgroup-us")
	b.ReportMetric(float64(tAttach.Microseconds())/float64(b.N), "attach-us")
	b.ReportMetric(100*float64(tCg)/float64(tAttach), "cgroup-%-of-attach")
}
