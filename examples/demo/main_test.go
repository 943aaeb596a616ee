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
	os.Exit(testutil.RunWithBinary(m, "demo", &bin))
}

// The README's main command: it prints its report and exits 0.
func TestDemo(t *testing.T) {
	testutil.RequireRoot(t)
	out, err := exec.Command(bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, want := range []string{"hostname:   nucleus-demo", "NoNewPrivs:\t1", "Seccomp:\t2",
		"write /etc:  denied", "unshare -U: denied", "exit code 7", "demo: all checks passed"} {
		assert.Contains(t, string(out), want)
	}
	assert.NotContains(t, string(out), "FAILED")
}
