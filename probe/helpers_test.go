package probe

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeSandboxEnv makes the test binary pose as a gVisor sandbox.
const fakeSandboxEnv = "NUCLEUS_PROBE_FAKE_SANDBOX"

// TestMain closes the containers the benchmarks started.
func TestMain(m *testing.M) {
	if os.Getenv(fakeSandboxEnv) == "1" {
		// A stand-in for a gVisor sandbox supervisor: only its command
		// line matters. Sleep until killed.
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	code := m.Run()
	closeBenchContainers()
	os.Exit(code)
}

// ownNetNS is this process's network namespace link ("net:[N]").
func ownNetNS(t testing.TB) string {
	t.Helper()
	s, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	return s
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
