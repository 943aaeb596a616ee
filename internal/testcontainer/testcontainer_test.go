package testcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
)

// nsGetOwnerUID is NS_GET_OWNER_UID (linux/nsfs.h): the uid that owns a
// user namespace, i.e. the euid of its creator.
const nsGetOwnerUID = 0xb704

// inside runs args in all of c's namespaces with util-linux nsenter (only
// a check of the container: nucleus itself does not use nsenter). For a
// rootless container nsenter becomes root of its user namespace.
func inside(c *Container, args ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(c.PID), "-a", "--"}, args...)...).CombinedOutput()
	return string(out), err
}

func mustInside(t *testing.T, c *Container, args ...string) string {
	t.Helper()
	out, err := inside(c, args...)
	require.NoError(t, err, "%v: %s", args, out)
	return out
}

func nsLink(t *testing.T, pid, ns string) string {
	t.Helper()
	l, err := os.Readlink("/proc/" + pid + "/ns/" + ns)
	require.NoError(t, err)
	return l
}

func wget(c *Container, path string) (string, error) {
	// Not wget -T: this busybox (1.35, Debian) segfaults with it.
	return inside(c, "timeout", "5", "wget", "-qO-", fmt.Sprintf("http://127.0.0.1:%d%s", c.Port, path))
}

// checkBasics asserts what every container has: its own namespaces, its
// rootfs, hostname, devices, users and identity.
func checkBasics(t *testing.T, c *Container) {
	pid := strconv.Itoa(c.PID)
	for _, ns := range []string{"mnt", "net", "uts", "ipc", "pid", "cgroup"} {
		assert.NotEqual(t, nsLink(t, "self", ns), nsLink(t, pid, ns), "namespace %s", ns)
	}
	if c.Rootless {
		assert.NotEqual(t, nsLink(t, "self", "user"), nsLink(t, pid, "user"))
	} else {
		assert.Equal(t, nsLink(t, "self", "user"), nsLink(t, pid, "user"))
	}
	hn, err := os.ReadFile("/proc/" + pid + "/root/etc/hostname")
	require.NoError(t, err)
	assert.Equal(t, c.Hostname+"\n", string(hn))
	assert.Equal(t, c.Hostname+"\n", mustInside(t, c, "/bin/hostname"))
	// The exe path was resolved before pivot_root, in the host's terms.
	assert.Equal(t, c.Rootfs+"/bin/nucleus-testhelper\n", mustInside(t, c, "readlink", "/proc/1/exe"), "PID 1 is the helper")
	assert.Equal(t, "0\n", mustInside(t, c, "id", "-u"))
	assert.Equal(t, "user:x:1000:1000:user:/home/user:/bin/sh\n", mustInside(t, c, "grep", "^user:", "/etc/passwd"))
	assert.Equal(t, "16\n", mustInside(t, c, "sh", "-c", "echo x >/dev/null && head -c 16 /dev/urandom | wc -c"))
	assert.Equal(t, "ok\n", mustInside(t, c, "sh", "-c", "echo ok >/tmp/f && cat /tmp/f && touch /dev/shm/x"))
	assert.Contains(t, mustInside(t, c, "ip", "link", "show", "lo"), "UP")
	// The host's root is gone from the container's mount table.
	assert.Equal(t, "/ /dev /dev/null /dev/random /dev/shm /dev/tty /dev/urandom /dev/zero /proc /tmp\n",
		mustInside(t, c, "sh", "-c", "cut -d' ' -f2 /proc/self/mounts | sort | xargs"))

	st, err := c.State()
	require.NoError(t, err)
	assert.Equal(t, c.PID, st.PID)
	assert.Equal(t, c.Name, st.ID)
	assert.Equal(t, c.Name, st.Name)
	assert.Equal(t, c.Rootless, st.Rootless)
	assert.Equal(t, c.OwnerUID, st.CreatorUID)
	assert.Equal(t, uint32(0), st.ProcessUID)
	assert.True(t, st.IsRunning())
}

