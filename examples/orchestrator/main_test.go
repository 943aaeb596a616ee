package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testutil"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithBinary(m, "orchestrator", &bin))
}

// Every health transition the orchestrator provokes arrives, in order.
func TestOrchestrator(t *testing.T) {
	testutil.RequireRoot(t)
	out, err := exec.Command(bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	s := string(out)
	assert.Regexp(t, `(?s)web-1/http +healthy +→ unhealthy.*web-1/http +unhealthy → healthy`, s)
	assert.Contains(t, s, "orchestrator: every transition came")
}
