package probe

import (
	"os"
	"testing"
	"time"
)

// fakeSandboxEnv makes the test binary pose as a gVisor sandbox.
const fakeSandboxEnv = "NUCLEUS_PROBE_FAKE_SANDBOX"

// testServerDir holds what the tests build (buildTestServer); TestMain
// removes it.
var testServerDir string

// TestMain closes the containers the benchmarks started.
func TestMain(m *testing.M) {
	if os.Getenv(fakeSandboxEnv) == "1" {
		// A stand-in for a gVisor sandbox supervisor: only its command
		// line matters. Sleep until killed.
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "probe-test-")
	if err != nil {
		panic(err)
	}
	testServerDir = dir
	code := m.Run()
	closeBenchContainers()
	os.RemoveAll(dir)
	os.Exit(code)
}
