package launch

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
