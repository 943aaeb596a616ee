package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// TestByName probes a Docker container by name: exec, TCP and HTTP.
func TestByName(t *testing.T) {
	dd, _ := testcontainer.StartDockerContainer(t, "probe-web")
	for _, args := range [][]string{
		{"probe-web", "exec", "true"},
		{"probe-web", "--timeout", "5s", "tcp", "8080"},
		{"probe-web", "http", "8080", "/index.html"},
	} {
		// The web server starts with the container: it may not listen
		// yet on a loaded machine, so the probe runs until it succeeds,
		// for at most 20 s.
		var r result
		testutil.Within(20*time.Second, func() bool {
			cmd, stdout, stderr := probeCmd(t, args...)
			cmd.Env = append(os.Environ(), dd.Env()...)
			r = finish(t, cmd, cmd.Run(), stdout, stderr)
			return r.code == 0
		})
		assert.Equal(t, 0, r.code, "probe %s: %v %s", strings.Join(args, " "), r.lines, r.stderr)
		status, _, reason := parse(t, r)
		assert.Equal(t, "Success", status, reason)
	}
}
