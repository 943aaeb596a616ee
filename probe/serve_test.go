package probe

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
)

// ncScript serves script (a shell script whose stdin and stdout are the
// connection) on port inside c with busybox nc, one run per connection.
func ncScript(t *testing.T, c *testcontainer.Container, port int, name, script string) {
	t.Helper()
	path := "/" + name + ".sh"
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, path), []byte("#!/bin/sh\n"+script), 0o755))
	c.Serve(t, port, "nc", "-ll", "-p", strconv.Itoa(port), "-e", path)
}
