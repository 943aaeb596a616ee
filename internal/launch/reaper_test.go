package launch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// The reaper closes its inotify instance whenever nothing is pending and
// makes a new one for the next cgroup, whose watch descriptors start again
// from 1. Cgroups handed to it one after the other, from two goroutines,
// emptying just before or just after the hand-over, make and close
// instances by the hundred: every one of them is removed, and its channel
// closes only once it is gone. (An event read from an instance just closed
// must not be taken for the new instance's watch of the same number: the
// loop drops such events. This test has not caught that race without the
// check; it guards the reaper's behaviour across instances.)
func TestReaperAcrossInstances(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Cgroup: true})
	parent := v2Dir(t, c.PID)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Go(func() {
			for i := 0; i < 100; i++ {
				cg, err := newCmdCgroup(parent)
				if !assert.NoError(t, err) {
					return
				}
				sleeper := exec.Command("sleep", "30")
				if !assert.NoError(t, sleeper.Start()) {
					return
				}
				assert.NoError(t, os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0))
				// Killed right before or right after the hand-over: the
				// cgroup empties while remove watches it, or later.
				var removed <-chan struct{}
				if i%2 == 0 {
					_ = sleeper.Process.Kill()
					removed = reaper.remove(cg.dir)
				} else {
					removed = reaper.remove(cg.dir)
					_ = sleeper.Process.Kill()
				}
				_ = sleeper.Wait()
				select {
				case <-removed:
				case <-time.After(10 * time.Second):
					t.Errorf("%s: not removed 10 s after its last member died", cg.dir)
					return
				}
				if _, err := os.Stat(cg.dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: reported removed, still there (%v)", cg.dir, err)
					return
				}
			}
		})
	}
	wg.Wait()
	left, err := testutil.CommandCgroupDirs(parent)
	require.NoError(t, err)
	assert.Empty(t, left)
}
