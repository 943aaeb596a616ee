package proc

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testutil"
)

// startInUserNS starts cmd and waits until its main thread is in a user
// namespace other than the caller's and runs the program named comm.
func startInUserNS(t testing.TB, cmd *exec.Cmd, comm string) int {
	t.Helper()
	testutil.StartChild(t, cmd)
	pid := cmd.Process.Pid
	self, err := NamespaceID(0, "user")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		id, err := NamespaceID(pid, "user")
		st, serr := ReadStat(pid)
		return err == nil && serr == nil && id != self && st.Comm == comm
	}, 10*time.Second, 5*time.Millisecond)
	return pid
}

// The owner is the kernel's record of who made the namespace, not the real
// uid the process chose inside it: root makes a namespace in which the
// process runs as uid 1000 (host 101000); uid 1234 makes one (and a nested
// one inside it) with unshare.
func TestUserNSOwner(t *testing.T) {
	testutil.RequireRoot(t)
	_, err := UserNSOwner(os.Getpid())
	assert.ErrorIs(t, err, ErrNotBelow, "the caller's own namespace")

	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		Credential:  &syscall.Credential{Uid: 1000, Gid: 1000, NoSetGroups: true},
	}
	pid := startInUserNS(t, cmd, "sleep")
	status, err := ReadStatus(pid)
	require.NoError(t, err)
	require.Equal(t, uint32(101000), status.UID[0], "the real uid the process runs as")
	owner, err := UserNSOwner(pid)
	require.NoError(t, err)
	assert.Equal(t, uint32(0), owner)

	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Missing(t, "unshare(1) not installed")
	}
	for _, args := range [][]string{
		{"--user", "--map-root-user", "sleep", "60"},
		{"--user", "--map-root-user", unshare, "--user", "sleep", "60"},
	} {
		cmd := exec.Command(unshare, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1234, Gid: 1234, NoSetGroups: true}}
		pid := startInUserNS(t, cmd, "sleep")
		owner, err := UserNSOwner(pid)
		require.NoError(t, err, "%v", args)
		assert.Equal(t, uint32(1234), owner, "%v", args)
	}
}

// BenchmarkUserNSOwner: what FromPID pays for a rootless target's owner,
// beside ReadStatus of the same process (which FromPID reads anyway), as
// x-status.
func BenchmarkUserNSOwner(b *testing.B) {
	testutil.RequireRoot(b)
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
	}
	pid := startInUserNS(b, cmd, "sleep")
	var owner, status time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := UserNSOwner(pid); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := ReadStatus(pid); err != nil {
			b.Fatal(err)
		}
		owner += t1.Sub(t0)
		status += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(owner.Nanoseconds())/n/1e3, "owner-µs/op")
	b.ReportMetric(float64(status.Nanoseconds())/n/1e3, "status-µs/op")
	b.ReportMetric(float64(owner)/float64(status), "x-status")
}
