package proc

import (
	"nucleus/internal/testutil"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestNSFlag(t *testing.T) {
	want := map[string]int{
		"user": unix.CLONE_NEWUSER, "mnt": unix.CLONE_NEWNS, "net": unix.CLONE_NEWNET,
		"uts": unix.CLONE_NEWUTS, "ipc": unix.CLONE_NEWIPC, "cgroup": unix.CLONE_NEWCGROUP,
		"pid": unix.CLONE_NEWPID, "time": unix.CLONE_NEWTIME,
	}
	require.Len(t, Namespaces, len(want))
	for _, ns := range Namespaces {
		assert.Equal(t, want[ns], NSFlag(ns), ns)
	}
	assert.Equal(t, "user", Namespaces[0], "user namespace must be joined first")
	assert.Zero(t, NSFlag("pid_for_children"))
	assert.Zero(t, NSFlag(""))
}

func TestNamespaceIDSelf(t *testing.T) {
	for _, ns := range Namespaces {
		a, err := NamespaceID(0, ns)
		require.NoError(t, err, ns)
		b, err := NamespaceID(os.Getpid(), ns)
		require.NoError(t, err, ns)
		assert.Equal(t, a, b, ns)
		assert.NotZero(t, a.Ino, ns)
	}
	_, err := NamespaceID(0, "bogus")
	require.Error(t, err)
	_, err = NamespaceID(0, "../../environ")
	require.Error(t, err)
	_, err = NamespaceID(-3, "net")
	require.Error(t, err)
}

// netnsSleeper starts a child in a network namespace of its own (root
// only); the test's cleanup ends it.
func netnsSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	return testutil.StartChild(t, cmd)
}

func TestNamespaceIDChildNetns(t *testing.T) {
	pid := netnsSleeper(t).Process.Pid

	self, err := NamespaceID(0, "net")
	require.NoError(t, err)
	var child NSID
	require.Eventually(t, func() bool {
		child, err = NamespaceID(pid, "net")
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
	assert.NotEqual(t, self, child, "the child has its own network namespace")

	for _, ns := range []string{"user", "mnt", "uts", "ipc", "pid"} {
		a, err := NamespaceID(0, ns)
		require.NoError(t, err)
		b, err := NamespaceID(pid, ns)
		require.NoError(t, err)
		assert.Equal(t, a, b, "%s namespace is shared", ns)
	}
}

// NamespaceIDAt through a /proc/PID directory held open answers as
// NamespaceID while the process lives, and fails once it is reaped: the
// directory never reaches another process.
func TestNamespaceIDAtHeldDir(t *testing.T) {
	cmd := netnsSleeper(t)
	pid := cmd.Process.Pid
	dir, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(dir)

	for _, ns := range Namespaces {
		want, err := NamespaceID(pid, ns)
		require.NoError(t, err, ns)
		got, err := NamespaceIDAt(dir, "ns/"+ns)
		require.NoError(t, err, ns)
		assert.Equal(t, want, got, ns)
	}
	self, err := NamespaceID(0, "net")
	require.NoError(t, err)
	child, err := NamespaceIDAt(dir, "ns/net")
	require.NoError(t, err)
	assert.NotEqual(t, self, child)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	_, err = NamespaceIDAt(dir, "ns/net")
	require.Error(t, err, "the reaped process's directory resolves nothing")
	assert.Contains(t, err.Error(), "ns/net")
}
