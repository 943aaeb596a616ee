package testcontainer

import (
	"nucleus/internal/testutil"
	"testing"
)

// RequireRoot skips the test when the process is not root, or fails it
// when NUCLEUS_REQUIRE_ROOT=1 (CI): see testutil.RequireRoot.
var RequireRoot = testutil.RequireRoot

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
