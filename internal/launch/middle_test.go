package launch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/nsenter"
)

// nonblockingPair is the bootstrap socket pair as run makes it: our end in
// the poller.
func nonblockingPair(t *testing.T) (ours, theirs *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, unix.SetNonblock(fds[0], true))
	return os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
}

// A middle child that never reports (a container frozen after the checks
// freezes it) does not hold Start past its context: the exchange gives up,
// kills the middle child, and the cleanup reaps it once it is gone.
func TestExchangeEndsWithContext(t *testing.T) {
	ours, theirs := nonblockingPair(t)
	// Stands for the middle child: alive, silent.
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	middle, err := startChild(sleep, []string{"sleep", "100"}, nil, nil, &syscall.SysProcAttr{})
	require.NoError(t, err)
	pid := middle.Pid

	ctx, cancel := context.WithCancel(context.Background())
	l := &launcher{log: discard}
	done := make(chan error, 1)
	go func() {
		_, _, _, rerr := l.exchange(ctx, ours, middle, make([]byte, nsenter.RequestSize))
		done <- rerr
	}()
	buf := make([]byte, nsenter.RequestSize)
	_, err = theirs.Read(buf) // the request arrived: the exchange now waits for the report
	require.NoError(t, err)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, errAbandoned)
	case <-time.After(10 * time.Second):
		t.Fatal("exchange did not end with its context")
	}
	// The cleanup reads until the socket's other end is gone, then reaps.
	theirs.Close()
	assert.True(t, testutil.Within(10*time.Second, func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return errors.Is(err, os.ErrNotExist)
	}), "the silent middle child was killed and reaped")
}

// The grandchild is born in every cgroup of the target: moved there by the
// middle child (v1) or cloned there (v2) before it exists, it is already
// in them while it waits for the go-ahead, before its Go runtime starts a
// single thread.
func TestGrandchildBornInTargetCgroups(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Cgroup: true})
	st, err := c.State()
	require.NoError(t, err)
	target, nsflags, err := openTarget(st)
	require.NoError(t, err)
	defer target.Close()
	cgroups, err := st.CheckRunningCgroups()
	require.NoError(t, err)
	cg, err := planCgroups(cgroups, discard)
	require.NoError(t, err)
	defer cg.close()
	defer cg.discard()
	require.True(t, len(cg.tasks) > 0 || cg.v2 != nil, "the test container has cgroups of its own")
	exe, _, err := exeFile(discard)
	require.NoError(t, err)
	null, err := openDevNull()
	require.NoError(t, err)

	ours, theirs := nonblockingPair(t)
	l := &launcher{log: discard, cgroups: cg}
	middle, err := l.startMiddle(exe, append([]*os.File{null, null, null, theirs, target, nil}, cg.tasks...))
	theirs.Close()
	require.NoError(t, err)
	// The request only: the go-ahead is withheld, so the grandchild stops
	// in the constructor.
	req, err := nsenter.Request{NSFlags: nsflags, Cgroups: uint32(len(cg.tasks))}.MarshalBinary()
	require.NoError(t, err)
	_, err = ours.Write(req)
	require.NoError(t, err)
	msg, err := nsenter.ReadMessage(ours)
	require.NoError(t, err)
	_, _ = middle.Wait()
	require.Equal(t, uint32(nsenter.MsgPID), msg.Type, "%v", msg.Err())
	gc := int(msg.Value)
	defer func() {
		ours.Close() // EOF instead of the go-ahead: the grandchild exits
		var ws unix.WaitStatus
		_, err := unix.Wait4(gc, &ws, 0, nil)
		assert.NoError(t, err)
	}()

	want, err := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/cgroup")
	require.NoError(t, err)
	got, err := os.ReadFile("/proc/" + strconv.Itoa(gc) + "/cgroup")
	require.NoError(t, err)
	assert.NoError(t, testutil.CheckCommandCgroups(string(want), string(got)))
	s, err := proc.ReadStatus(gc)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Threads, "no Go runtime thread yet")
}
