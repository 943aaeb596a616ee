package proc

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireRoot skips a test that needs root, unless NUCLEUS_REQUIRE_ROOT=1
// (set by CI), in which case the test fails. It repeats
// testcontainer.RequireRoot, which this leaf package cannot import.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("NUCLEUS_REQUIRE_ROOT") == "1" {
		t.Fatal("test needs root and NUCLEUS_REQUIRE_ROOT=1")
	}
	t.Skip("test needs root")
}

// startChild starts cmd and registers a cleanup that kills and reaps it.
func startChild(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}
