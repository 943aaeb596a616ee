package proc

import (
	"fmt"
	"nucleus/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A hybrid host seen from inside a container whose cgroup file systems are
// mounted from the container's own cgroup (root field not "/"), plus a
// mount point with an escaped space.
const sampleMountinfo = `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 31 0:31 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 /docker/abc /sys/fs/cgroup/sys\040temd rw,relatime - cgroup cgroup rw,xattr,name=systemd
36 31 0:33 /docker/abc /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
37 31 0:34 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
38 31 0:35 / /sys/fs/cgroup/future rw,relatime - cgroup cgroup rw,clone_children,futurectl
`

func TestParseCgroupMountsAndResolve(t *testing.T) {
	mounts, err := parseCgroupMounts([]byte(sampleMountinfo))
	require.NoError(t, err)
	require.Len(t, mounts, 7)
	assert.Equal(t, "/sys/fs/cgroup/sys temd", mounts[3].mountPoint)
	assert.True(t, mounts[4].v2)

	tests := []struct {
		line    cgroupLine
		wantDir string
		ok      bool
	}{
		{cgroupLine{4, "cpu,cpuacct", "/docker/abc/app"}, "/sys/fs/cgroup/cpu,cpuacct/app", true},
		{cgroupLine{4, "cpu,cpuacct", "/docker/abc"}, "/sys/fs/cgroup/cpu,cpuacct", true},
		{cgroupLine{4, "cpu,cpuacct", "/docker/abcd"}, "", false}, // sibling, not below the root
		{cgroupLine{4, "cpu,cpuacct", "/"}, "", false},            // above the mount's root
		{cgroupLine{5, "memory", "/docker/abc/x y"}, "/sys/fs/cgroup/memory/x y", true},
		{cgroupLine{6, "cpu", "/a"}, "/sys/fs/cgroup/cpu/a", true},
		{cgroupLine{7, "name=systemd", "/docker/abc/init.scope"}, "/sys/fs/cgroup/sys temd/init.scope", true},
		{cgroupLine{0, "", "/docker/abc/app"}, "/sys/fs/cgroup/unified/app", true},
		{cgroupLine{8, "pids", "/"}, "/sys/fs/cgroup/pids", true},
		{cgroupLine{9, "cpuacct", "/"}, "", false}, // only mounted combined with cpu
		{cgroupLine{10, "net_cls,net_prio", "/"}, "", false},
		{cgroupLine{11, "", "/"}, "", false},
		{cgroupLine{12, "futurectl", "/f"}, "/sys/fs/cgroup/future/f", true}, // a controller newer than this code
		{cgroupLine{13, "name=systemd,cpu", "/docker/abc"}, "", false},
	}
	for _, tc := range tests {
		dir, ok := findCgroupDir(tc.line, mounts)
		assert.Equal(t, tc.ok, ok, "%+v", tc.line)
		assert.Equal(t, tc.wantDir, dir, "%+v", tc.line)
	}

	_, err = parseCgroupMounts([]byte("1 2 3\n"))
	require.Error(t, err)
	_, err = parseCgroupMounts([]byte(`1 2 0:1 / /a\04 rw - cgroup cgroup rw,cpu` + "\n"))
	require.Error(t, err, "truncated escape")
}

func TestParseCgroupFile(t *testing.T) {
	lines, err := parseCgroupFile([]byte("12:name=systemd:/a:b\n4:cpu,cpuacct:/\n0::/x\n"))
	require.NoError(t, err)
	assert.Equal(t, []cgroupLine{{12, "name=systemd", "/a:b"}, {4, "cpu,cpuacct", "/"}, {0, "", "/x"}}, lines)
	for _, bad := range []string{"x::/", "1:cpu\n", "-1:cpu:/", "0::relative"} {
		_, err := parseCgroupFile([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// TestCgroupsSelf checks that every hierarchy of the test process resolves
// to a real directory whose cgroup.procs lists the test process.
func TestCgroupsSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/cgroup")
	require.NoError(t, err)
	lines, err := parseCgroupFile(b)
	require.NoError(t, err)

	dirs, err := Cgroups(os.Getpid())
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	self, err := Cgroups(0)
	require.NoError(t, err)
	assert.Equal(t, dirs, self)

	mounts, err := parseCgroupMounts(mustRead(t, "/proc/self/mountinfo"))
	require.NoError(t, err)
	want := 0
	for _, l := range lines {
		if _, ok := findCgroupDir(l, mounts); ok {
			want++
		}
	}
	assert.Len(t, dirs, want, "every mounted hierarchy is resolved")

	me := strconv.Itoa(os.Getpid())
	for _, d := range dirs {
		procs := mustRead(t, filepath.Join(d.Dir, "cgroup.procs"))
		assert.Contains(t, strings.Fields(string(procs)), me, "%+v", d)
		if d.Hierarchy == 0 {
			assert.Empty(t, d.Controllers)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

const cgroupChildEnv = "NUCLEUS_PROC_TEST_CGROUP_CHILD"

// TestCgroupsMountRoot checks resolution through a cgroup v1 mount whose
// root is not the hierarchy's root, as inside a container: a subdirectory of
// the pids hierarchy is bind-mounted elsewhere and the original mount is
// removed, in a private mount namespace (a re-run of this test binary under
// unshare(1), so the host's mounts are untouched).
func TestCgroupsMountRoot(t *testing.T) {
	if os.Getenv(cgroupChildEnv) != "" {
		cgroupsMountRootChild(t, os.Getenv(cgroupChildEnv))
		return
	}
	testutil.RequireRoot(t)
	pidsRoot := "/sys/fs/cgroup/pids"
	var sfs unix.Statfs_t
	if err := unix.Statfs(pidsRoot, &sfs); err != nil || sfs.Type != unix.CGROUP_SUPER_MAGIC {
		t.Skip("no cgroup v1 pids hierarchy at " + pidsRoot)
	}
	base := filepath.Join(pidsRoot, fmt.Sprintf("nucleus-proc-test-%d", os.Getpid()))
	require.NoError(t, os.MkdirAll(filepath.Join(base, "inner"), 0o755))
	t.Cleanup(func() {
		_ = os.Remove(filepath.Join(base, "inner"))
		_ = os.Remove(base)
	})
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Missing(t, "unshare(1) not installed")
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private",
		os.Args[0], "-test.run", "^TestCgroupsMountRoot$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), cgroupChildEnv+"="+base)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child test:\n%s", out)
	require.Contains(t, string(out), "PASS: TestCgroupsMountRoot")
}

func cgroupsMountRootChild(t *testing.T, base string) {
	// Fill the mount cache while the normal mount exists.
	before, err := Cgroups(0)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(before, func(d CgroupDir) bool { return d.Controllers == "pids" }))

	target := t.TempDir()
	require.NoError(t, unix.Mount(base, target, "", unix.MS_BIND, ""))
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	require.NoError(t, unix.Unmount("/sys/fs/cgroup/pids", unix.MNT_DETACH))

	cmd := testutil.StartChild(t, exec.Command("sleep", "60"))
	require.NoError(t, os.WriteFile(filepath.Join(target, "inner", "cgroup.procs"),
		[]byte(strconv.Itoa(cmd.Process.Pid)), 0))

	dirs, err := Cgroups(cmd.Process.Pid)
	require.NoError(t, err)
	i := slices.IndexFunc(dirs, func(d CgroupDir) bool { return d.Controllers == "pids" })
	require.GreaterOrEqual(t, i, 0, "pids hierarchy resolved: %+v", dirs)
	d := dirs[i]
	assert.Equal(t, "/"+filepath.Base(base)+"/inner", d.Path)
	assert.Equal(t, filepath.Join(target, "inner"), d.Dir)
	procs := mustRead(t, filepath.Join(d.Dir, "cgroup.procs"))
	assert.Contains(t, strings.Fields(string(procs)), strconv.Itoa(cmd.Process.Pid))

	// The test process itself sits in the pids root, above the bind mount's
	// root: that hierarchy cannot be named from here and is left out.
	self, err := Cgroups(0)
	require.NoError(t, err)
	assert.False(t, slices.ContainsFunc(self, func(d CgroupDir) bool { return d.Controllers == "pids" }), "%+v", self)
}
