package oneshot_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	_ "nucleus/attach/oneshot"
	"nucleus/internal/testutil"
	"nucleus/nsenter"
)

// reportEnv makes the test binary print how it started instead of testing.
const reportEnv = "NUCLEUS_ONESHOT_REPORT"

func TestMain(m *testing.M) {
	if os.Getenv(reportEnv) == "1" {
		report()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// report prints GOMAXPROCS, then the CPU list of every thread, one a line.
func report() {
	fmt.Println(runtime.GOMAXPROCS(0))
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			continue // exited since
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				fmt.Println(strings.TrimSpace(v))
			}
		}
	}
}

// viewTaken: TestViewMadeAtStart took the one view made at start.
var viewTaken bool

// viewFD returns the descriptor of an open overlay view of this binary
// (same name and size as exe, another device), or -1.
func viewFD(t *testing.T, exe os.FileInfo) int {
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	for _, e := range fds {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || link != "/"+filepath.Base(os.Args[0]) {
			continue
		}
		st, err := os.Stat("/proc/self/fd/" + e.Name())
		if err == nil && st.Size() == exe.Size() && st.Sys().(*syscall.Stat_t).Dev != exe.Sys().(*syscall.Stat_t).Dev {
			fd, _ := strconv.Atoi(e.Name())
			return fd
		}
	}
	return -1
}

// startedWith runs this test binary on the CPUs cpus (taskset -c) with env
// added, and returns the GOMAXPROCS it started with and the CPU list of each
// of its threads.
func startedWith(t *testing.T, cpus string, env ...string) (string, []string) {
	t.Helper()
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		testutil.Missing(t, "taskset (util-linux)")
	}
	var set unix.CPUSet
	require.NoError(t, unix.SchedGetaffinity(0, &set))
	for _, c := range strings.Split(cpus, ",") {
		n, err := strconv.Atoi(c)
		require.NoError(t, err)
		if !set.IsSet(n) {
			t.Skipf("CPU %d is not ours to run on (%d CPUs)", n, set.Count())
		}
	}
	cmd := exec.Command(taskset, "-c", cpus, os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append(env, reportEnv+"=1")...)
	out, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Fields(string(out))
	require.NotEmpty(t, lines)
	return lines[0], lines[1:]
}

// On two CPUs the runtime starts with one P, and every thread it made has
// both CPUs back by the time main runs.
func TestRuntimeStartsWithOneP(t *testing.T) {
	procs, threads := startedWith(t, "0,1")
	assert.Equal(t, "1", procs, "GOMAXPROCS the runtime started with")
	require.GreaterOrEqual(t, len(threads), 2, "the main thread and the runtime's")
	for i, cpus := range threads {
		assert.Equal(t, "0-1", cpus, "CPUs of thread %d", i)
	}
}

// A GOMAXPROCS in the environment is the runtime's to honour: nothing is
// held.
func TestGOMAXPROCSInEnvironmentHonoured(t *testing.T) {
	procs, threads := startedWith(t, "0,1", "GOMAXPROCS=2")
	assert.Equal(t, "2", procs)
	for i, cpus := range threads {
		assert.Equal(t, "0-1", cpus, "CPUs of thread %d", i)
	}
}

// A program started on one CPU keeps exactly that one.
func TestOneCPUKept(t *testing.T) {
	procs, threads := startedWith(t, "1")
	assert.Equal(t, "1", procs)
	for i, cpus := range threads {
		assert.Equal(t, "1", cpus, "CPUs of thread %d", i)
	}
}

// The executable view exists before any Go code asked for it — made by the
// constructor's thread — and the first OverlayView takes that one; it is
// read-only to everybody, this process included.
func TestViewMadeAtStart(t *testing.T) {
	testutil.RequireRoot(t) // overlayfs and tmpfs need CAP_SYS_ADMIN
	if viewTaken {
		t.Skip("the view made at start was taken by an earlier run in this process (-count)")
	}
	viewTaken = true
	exe, err := os.Stat("/proc/self/exe")
	require.NoError(t, err)
	// The constructor's thread makes it by itself; on a loaded machine it
	// may still be at work when the test starts.
	fd := -1
	require.Eventually(t, func() bool {
		fd = viewFD(t, exe)
		return fd >= 0
	}, 10*time.Second, time.Millisecond, "an open overlay view of the binary, made without a call")

	f, err := nsenter.OverlayView()
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, uintptr(fd), f.Fd(), "the first call takes the view made at start")
	_, err = os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_WRONLY, 0)
	assert.ErrorIs(t, err, syscall.EROFS)

	g, err := nsenter.OverlayView()
	require.NoError(t, err, "later calls make their own")
	defer g.Close()
	assert.NotEqual(t, f.Fd(), g.Fd())
}
