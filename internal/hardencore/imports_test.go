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
	err := wrap("gid 5", syscall.EPERM)
	assert.EqualError(t, err, "gid 5: operation not permitted")
	assert.ErrorIs(t, err, syscall.EPERM)
	assert.EqualError(t, stepErr(StepChdir, syscall.ENOENT), "harden: chdir: no such file or directory")
	assert.Equal(t, "cap_sys_admin,cap_checkpoint_restore,63", CapNames(1<<21|1<<40|1<<63))
}
