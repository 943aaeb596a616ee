package launch

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/state"
)

func TestCheckDir(t *testing.T) {
	for dir, ok := range map[string]bool{
		"/": true, "/tmp": true, "/a/b/c": true, "/a/./b": true,
		"tmp": false, "": false, "/..": false, "/tmp/../..": false, "/a/..": false, "/a\x00": false,
	} {
		err := checkDir(dir)
		assert.Equal(t, ok, err == nil, "%q: %v", dir, err)
	}
}

func TestPermission(t *testing.T) {
	st := &state.ContainerState{ID: "c", CreatorUID: uint32(os.Geteuid())}
	assert.NoError(t, permitted(st))
}

// A CGO_ENABLED=0 build has no constructor: it must refuse with
// ErrUnsupported, never run the command on the host.
func TestNoCgoBuildRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := filepath.Join(t.TempDir(), "nocgo")
	build := exec.Command("go", "build", "-o", bin, "./testdata/nocgo")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "built without cgo")
}

// The sealed memfd copy is made once and refuses writes (CVE-2019-5736).
func TestSelfCopyIsSealed(t *testing.T) {
	p1, err := exePath()
	require.NoError(t, err)
	p2, err := exePath()
	require.NoError(t, err)
	assert.Equal(t, p1, p2, "made once per process")
	seals, err := unix.FcntlInt(selfExe.file.Fd(), unix.F_GET_SEALS, 0)
	require.NoError(t, err)
	const want = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	assert.Equal(t, want, seals&want)
	f, err := os.OpenFile(p1, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt([]byte("x"), 0)
	assert.ErrorIs(t, err, unix.EPERM, "a sealed copy refuses every write")
	assert.ErrorIs(t, f.Truncate(0), unix.EPERM)
}
