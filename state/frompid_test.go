package state

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
)

func TestFromPIDSelf(t *testing.T) {
	before := time.Now()
	s, err := FromPID(os.Getpid())
	require.NoError(t, err)
	pid := strconv.Itoa(os.Getpid())
	assert.Equal(t, pid, s.ID)
	assert.Equal(t, pid, s.Name)
	assert.Equal(t, os.Getpid(), s.PID)
	assert.Equal(t, StatusRunning, s.Status)
	assert.False(t, s.Rootless)
	assert.Equal(t, uint32(os.Getuid()), s.CreatorUID)
	assert.Equal(t, uint32(os.Geteuid()), s.ProcessUID)
	assert.Equal(t, uint32(os.Getegid()), s.ProcessGID)
	groups, err := os.Getgroups()
	require.NoError(t, err)
	require.Len(t, s.AdditionalGIDs, len(groups))
	for i, g := range groups {
		assert.Equal(t, uint32(g), s.AdditionalGIDs[i])
	}
	assert.Equal(t, os.Args, s.Command)
	ticks, err := proc.StartTicks(0)
	require.NoError(t, err)
	assert.Equal(t, ticks, s.StartTicks)
	// The test binary started shortly before this test; btime has a
	// resolution of one second.
	assert.True(t, s.StartedAt.Before(before.Add(time.Second)), "started_at %v", s.StartedAt)
	assert.True(t, s.StartedAt.After(before.Add(-30*time.Minute)), "started_at %v", s.StartedAt)
	require.NoError(t, s.CheckRunning())

	// It round-trips through a state file.
	dir := t.TempDir()
	require.NoError(t, s.Save(dir))
	got, err := Load(dir, s.ID)
	require.NoError(t, err)
	assert.Equal(t, s.StartTicks, got.StartTicks)
	assert.True(t, s.StartedAt.Equal(got.StartedAt))
}

func TestFromPIDChild(t *testing.T) {
	start := time.Now()
	cmd := testutil.StartChild(t, exec.Command("sleep", "60"))
	pid := cmd.Process.Pid
	var s *ContainerState
	require.Eventually(t, func() bool { // until exec has replaced the forked Go child
		var err error
		s, err = FromPID(pid)
		return err == nil && len(s.Command) == 2 && s.Command[0] == "sleep"
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, []string{"sleep", "60"}, s.Command)
	assert.Equal(t, pid, s.PID)
	assert.False(t, s.Rootless)
	assert.Equal(t, uint32(os.Getuid()), s.CreatorUID)
	assert.WithinDuration(t, start, s.StartedAt, 2*time.Second)
	require.NoError(t, s.CheckRunning())

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	_, err := FromPID(pid)
	require.ErrorIs(t, err, ErrNotRunning)
	require.ErrorIs(t, s.CheckRunning(), ErrNotRunning)

	_, err = FromPID(0)
	require.ErrorIs(t, err, ErrNotRunning)
	_, err = FromPID(-7)
	require.ErrorIs(t, err, ErrNotRunning)
}

// waitUserNS waits until pid runs in a user namespace other than ours and
// has exec'd the expected program.
func waitUserNS(t *testing.T, pid int, comm string) {
	t.Helper()
	self, err := proc.NamespaceID(0, "user")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ns, err := proc.NamespaceID(pid, "user")
		if err != nil || ns == self {
			return false
		}
		st, err := proc.ReadStat(pid)
		return err == nil && st.Comm == comm
	}, 5*time.Second, 5*time.Millisecond)
}

// TestFromPIDUserNamespaceMapRoot: `unshare --user --map-root-user` run by
// root maps inside 0 to host 0; the process is rootless (own user
// namespace) and runs as uid 0 inside.
func TestFromPIDUserNamespaceMapRoot(t *testing.T) {
	testutil.RequireRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Missing(t, "unshare(1) not installed")
	}
	cmd := testutil.StartChild(t, exec.Command(unshare, "--user", "--map-root-user", "sleep", "60"))
	waitUserNS(t, cmd.Process.Pid, "sleep")
	var s *ContainerState
	require.Eventually(t, func() bool { // until unshare has written the maps
		s, err = FromPID(cmd.Process.Pid)
		return err == nil && s.ProcessUID == 0
	}, 5*time.Second, 5*time.Millisecond)
	assert.True(t, s.Rootless)
	assert.Equal(t, uint32(0), s.ProcessUID)
	assert.Equal(t, uint32(0), s.ProcessGID)
	assert.Equal(t, uint32(0), s.CreatorUID)
	assert.Equal(t, []string{"sleep", "60"}, s.Command)
}

