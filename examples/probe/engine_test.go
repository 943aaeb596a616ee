package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"nucleus/internal/testcontainer"
)

// TestByName probes a Docker container by name: exec, TCP and HTTP.
func TestByName(t *testing.T) {
	dd, _ := testcontainer.StartDockerContainer(t, "probe-web")
	for _, args := range [][]string{
		{"probe-web", "exec", "true"},
		{"probe-web", "--timeout", "5s", "tcp", "8080"},
		{"probe-web", "http", "8080", "/index.html"},
	} {
		cmd, stdout, stderr := probeCmd(t, args...)
		cmd.Env = append(os.Environ(), dd.Env()...)
		r := finish(t, cmd, cmd.Run(), stdout, stderr)
		assert.Equal(t, 0, r.code, "probe %s: %v %s", strings.Join(args, " "), r.lines, r.stderr)
		status, _, reason := parse(t, r)
		assert.Equal(t, "Success", status, reason)
	}
}