func checkHTTP(t *testing.T, c *Container) {
	out, err := wget(c, "/healthz")
	require.NoError(t, err, out)
	assert.Equal(t, "ok\n", out)
	out, err = wget(c, "/anything")
	require.NoError(t, err, out)
	out, err = wget(c, "/status/404")
	assert.Error(t, err)
	assert.Contains(t, out, "404")

	require.NoError(t, c.StopListener())
	out, err = wget(c, "/healthz")
	assert.Error(t, err)
	assert.Contains(t, out, "refused")
	require.NoError(t, c.StopListener(), "stopping twice is fine")
	require.NoError(t, c.StartListener())
	out, err = wget(c, "/healthz")
	require.NoError(t, err, out)
	assert.Equal(t, "ok\n", out)
}

// checkCgroups asserts the init is in c's cgroups as seen from the host,
// and at the root of its own cgroup namespace as seen from inside.
func checkCgroups(t *testing.T, c *Container) {
	require.Len(t, c.CgroupDirs, 3, "v1 pids, v1 memory, v2")
	for _, dir := range c.CgroupDirs {
		procs, err := os.ReadFile(dir + "/cgroup.procs")
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(c.PID)+"\n", string(procs), dir)
	}
	host, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID))
	require.NoError(t, err)
	inner := mustInside(t, c, "cat", "/proc/1/cgroup")
	for _, want := range []string{":pids:", ":memory:", "0::"} {
		assert.Regexp(t, want+".*/"+cgroupParent+"/"+c.Name+"\n", string(host))
		assert.Contains(t, inner, want+"/\n")
	}
}

// gone records what c owns and returns a check that all of it is gone.
func gone(t *testing.T, c *Container) func() {
	type owned struct {
		pid   int
		ticks uint64
	}
	var procs []owned
	for _, pid := range []int{c.PID, c.LauncherPID} {
		if pid > 0 {
			ticks, err := proc.StartTicks(pid)
			require.NoError(t, err)
			procs = append(procs, owned{pid, ticks})
		}
	}
	dirs, rootfs := c.CgroupDirs, c.Rootfs
	return func() {
		for _, p := range procs {
			ticks, err := proc.StartTicks(p.pid)
			assert.True(t, err != nil || ticks != p.ticks, "pid %d still exists (or is a zombie)", p.pid)
		}
		for _, dir := range dirs {
			assert.NoDirExists(t, dir)
		}
		assert.NoDirExists(t, rootfs)
		mi, err := os.ReadFile("/proc/self/mountinfo")
		require.NoError(t, err)
		assert.NotContains(t, string(mi), rootfs)
	}
}

func TestRootful(t *testing.T) {
	c := New(t, Options{Hostname: "tc-rootful", Port: 8080, Cgroup: true})
	assert.Zero(t, c.OwnerUID)
	assert.Zero(t, c.LauncherPID)
	checkBasics(t, c)
	checkHTTP(t, c)
	checkCgroups(t, c)

	check := gone(t, c)
	require.NoError(t, c.Close())
	check()
	require.NoError(t, c.Close(), "Close is idempotent")
	_, err := c.State()
	assert.Error(t, err)
	assert.Error(t, c.StopListener())
}

func TestRootless(t *testing.T) {
	c := New(t, Options{Rootless: true, Hostname: "tc-rootless", Port: 8081, Cgroup: true})
	assert.Equal(t, uint32(DefaultOwnerUID), c.OwnerUID)
	checkBasics(t, c)

	status, err := proc.ReadStatus(c.PID)
	require.NoError(t, err)
	assert.Equal(t, [4]uint32{DefaultOwnerUID, DefaultOwnerUID, DefaultOwnerUID, DefaultOwnerUID}, status.UID)
	uidMap, err := proc.ReadIDMap(c.PID, "uid_map")
	require.NoError(t, err)
	assert.Equal(t, []proc.IDMapping{{Inside: 0, Outside: DefaultOwnerUID, Size: 1}}, uidMap)
	setgroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", c.PID))
	require.NoError(t, err)
	assert.Equal(t, "deny\n", string(setgroups))
	// The unprivileged owner created the user namespace, so it owns it.
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", c.PID))
	require.NoError(t, err)
	owner, err := unix.IoctlGetUint32(int(f.Fd()), nsGetOwnerUID)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, uint32(DefaultOwnerUID), owner)
	launcher, err := proc.ReadStat(c.LauncherPID)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), launcher.PPID)

	checkHTTP(t, c)
	checkCgroups(t, c)

	check := gone(t, c)
	require.NoError(t, c.Close())
	check()
}

