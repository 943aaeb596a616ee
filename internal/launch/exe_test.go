package launch

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/nsenter"
)

var exeViews = []ExeView{ExeOverlay, ExeMemfd}

// The sealed memfd copy is made once and refuses writes (CVE-2019-5736).
func TestSelfCopyIsSealed(t *testing.T) {
	f1, err := memfdExe.get()
	require.NoError(t, err)
	f2, err := memfdExe.get()
	require.NoError(t, err)
	assert.Same(t, f1, f2, "made once per process")
	seals, err := unix.FcntlInt(f1.Fd(), unix.F_GET_SEALS, 0)
	require.NoError(t, err)
	const want = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	assert.Equal(t, want, seals&want)
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f1.Fd()), os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt([]byte("x"), 0)
	assert.ErrorIs(t, err, unix.EPERM, "a sealed copy refuses every write")
	assert.ErrorIs(t, f.Truncate(0), unix.EPERM)
}

// The overlay view (root only) is made once, is the running binary, refuses
// every write open with EROFS, is not the file on disk, and its mount is in
// no mount tree: not in this process's mountinfo.
func TestOverlayViewIsReadOnlyAndDetached(t *testing.T) {
	testutil.RequireRoot(t)
	f1, err := overlayExe.get()
	require.NoError(t, err, "the overlay view is made on this kernel (6.18, root)")
	f2, err := overlayExe.get()
	require.NoError(t, err)
	assert.Same(t, f1, f2, "made once per process")
	path := fmt.Sprintf("/proc/self/fd/%d", f1.Fd())
	// The default choice, and the debug record that says so.
	var log testutil.SyncBuffer
	f3, v, err := exeFile(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.NoError(t, err)
	assert.Equal(t, ExeOverlay, v)
	assert.Same(t, f1, f3)
	assert.Contains(t, log.String(), `msg="child executable" view=overlay`)

	for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC} {
		_, err := os.OpenFile(path, flag, 0)
		assert.ErrorIs(t, err, unix.EROFS, "open flags %#x", flag)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	var disk, view unix.Stat_t
	require.NoError(t, unix.Stat(self, &disk))
	require.NoError(t, unix.Fstat(int(f1.Fd()), &view))
	assert.NotEqual(t, disk.Dev, view.Dev, "an overlay inode, not the file on disk")
	assert.Equal(t, disk.Size, view.Size)
	assert.Equal(t, testutil.SHA256File(t, self), testutil.SHA256File(t, path), "the running binary's content")

	// The link names the file inside the detached mount only.
	link, err := os.Readlink(path)
	require.NoError(t, err)
	assert.Equal(t, "/"+filepathBase(self), link)
	fdinfo, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", f1.Fd()))
	require.NoError(t, err)
	var mntID string
	for _, line := range strings.Split(string(fdinfo), "\n") {
		if v, ok := strings.CutPrefix(line, "mnt_id:"); ok {
			mntID = strings.TrimSpace(v)
		}
	}
	require.NotEmpty(t, mntID, "%s", fdinfo)
	mi, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(mi), "\n") {
		assert.False(t, strings.HasPrefix(line, mntID+" "), "the view's mount %s is attached: %s", mntID, line)
	}
}

