package testcontainer

import (
	"os"
	"testing"
)

// RequireRoot skips the test when the process is not root, because real
// containers need root on the host. With NUCLEUS_REQUIRE_ROOT=1 (set by CI)
// it fails instead, so that a misconfigured CI cannot pass by skipping.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("NUCLEUS_REQUIRE_ROOT") == "1" {
		t.Fatalf("test needs root (euid is %d) and NUCLEUS_REQUIRE_ROOT=1", os.Geteuid())
	}
	t.Skipf("test needs root (euid is %d); run as root, or set NUCLEUS_REQUIRE_ROOT=1 to fail instead", os.Geteuid())
}

// New starts a container for a test, closes it at the test's cleanup, and
// fails the test when it cannot start. It calls RequireRoot first.
func New(t testing.TB, opts Options) *Container {
	t.Helper()
	RequireRoot(t)
	c, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("testcontainer: close %s: %v", c.Name, err)
		}
	})
	return c
}