func TestNoCgroup(t *testing.T) {
	c := New(t, Options{})
	assert.Equal(t, "nucleus-test", c.Hostname)
	assert.Empty(t, c.CgroupDirs)
	self, err := os.ReadFile("/proc/self/cgroup")
	require.NoError(t, err)
	host, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID))
	require.NoError(t, err)
	assert.Equal(t, string(self), string(host))
	assert.Error(t, c.StartListener(), "no port")
}

// TestOrphansReaped: an orphan inside reparents to the init, which reaps it.
func TestOrphansReaped(t *testing.T) {
	c := New(t, Options{})
	out := mustInside(t, c, "sh", "-c", "sleep 0.2 & echo $!")
	require.NotEmpty(t, strings.TrimSpace(out))
	children := fmt.Sprintf("/proc/%d/task/%d/children", c.PID, c.PID)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(children)
		require.NoError(t, err)
		if strings.TrimSpace(string(b)) == "" {
			break
		}
		require.True(t, time.Now().Before(deadline), "init still has children %q", b)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseAfterCrash: Close cleans up after a container whose init died,
// killed or asked to exit with SIGTERM.
func TestCloseAfterCrash(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		for _, sig := range []unix.Signal{unix.SIGKILL, unix.SIGTERM} {
			c := New(t, Options{Rootless: rootless, Cgroup: true})
			check := gone(t, c)
			require.NoError(t, unix.Kill(c.PID, sig))
			select {
			case <-c.exited:
			case <-time.After(5 * time.Second):
				t.Fatalf("rootless=%v: init survived %v", rootless, sig)
			}
			require.NoError(t, c.Close())
			check()
		}
	}
}

func TestConcurrent(t *testing.T) {
	const n = 4
	cs := make([]*Container, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cs[i], errs[i] = Start(Options{Rootless: i%2 == 1, Hostname: fmt.Sprintf("tc-%d", i), Port: 8080, Cgroup: true})
		})
	}
	wg.Wait()
	for _, c := range cs {
		if c != nil {
			t.Cleanup(func() { assert.NoError(t, c.Close()) })
		}
	}
	for _, err := range errs {
		require.NoError(t, err)
	}
	for i, c := range cs {
		assert.Equal(t, fmt.Sprintf("tc-%d\n", i), mustInside(t, c, "hostname"))
		out, err := wget(c, "/healthz")
		assert.NoError(t, err, out)
		assert.Equal(t, "ok\n", out)
	}
}

func TestStartOptions(t *testing.T) {
	RequireRoot(t)
	_, err := Start(Options{Port: 70000})
	assert.Error(t, err)
	_, err = Start(Options{Hostname: strings.Repeat("h", 65)})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, os.ErrNotExist))
}

// TestParentDeath: a process that exits without Close takes its containers
// with it (the init sees EOF on its gate pipe); only the rootfs is left.
func TestParentDeath(t *testing.T) {
	if os.Getenv("NUCLEUS_TC_CHILD") == "1" {
		for _, rootless := range []bool{false, true} {
			c, err := Start(Options{Rootless: rootless})
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Println(c.PID, c.LauncherPID, c.Rootfs)
		}
		os.Exit(0) // no Close
	}
	RequireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestParentDeath$")
	cmd.Env = append(os.Environ(), "NUCLEUS_TC_CHILD=1")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 2, "%s", out)
	for _, line := range lines {
		var pid, launcher int
		var rootfs string
		_, err = fmt.Sscan(line, &pid, &launcher, &rootfs)
		require.NoError(t, err, "%s", out)
		require.Contains(t, rootfs, "nucleus-tc-")
		t.Cleanup(func() { assert.NoError(t, removeRootfs(rootfs)) })
		for _, p := range []int{pid, launcher} {
			if p == 0 {
				continue
			}
			assert.Eventually(t, func() bool {
				st, err := proc.ReadStat(p)
				return err != nil || st.Comm != "nucleus-testhel"
			}, 5*time.Second, 10*time.Millisecond, "pid %d outlived its parent", p)
		}
	}
}
