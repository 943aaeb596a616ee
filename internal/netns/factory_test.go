package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// socketNS returns the inode of the network namespace socket fd belongs to
// (SIOCGSKNS).
func socketNS(t *testing.T, fd int) uint64 {
	t.Helper()
	nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
	require.NoError(t, err)
	defer unix.Close(nsfd)
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(nsfd, &st))
	return st.Ino
}

// A factory keeps exactly one thread in the target's namespace while the
// Handle is open; every socket it makes, from many goroutines at once,
// primed in advance or made on request, belongs to the target's namespace;
// Dial through it reaches the target's loopback; Close brings the thread
// back, so no thread is left outside the caller's namespace, and closes
// every file it held.
func TestFactoryMakesSocketsInTargetUntilClose(t *testing.T) {
	testutil.RequireRoot(t)
	for _, userns := range []bool{false, true} {
		t.Run("userns="+strconv.FormatBool(userns), func(t *testing.T) {
			tg := startTarget(t, userns)
			own := testutil.NetNS(t)
			want, err := proc.NamespaceID(tg.pid, "net")
			require.NoError(t, err)
			ticks, err := proc.StartTicks(tg.pid)
			require.NoError(t, err)

			fds := testutil.FDCount(t)
			h, err := OpenFactory(tg.pid, ticks)
			require.NoError(t, err)
			require.True(t, h.HasFactory())
			outside := testutil.ThreadsOutsideNetNS(t, own)
			assert.Len(t, outside, 1, "one factory thread in the target: %v", outside)

			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 20 {
						fd, err := h.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
						if !assert.NoError(t, err) {
							return
						}
						assert.Equal(t, want.Ino, socketNS(t, fd))
						assert.True(t, mustNonblock(t, fd), "non-blocking")
						unix.Close(fd)
					}
				})
			}
			wg.Wait()
			c, err := h.Dial(context.Background(), "tcp", addr(tg.echoPort))
			require.NoError(t, err)
			c.Close()

			// Other kinds than the primed one are made on request.
			fd, err := h.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
			require.NoError(t, err)
			assert.Equal(t, want.Ino, socketNS(t, fd))
			unix.Close(fd)

			require.NoError(t, h.Close())
			assert.False(t, h.HasFactory())
			assert.Empty(t, testutil.ThreadsOutsideNetNS(t, own), "the factory thread came back")
			assert.Equal(t, fds, testutil.FDCount(t), "the handle's files and the primed socket are closed")
			require.NoError(t, h.Close(), "idempotent")
		})
	}
}

// A target on the host network needs no factory thread.
func TestFactoryNotKeptForHostNamespace(t *testing.T) {
	h, err := OpenFactory(os.Getpid(), 0)
	require.NoError(t, err)
	defer h.Close()
	assert.False(t, h.HasFactory())
	fd, err := h.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	unix.Close(fd)
}

// Every socket re-checks the target through its pidfd: once the target
// has exited the factory makes none, though its thread still sits in the
// (orphaned) namespace until Close. A recycled start time is refused.
func TestFactoryRefusesExitedAndStaleTarget(t *testing.T) {
	testutil.RequireRoot(t)
	tg := startTarget(t, false)
	ticks, err := proc.StartTicks(tg.pid)
	require.NoError(t, err)
	_, err = OpenFactory(tg.pid, ticks+1)
	assert.ErrorIs(t, err, state.ErrStale)

	h, err := OpenFactory(tg.pid, ticks)
	require.NoError(t, err)
	defer h.Close()
	tg.stop()
	_, err = h.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	assert.ErrorIs(t, err, state.ErrNotRunning)
	own := testutil.NetNS(t)
	require.NoError(t, h.Close())
	assert.Empty(t, testutil.ThreadsOutsideNetNS(t, own))
}

const factoryRestoreChildEnv = "NUCLEUS_NETNS_TEST_FACTORY_RESTORE_CHILD"

// A factory's thread always ends with its Handle; when it cannot even
// switch back first, it still dies rather than run anything in the
// target's namespace (see TestRestoreFailureDiscardsThread for the hook).
// In a subprocess.
func TestFactoryRestoreFailureDiscardsThread(t *testing.T) {
	testutil.RequireRoot(t)
	if !inChild(t, factoryRestoreChildEnv) {
		return
	}
	tg := startTarget(t, false)
	own := testutil.NetNS(t)
	h, err := OpenFactory(tg.pid, 0)
	require.NoError(t, err)
	var tid atomic.Int64
	testHookSwitched = func() bool {
		tid.Store(int64(unix.Gettid()))
		return true
	}
	require.NoError(t, h.Close())
	testHookSwitched = nil
	id := int(tid.Load())
	require.NotZero(t, id)
	require.NotEqual(t, os.Getpid(), id, "the main thread must never switch")
	assertThreadGone(t, id, own)
}

const factoryMainEnv = "NUCLEUS_NETNS_TEST_FACTORY_MAIN"

// factoryFromMain runs in a subprocess (TestMain) on the main goroutine,
// before any test: it opens factories for the target pid from there, where
// the factory's goroutine often starts on the main thread itself, and
// checks each time that the thread kept in the target is another one and
// that the main thread never leaves its namespace. It prints how often the
// main-thread hand-off ran and returns the exit code.
func factoryFromMain(pidStr string) int {
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	own, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	main := "/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/ns/net"
	var onMain atomic.Int32
	testHookFactoryOnMain = func() { onMain.Add(1) }
	for range 50 {
		h, err := OpenFactory(pid, 0)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		if s, err := os.Readlink(main); err != nil || s != own {
			fmt.Println("error: the main thread is in", s, err)
			return 1
		}
		fd, err := h.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		unix.Close(fd)
		h.Close()
	}
	fmt.Printf("onmain %d\n", onMain.Load())
	return 0
}

// A factory opened from the main goroutine never switches the main thread:
// its goroutine, when it starts there, hands the work to another thread
// (the branch ran at least once in the subprocess, which says how often).
func TestFactoryNeverOnMainThread(t *testing.T) {
	testutil.RequireRoot(t)
	tg := startTarget(t, false)
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), factoryMainEnv+"="+strconv.Itoa(tg.pid))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var n int
	_, err = fmt.Sscanf(string(out), "onmain %d", &n)
	require.NoError(t, err, "%s", out)
	assert.Positive(t, n, "the factory goroutine never started on the main thread: the hand-off was not exercised")
}
