package probe

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
)

// Exec probes by bare PID work on a container made by runc: the PID is all
// RunProbe needs.
func TestExecProbeOnRuncByPID(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{})
	res, err := RunProbe(c.PID, Exec{Command: []string{"true"}}, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status)

	res, err = RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "hostname; exit 3"}}, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, 3, res.ExitCode)
	out, code, err := c.Exec("hostname")
	require.NoError(t, err)
	require.Equal(t, 0, code)
	assert.Equal(t, out, string(res.Output), "the probe sees what runc exec sees")
}
