package netns

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
	"nucleus/state"
)

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// The socket must live in the target's namespace: SIOCGSKNS returns a
// descriptor for the namespace a socket belongs to (sock_ioctl, Linux 4.9).
func TestSocketIsCreatedInTargetNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	for _, userns := range []bool{false, true} {
		t.Run("userns="+strconv.FormatBool(userns), func(t *testing.T) {
			tg := startTarget(t, userns)
			fd, err := Socket(tg.pid, unix.AF_INET, unix.SOCK_STREAM, 0)
			require.NoError(t, err)
			defer unix.Close(fd)

			nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
			require.NoError(t, err)
			defer unix.Close(nsfd)
			var st unix.Stat_t
			require.NoError(t, unix.Fstat(nsfd, &st))
			want, err := proc.NamespaceID(tg.pid, "net")
			require.NoError(t, err)
			assert.Equal(t, want.Ino, st.Ino, "socket's namespace")
			own, err := proc.NamespaceID(0, "net")
			require.NoError(t, err)
			assert.NotEqual(t, own.Ino, st.Ino)

			fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
			require.NoError(t, err)
			assert.NotZero(t, fl&unix.FD_CLOEXEC, "close-on-exec")
			assert.True(t, mustNonblock(t, fd), "non-blocking")
		})
	}
}

func mustNonblock(t *testing.T, fd int) bool {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	return fl&unix.O_NONBLOCK != 0
}

func TestDialReachesTargetLoopback(t *testing.T) {
	testutil.RequireRoot(t)
	tg := startTarget(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := Dial(ctx, tg.pid, "tcp", addr(tg.echoPort))
	require.NoError(t, err)
	defer c.Close()
	_, ok := c.(*net.TCPConn)
	assert.True(t, ok, "a *net.TCPConn, got %T", c)
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	b := make([]byte, 4)
	_, err = c.Read(b)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(b))
	assert.Equal(t, addr(tg.echoPort), c.RemoteAddr().String())

	// The same address on the host's loopback is someone else (nobody).
	hc, err := net.DialTimeout("tcp", addr(tg.echoPort), time.Second)
	if err == nil {
		hc.Close()
		t.Logf("port %d happens to be open on the host too", tg.echoPort)
	}

	// "localhost" is the target's loopback, not a name lookup.
	c2, err := Dial(ctx, tg.pid, "tcp4", "localhost:"+strconv.Itoa(tg.echoPort))
	require.NoError(t, err)
	c2.Close()
}

func TestDialErrors(t *testing.T) {
	testutil.RequireRoot(t)
	tg := startTarget(t, false)
	ctx := context.Background()

	t.Run("refused", func(t *testing.T) {
		_, err := Dial(ctx, tg.pid, "tcp", "127.0.0.1:1")
		require.Error(t, err)
		var op *net.OpError
		require.ErrorAs(t, err, &op)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		assert.Equal(t, "dial tcp 127.0.0.1:1: connect: connection refused", err.Error())
	})
	t.Run("unreachable", func(t *testing.T) {
		// The target's namespace has only lo: no route to anything else.
		_, err := Dial(ctx, tg.pid, "tcp", "192.0.2.1:80")
		require.Error(t, err)
		assert.ErrorIs(t, err, syscall.ENETUNREACH)
	})
	// Fill the never-accepting listener's queue: from then on connects to
	// it hang until their deadline.
	var queued []net.Conn
	defer func() {
		for _, c := range queued {
			c.Close()
		}
	}()
	full := false
	for i := 0; i < 4 && !full; i++ {
		tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		c, err := Dial(tctx, tg.pid, "tcp", addr(tg.stuckPort))
		cancel()
		if err == nil {
			queued = append(queued, c)
		} else {
			full = true
		}
	}
	require.True(t, full, "the listener's queue never filled")

	t.Run("timeout", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Dial(tctx, tg.pid, "tcp", addr(tg.stuckPort))
		el := time.Since(start)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		assert.Equal(t, "dial tcp "+addr(tg.stuckPort)+": i/o timeout", err.Error())
		assert.Less(t, el, time.Second)
		assert.GreaterOrEqual(t, el, 150*time.Millisecond)
	})
	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := Dial(cctx, tg.pid, "tcp", addr(tg.stuckPort))
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("expired", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := Dial(cctx, tg.pid, "tcp", addr(tg.echoPort))
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("bad addresses", func(t *testing.T) {
		for _, a := range []string{"example.com:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:x", "[fe80::1%lo]:80"} {
			_, err := Dial(ctx, tg.pid, "tcp", a)
			assert.Error(t, err, a)
		}
		_, err := Dial(ctx, tg.pid, "unix", "127.0.0.1:80")
		assert.Error(t, err)
		_, err = Dial(ctx, tg.pid, "tcp6", "127.0.0.1:80")
		assert.Error(t, err)
	})
	t.Run("udp", func(t *testing.T) {
		c, err := Dial(ctx, tg.pid, "udp", "127.0.0.1:9")
		require.NoError(t, err)
		_, ok := c.(*net.UDPConn)
		assert.True(t, ok)
		c.Close()
	})
}