// TestFromPIDUserNamespaceTranslated: a process whose user namespace maps
// inside 0..65535 to host 100000..165535 and that runs as 1000:1000 with
// groups 5 and 27 inside. The host sees uid 101000; FromPID must report the
// inside identity, and as creator the owner of the user namespace (root),
// not the real uid, which a process with CAP_SETUID inside picks itself.
func TestFromPIDUserNamespaceTranslated(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappingsEnableSetgroups: true,
		Credential:                 &syscall.Credential{Uid: 1000, Gid: 1000, Groups: []uint32{5, 27}},
	}
	testutil.StartChild(t, cmd)
	waitUserNS(t, cmd.Process.Pid, "sleep")
	s, err := FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	assert.True(t, s.Rootless)
	assert.Equal(t, uint32(0), s.CreatorUID, "the owner of the user namespace (root made it), not the real uid 101000 the process chose")
	assert.Equal(t, uint32(1000), s.ProcessUID)
	assert.Equal(t, uint32(1000), s.ProcessGID)
	assert.Equal(t, []uint32{5, 27}, s.AdditionalGIDs)
	assert.Equal(t, ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{5, 27}}, s.Identity())
	require.NoError(t, s.CheckRunning())
}

// TestFromPIDUnmappedIDs: groups inherited from the host that the user
// namespace does not map are dropped, and an effective uid/gid without a
// mapping becomes the overflow id 65534.
func TestFromPIDUnmappedIDs(t *testing.T) {
	testutil.RequireRoot(t)
	orig, err := syscall.Getgroups()
	require.NoError(t, err)
	require.NoError(t, syscall.Setgroups([]int{0, 44}))
	t.Cleanup(func() { require.NoError(t, syscall.Setgroups(orig)) })

	// Groups 0 and 44 kept from the parent (NoSetGroups); only 44 is mapped.
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}, {ContainerID: 70000, HostID: 44, Size: 1}},
		Credential:  &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
	}
	testutil.StartChild(t, cmd)
	waitUserNS(t, cmd.Process.Pid, "sleep")
	status, err := proc.ReadStatus(cmd.Process.Pid)
	require.NoError(t, err)
	require.Equal(t, []uint32{0, 44}, status.Groups, "the host view keeps both groups")
	s, err := FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	assert.True(t, s.Rootless)
	assert.Equal(t, uint32(0), s.ProcessUID)
	assert.Equal(t, uint32(0), s.CreatorUID, "root made the user namespace")
	assert.Equal(t, []uint32{70000}, s.AdditionalGIDs, "host group 0 has no mapping and is dropped")

	// No maps written at all: host root is not mapped inside.
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Missing(t, "unshare(1) not installed")
	}
	cmd = testutil.StartChild(t, exec.Command(unshare, "--user", "sleep", "60"))
	waitUserNS(t, cmd.Process.Pid, "sleep")
	s, err = FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	assert.True(t, s.Rootless)
	assert.Equal(t, uint32(65534), s.ProcessUID)
	assert.Equal(t, uint32(65534), s.ProcessGID)
	assert.Empty(t, s.AdditionalGIDs)
	assert.Equal(t, uint32(0), s.CreatorUID)
}

func TestFromPIDThread(t *testing.T) {
	entries, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		require.NoError(t, err)
		if tid == os.Getpid() {
			continue
		}
		_, err = FromPID(tid)
		require.ErrorContains(t, err, "a thread of process "+strconv.Itoa(os.Getpid()))
		return
	}
	t.Skip("the test process has a single thread")
}

func TestFromPIDStartedAt(t *testing.T) {
	bt, err := bootTime()
	require.NoError(t, err)
	assert.Equal(t, time.Unix(bt+12, 340_000_000).UTC(), startTime(bt, 1234))
	assert.Equal(t, []string{"a", "", "b"}, splitCmdline([]byte("a\x00\x00b\x00")))
	assert.Equal(t, []string{}, splitCmdline(nil))
	assert.Equal(t, []string{"x"}, splitCmdline([]byte("x")))
}
