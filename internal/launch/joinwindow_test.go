package launch

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
	"nucleus/nsenter"
	"nucleus/state"
)

// CVE-2016-9962: while the grandchild sits inside the container holding
// host resources (here: paused before its Go runtime starts, because the
// go-ahead is withheld), root of the container — with CAP_SYS_PTRACE in the
// container's user namespace — can neither ptrace it nor open its exe or fds.
// The kernel rule: a non-dumpable process may only be traced with
// CAP_SYS_PTRACE in the user namespace its mm was created in (the host's).
func TestJoinWindowIsNotReachable(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{Rootless: true})
	st, err := c.State()
	require.NoError(t, err)
	sock, gc := startHeldGrandchild(t, st)
	defer func() {
		sock.Close() // EOF instead of the go-ahead: the grandchild exits
		var ws unix.WaitStatus
		_, err := unix.Wait4(gc, &ws, 0, nil)
		assert.NoError(t, err)
	}()

	s, err := proc.ReadStatus(gc)
	require.NoError(t, err)
	require.NotEmpty(t, s.NSpid)
	inner := strconv.Itoa(s.NSpid[len(s.NSpid)-1])

	// Root of the container, with every capability of its user namespace.
	inside := func(args ...string) string {
		cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(c.PID), "-a", "/bin/nucleus-testhelper"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.TrimSpace(string(out))
	}
	assert.Equal(t, "EPERM", inside("ptrace-attach", inner))
	assert.Equal(t, "EACCES", inside("open-exe", "/proc/"+inner+"/exe"))
	assert.NotEqual(t, "ok", inside("open-exe", fmt.Sprintf("/proc/%s/fd/%d", inner, nsenter.FdSocket)))

	// The control: the same helper may trace the container's own init, so
	// the refusals above are the non-dumpable flag's doing.
	assert.Equal(t, "ok", inside("ptrace-attach", "1"))
}

// startHeldGrandchild starts a nucleus child for st by hand and sends only
// its request: the grandchild it clones waits, inside every namespace of
// the target, for the go-ahead on the returned socket.
func startHeldGrandchild(t *testing.T, st *state.ContainerState) (sock *os.File, gc int) {
	t.Helper()
	sock, gc, pidfd := startHeld(t, st)
	unix.Close(pidfd)
	return sock, gc
}

// startHeld is startHeldGrandchild, also returning the pidfd that came
// with the PID report.
func startHeld(t *testing.T, st *state.ContainerState) (sock *os.File, gc, pidfd int) {
	t.Helper()
	target, nsflags, err := openTarget(st)
	require.NoError(t, err)
	defer target.Close()
	exe, err := exePath()
	require.NoError(t, err)

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	sock = os.NewFile(uintptr(fds[0]), "sock")
	child := os.NewFile(uintptr(fds[1]), "child")
	null, err := openDevNull()
	require.NoError(t, err)
	defer null.Close()
	middle, err := os.StartProcess(exe, []string{entrypoint}, &os.ProcAttr{
		Env: []string{nsenter.Env + "=1"}, Files: []*os.File{null, null, null, child, target}})
	child.Close()
	require.NoError(t, err)
	req, _ := nsenter.Request{NSFlags: nsflags}.MarshalBinary()
	_, err = sock.Write(req)
	require.NoError(t, err)
	msg, pidfd, err := nsenter.ReadMessageFD(sock)
	require.NoError(t, err)
	_, _ = middle.Wait()
	require.Equal(t, uint32(nsenter.MsgPID), msg.Type, "%v", msg.Err())
	require.GreaterOrEqual(t, pidfd, 0, "the PID report came without a pidfd")
	return sock, int(msg.Value), pidfd
}
