package hardencore

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The child runs this package before Go initialises anything heavier than
// its imports: they must stay low-level.
func TestHardencoreImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "nucleus/internal/hardencore").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	for _, bad := range []string{"os", "fmt", "time", "reflect", "strings", "unicode", "encoding/binary", "golang.org/x/sys/unix"} {
		assert.NotContains(t, deps, bad)
	}
	for _, d := range deps {
		assert.False(t, strings.Contains(d, "."), "third-party dependency %s", d)
	}
}

// The texts are those fmt printed for the same verbs.
func TestFormatting(t *testing.T) {
	assert.Equal(t, "[1 2 4294967295]", uintList([]uint32{1, 2, 4294967295}))
	assert.Equal(t, "[]", uintList(nil))
	assert.Equal(t, "0x0", hex(0))
	assert.Equal(t, "0x1fff", hex(0x1fff))
	assert.Equal(t, `"/a b\n"`, quote("/a b\n"))
	err := wrap("gid 5", syscall.EPERM)
	assert.EqualError(t, err, "gid 5: operation not permitted")
	assert.ErrorIs(t, err, syscall.EPERM)
	assert.EqualError(t, stepErr(StepChdir, syscall.ENOENT), "harden: chdir: no such file or directory")
	assert.Equal(t, "cap_sys_admin,cap_checkpoint_restore,63", CapNames(1<<21|1<<40|1<<63))
}

func TestTextHelpers(t *testing.T) {
	assert.Equal(t, "40", trimSpace(" \t40\n"))
	assert.Equal(t, "", trimSpace(" \n"))
	assert.True(t, contains("Name:\tx\nSeccomp:\t2\nX", "\nSeccomp:\t2\n"))
	assert.False(t, contains("Seccomp:\t2\n", "\nSeccomp:\t2\n"))
	assert.True(t, contains("abc", ""))
	assert.True(t, hasPrefix("deny\n", "deny"))
	assert.False(t, hasPrefix("den", "deny"))
}