func TestOpenRefusesDeadAndRecycled(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("/bin/busybox", "true")
	require.NoError(t, cmd.Run())
	_, err := Open(cmd.Process.Pid, 0)
	require.Error(t, err)
	assert.ErrorIs(t, err, state.ErrNotRunning)

	_, err = Open(0, 0)
	assert.ErrorIs(t, err, state.ErrNotRunning)

	// A zombie (exited, not yet reaped) has no namespaces any more.
	z := exec.Command("/bin/busybox", "sleep", "100")
	require.NoError(t, z.Start())
	zticks, err := proc.StartTicks(z.Process.Pid)
	require.NoError(t, err)
	require.NoError(t, z.Process.Kill())
	require.True(t, testutil.Within(2*time.Second, func() bool {
		st, err := proc.ReadStat(z.Process.Pid)
		return err == nil && st.State == 'Z'
	}))
	_, err = Open(z.Process.Pid, zticks)
	assert.ErrorIs(t, err, state.ErrNotRunning)
	_ = z.Wait()

	tg := startTarget(t, false)
	ticks, err := proc.StartTicks(tg.pid)
	require.NoError(t, err)
	_, err = Open(tg.pid, ticks+1)
	assert.ErrorIs(t, err, state.ErrStale)

	h, err := Open(tg.pid, ticks)
	require.NoError(t, err)
	defer h.Close()
	assert.False(t, h.SharesCallerNamespace())
	// Once the process is gone the handle refuses to make sockets, though
	// it still holds the (now orphaned) namespace open.
	tg.stop()
	_, err = h.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	assert.ErrorIs(t, err, state.ErrNotRunning)
	require.NoError(t, h.Close())
	require.NoError(t, h.Close(), "idempotent")
}

// A target in the caller's own namespace needs no switch and no privilege.
func TestHostNamespaceFastPath(t *testing.T) {
	addr := testutil.AcceptAndClose(t)
	h, err := Open(os.Getpid(), 0)
	require.NoError(t, err)
	defer h.Close()
	assert.True(t, h.SharesCallerNamespace())
	c, err := h.Dial(context.Background(), "tcp", addr)
	require.NoError(t, err)
	c.Close()
}

// Hundreds of dials from many goroutines: afterwards every thread of this
// process is still in its own namespace, and no descriptor or goroutine is
// left over.
func TestManyDialsLeaveNoTrace(t *testing.T) {
	testutil.RequireRoot(t)
	tg := startTarget(t, true)
	own := testutil.NetNS(t)
	fds := testutil.FDCount(t)
	gs := runtime.NumGoroutine()

	// Meanwhile the main thread must never be seen in another namespace:
	// /proc/self/ns/net follows it, and other code trusts that link.
	stop := make(chan struct{})
	var mainMoved atomic.Int32
	var watcher sync.WaitGroup
	watcher.Go(func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s, err := os.Readlink("/proc/self/ns/net"); err == nil && s != own {
				mainMoved.Add(1)
			}
		}
	})

	// And deterministically: no switch ever runs on the main thread.
	var onMain, switches atomic.Int32
	testHookSwitched = func() bool {
		switches.Add(1)
		if unix.Gettid() == unix.Getpid() {
			onMain.Add(1)
		}
		return false
	}
	defer func() { testHookSwitched = nil }()

	var wg sync.WaitGroup
	var fails atomic.Int32
	sem := make(chan struct{}, 16)
	for i := 0; i < 300; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			port := tg.echoPort
			if i%3 == 0 {
				port = 1 // refused
			}
			c, err := Dial(ctx, tg.pid, "tcp", addr(port))
			if port == 1 {
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("dial closed port: %v", err)
					fails.Add(1)
				}
				return
			}
			if err != nil {
				t.Errorf("dial open port: %v", err)
				fails.Add(1)
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	close(stop)
	watcher.Wait()
	assert.Zero(t, fails.Load())
	assert.Zero(t, mainMoved.Load(), "the main thread was seen in a foreign namespace")
	assert.Zero(t, onMain.Load(), "switches on the main thread")
	assert.EqualValues(t, 300, switches.Load())
	assert.Empty(t, testutil.ThreadsOutsideNetNS(t, own), "threads left in a foreign network namespace")
	assert.True(t, testutil.Within(2*time.Second, func() bool { return testutil.FDCount(t) <= fds }),
		"fds: %d before, %d after", fds, testutil.FDCount(t))
	assert.True(t, testutil.Within(2*time.Second, func() bool { return runtime.NumGoroutine() <= gs+2 }),
		"goroutines: %d before, %d after", gs, runtime.NumGoroutine())
}

const restoreChildEnv = "NUCLEUS_NETNS_TEST_RESTORE_CHILD"

// If a thread cannot switch back, it must die rather than run other
// goroutines in the target's namespace. The failure is simulated by a test
// hook (the kernel gives no way to make setns back fail on demand); the
// switch into the target and the thread's fate are real. It runs in a
// subprocess so the discarded thread cannot disturb the other tests.
func TestRestoreFailureDiscardsThread(t *testing.T) {
	testutil.RequireRoot(t)
	if !inChild(t, restoreChildEnv) {
		return
	}
	tg := startTarget(t, false)
	own := testutil.NetNS(t)
	var tid atomic.Int64
	testHookSwitched = func() bool {
		tid.Store(int64(unix.Gettid()))
		return true
	}
	_, err := Socket(tg.pid, unix.AF_INET, unix.SOCK_STREAM, 0)
	testHookSwitched = nil
	require.Error(t, err)
	assert.Contains(t, err.Error(), "thread discarded")
	id := int(tid.Load())
	require.NotZero(t, id)
	require.NotEqual(t, os.Getpid(), id, "the main thread must never switch")
	assertThreadGone(t, id, own)
	// Later sockets come from healthy threads.
	fd, err := Socket(tg.pid, unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	unix.Close(fd)
	assert.Empty(t, testutil.ThreadsOutsideNetNS(t, own))
}
