package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
)

// TestByName probes a Docker container by name: exec, TCP and HTTP.
func TestByName(t *testing.T) {
	testcontainer.RequireRoot(t)
	tarball, err := testcontainer.RootfsTar(t.TempDir())
	require.NoError(t, err)
	dd := testcontainer.StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	dd.Run(t, "probe-web", "nucleus-test:1")
	for _, args := range [][]string{
		{"probe-web", "exec", "true"},
		{"probe-web", "--timeout", "5s", "tcp", "8080"},
		{"probe-web", "http", "8080", "/index.html"},
	} {
		cmd, stdout, stderr := probeCmd(t, args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+dd.Host, "CONTAINERD_ADDRESS="+dd.ContainerdSocket)
		r := finish(t, cmd, cmd.Run(), stdout, stderr)
		assert.Equal(t, 0, r.code, "probe %s: %v %s", strings.Join(args, " "), r.lines, r.stderr)
		status, _, reason := parse(t, r)
		assert.Equal(t, "Success", status, reason)
	}
}
