package attach_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// soak selects the full soak run (10 000 attaches); the default, and what CI
// runs, is a short one. NUCLEUS_SOAK=1 does the same as the flag.
var soak = flag.Bool("soak", false, "run the full attach soak test (10 000 attaches)")

// soakIterations is how many attaches TestSoakAttach makes.
func soakIterations() int {
	if *soak || os.Getenv("NUCLEUS_SOAK") == "1" {
		return 10000
	}
	return 300
}

// usage is what the soak test watches in the caller.
type usage struct {
	fds, goroutines, threads int
	rssKiB                   int
	heapKiB                  uint64 // live heap after a GC
}

func measureUsage(t *testing.T) usage {
	t.Helper()
	st, err := proc.ReadStatus(0)
	require.NoError(t, err)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{fds: testutil.FDCount(t), goroutines: runtime.NumGoroutine(), threads: st.Threads, rssKiB: rssKiB(t), heapKiB: ms.HeapAlloc >> 10}
}

// rssKiB is VmRSS of the test process.
func rssKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// soakCase is one kind of attach the soak test mixes.
type soakCase struct {
	name string
	run  func(t *testing.T, st *state.ContainerState)
}

var soakCases = []soakCase{
	{"true", func(t *testing.T, st *state.ContainerState) {
		code, err := attach.Attach(st, []string{"/bin/true"}, attach.WithStdio(nil, nil, nil))
		require.NoError(t, err)
		require.Equal(t, 0, code)
	}},
	{"exit code", func(t *testing.T, st *state.ContainerState) {
		code, err := attach.Attach(st, []string{"sh", "-c", "exit 3"}, attach.WithStdio(nil, nil, nil))
		require.NoError(t, err)
		require.Equal(t, 3, code)
	}},
	{"output", func(t *testing.T, st *state.ContainerState) {
		var out, errOut bytes.Buffer
		code, err := attach.Attach(st, []string{"sh", "-c", "echo out; echo err >&2"}, attach.WithStdio(nil, &out, &errOut))
		require.NoError(t, err)
		require.Equal(t, 0, code)
		require.Equal(t, "out\n", out.String())
		require.Equal(t, "err\n", errOut.String())
	}},
	{"stdin", func(t *testing.T, st *state.ContainerState) {
		var out bytes.Buffer
		code, err := attach.Attach(st, []string{"cat"}, attach.WithStdio(strings.NewReader("ping\n"), &out, nil))
		require.NoError(t, err)
		require.Equal(t, 0, code)
		require.Equal(t, "ping\n", out.String())
	}},
	{"not found", func(t *testing.T, st *state.ContainerState) {
		_, err := attach.Attach(st, []string{"/no/such/command"}, attach.WithStdio(nil, nil, nil))
		require.ErrorIs(t, err, os.ErrNotExist)
	}},
	{"cancel", func(t *testing.T, st *state.ContainerState) {
		ctx, cancel := context.WithCancel(context.Background())
		p, err := attach.Start(ctx, st, []string{"sleep", "100"}, attach.WithStdio(nil, nil, nil))
		require.NoError(t, err)
		cancel()
		code, err := p.Wait()
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 128+int(syscall.SIGKILL), code)
	}},
	{"signal", func(t *testing.T, st *state.ContainerState) {
		p, err := attach.Start(context.Background(), st, []string{"sleep", "100"}, attach.WithStdio(nil, nil, nil))
		require.NoError(t, err)
		require.NoError(t, p.Signal(syscall.SIGTERM))
		code, err := p.Wait()
		require.NoError(t, err)
		require.Equal(t, 128+int(syscall.SIGTERM), code)
	}},
	{"tty", func(t *testing.T, st *state.ContainerState) {
		var out bytes.Buffer
		code, err := attach.Attach(st, []string{"sh", "-c", "test -t 0 && echo tty"}, attach.WithTTY(), attach.WithStdio(nil, &out, nil))
		require.NoError(t, err)
		require.Equal(t, 0, code)
		require.Contains(t, out.String(), "tty")
	}},
	{"stopped target", func(t *testing.T, st *state.ContainerState) {
		gone := *st
		gone.Status = state.StatusStopped
		_, err := attach.Attach(&gone, []string{"/bin/true"}, attach.WithStdio(nil, nil, nil))
		require.True(t, errors.Is(err, attach.ErrNotRunning), "%v", err)
	}},
}

// TestSoakAttach makes many mixed attaches — plain, exit codes, captured
// output, stdin, a missing command, a cancelled context, a signal, a TTY, a
// refused target — and checks that the caller does not grow: its fds come
// back to the same number, goroutines and threads stay flat, and no zombie
// is left. RSS and the live heap are only reported (t.Log): both move with
// the garbage collector's pacing.
func TestSoakAttach(t *testing.T) {
	testcontainer.RequireRoot(t)
	_, st := container(t, testcontainer.Options{Cgroup: true})
	n := soakIterations()

	// One round of every case first: what is made once per process (the
	// sealed memfd, the default policy, /dev/null, the poller's threads)
	// is made before the baseline.
	for _, c := range soakCases {
		c.run(t, st)
	}
	base := measureUsage(t)
	t.Logf("baseline: %d fds, %d goroutines, %d threads, RSS %d KiB, heap %d KiB", base.fds, base.goroutines, base.threads, base.rssKiB, base.heapKiB)

	check := func(at int) {
		t.Helper()
		u := measureUsage(t)
		t.Logf("after %d attaches: %d fds, %d goroutines, %d threads, RSS %d KiB, heap %d KiB", at, u.fds, u.goroutines, u.threads, u.rssKiB, u.heapKiB)
		assert.Equal(t, base.fds, u.fds, "caller fds after %d attaches", at)
		// A copy goroutine or a watcher may still be on its way out of a
		// finished Wait; a leak grows with the count, this does not.
		assert.LessOrEqual(t, u.goroutines, base.goroutines+2, "goroutines after %d attaches", at)
		// The runtime may add a thread for a blocking system call; a
		// thread per attach would show as hundreds.
		assert.LessOrEqual(t, u.threads, base.threads+4, "threads after %d attaches", at)
		assert.Empty(t, testutil.ZombieChildren(t), "zombies after %d attaches", at)
	}
	for i := 0; i < n; i++ {
		c := soakCases[i%len(soakCases)]
		func() {
			// require's FailNow ends the test through here: say where.
			defer func() {
				if t.Failed() {
					t.Logf("at attach %d (%s)", i, c.name)
				}
			}()
			c.run(t, st)
		}()
		if (i+1)%(n/4) == 0 {
			check(i + 1)
		}
	}
}
