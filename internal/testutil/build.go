package testutil

import (
	"fmt"
	"os"
	"os/exec"
)

// BuildStatic builds the main package pkg (a path as `go build` takes it,
// relative to the test's directory) with CGO_ENABLED=0 into out: a static
// binary that runs inside a test container's libc-less rootfs.
func BuildStatic(pkg, out string) error {
	// go test puts its own go first in PATH.
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, b)
	}
	return nil
}
