package probe

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// serveInside runs a server inside every namespace of c (util-linux nsenter,
// only as the test's way in: the probes under test never use it) and waits
// until a TCP probe of port succeeds. The server dies with the container.
func serveInside(t *testing.T, c *testcontainer.Container, port int, args ...string) {
	t.Helper()
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		testutil.Missing(t, "nsenter (util-linux) not found: %v", err)
	}
	cmd := exec.Command(nsenter, append([]string{"-t", strconv.Itoa(c.PID), "-a", "--"}, args...)...)
	testutil.StartChild(t, cmd)
	require.True(t, testutil.Within(5*time.Second, func() bool {
		res, err := RunProbe(c.PID, TCP{Port: port}, time.Second)
		return err == nil && res.Status == Success
	}), "server %v never listened on %d", args, port)
}

// ncScript serves script (a shell script whose stdin and stdout are the
// connection) on port inside c with busybox nc, one run per connection.
func ncScript(t *testing.T, c *testcontainer.Container, port int, name, script string) {
	t.Helper()
	path := "/" + name + ".sh"
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, path), []byte("#!/bin/sh\n"+script), 0o755))
	serveInside(t, c, port, "nc", "-ll", "-p", strconv.Itoa(port), "-e", path)
}