func filepathBase(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// CVE-2019-5736 on every view: while a grandchild runs inside a container
// (held in the constructor: the go-ahead is withheld), its /proc/PID/exe
// is the view, not the binary on disk. Even host root — which passes the
// non-dumpable check a container process fails — cannot write through it,
// and the binary's hash is unchanged.
func TestGrandchildExeCannotWriteHostBinary(t *testing.T) {
	testutil.RequireRoot(t)
	self, err := os.Executable()
	require.NoError(t, err)
	before := testutil.SHA256File(t, self)
	var disk unix.Stat_t
	require.NoError(t, unix.Stat(self, &disk))
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)

	for _, v := range exeViews {
		t.Run(string(v), func(t *testing.T) {
			defer ForceExeView(v)()
			got, err := CurrentExeView()
			require.NoError(t, err)
			require.Equal(t, v, got)
			exe, _, err := exeFile(discard)
			require.NoError(t, err)

			target, nsflags, err := openTarget(st)
			require.NoError(t, err)
			defer target.Close()
			null, err := openDevNull()
			require.NoError(t, err)
			defer null.Close()
			l := &launcher{log: discard, cgroups: &cgroupJoin{}}
			gc := pausedGrandchild(t, l, exe, []*os.File{null, null, null, nil, target, nil}, nsenter.Request{NSFlags: nsflags})

			gexe := "/proc/" + strconv.Itoa(gc) + "/exe"
			var st unix.Stat_t
			require.NoError(t, unix.Stat(gexe, &st))
			assert.False(t, st.Dev == disk.Dev && st.Ino == disk.Ino, "the grandchild does not run the file on disk")
			f, err := os.OpenFile(gexe, os.O_WRONLY, 0)
			switch v {
			case ExeOverlay:
				assert.ErrorIs(t, err, unix.EROFS)
			case ExeMemfd:
				// ETXTBSY while it runs; were the open allowed, the
				// seals refuse the write.
				if err == nil {
					_, err = f.WriteAt([]byte("x"), 0)
					f.Close()
					assert.ErrorIs(t, err, unix.EPERM)
				} else {
					assert.ErrorIs(t, err, unix.ETXTBSY)
				}
			}
			assert.Equal(t, before, testutil.SHA256File(t, self))
		})
	}
}

const fallbackChildEnv = "NUCLEUS_LAUNCH_TEST_EXE_FALLBACK"

// An unprivileged caller cannot mount an overlay (fsopen needs
// CAP_SYS_ADMIN): it falls back to the sealed memfd, and says so, with the
// overlay's error, in a debug record. Runs the test binary as nobody.
func TestExeViewFallsBackToMemfd(t *testing.T) {
	if os.Getenv(fallbackChildEnv) == "1" {
		var log testutil.SyncBuffer
		_, v, err := exeFile(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
		require.NoError(t, err)
		fmt.Printf("view=%s\n%s", v, log.String())
		return
	}
	testutil.RequireRoot(t)
	self, err := os.Executable()
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "exe-fallback-")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := dir + "/launch.test"
	data, err := os.ReadFile(self)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))

	cmd := exec.Command(bin, "-test.run=^TestExeViewFallsBackToMemfd$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), fallbackChildEnv+"=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	assert.Contains(t, string(out), "view=memfd")
	assert.Contains(t, string(out), "view=memfd overlay_err=")
	assert.Contains(t, string(out), "fsopen(tmpfs)", "the overlay's error names the step")
}

// pausedGrandchild starts the middle child with files (files[3], the
// bootstrap socket's place, is filled in here), sends req without the
// go-ahead, and returns the grandchild's PID: it waits in the constructor,
// inside the target's namespaces, until the test ends, when the socket is
// closed (EOF instead of the go-ahead: it exits) and it is reaped.
func pausedGrandchild(t *testing.T, l *launcher, exe *os.File, files []*os.File, req nsenter.Request) int {
	t.Helper()
	ours, theirs := nonblockingPair(t)
	files[3] = theirs
	middle, err := l.startMiddle(exe, files)
	theirs.Close()
	require.NoError(t, err)
	b, err := req.MarshalBinary()
	require.NoError(t, err)
	_, err = ours.Write(b)
	require.NoError(t, err)
	msg, err := nsenter.ReadMessage(ours)
	require.NoError(t, err)
	_, _ = middle.Wait()
	require.Equal(t, uint32(nsenter.MsgPID), msg.Type, "%v", msg.Err())
	gc := int(msg.Value)
	t.Cleanup(func() {
		ours.Close()
		var ws unix.WaitStatus
		_, err := unix.Wait4(gc, &ws, 0, nil)
		assert.NoError(t, err)
	})
	return gc
}
