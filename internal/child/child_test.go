package child

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/nsenter" // defines nucleus_nsenter_joined, which the dispatch reads
)

// The messages the child writes are nsenter's: same constants, and
// nsenter.ReadMessage decodes them.
func TestWireMatchesNsenter(t *testing.T) {
	assert.Equal(t, nsenter.FdSocket, FdSocket)
	assert.Equal(t, nsenter.MsgError, MsgError)
	assert.Equal(t, nsenter.MsgExecError, MsgExecError)
	assert.Equal(t, nsenter.MessageSize, MessageSize)
	assert.Equal(t, nsenter.FdHostBinary, FdHostBinary)
	assert.False(t, nsenter.Joined(), "the dispatch must not have run in a test binary")
}

// The point of this package: it imports nothing that would make Go
// initialise it late (os, time, reflect, fmt, third-party packages), so
// its init runs before theirs in the re-executed child.
func TestChildImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "nucleus/internal/child").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	for _, bad := range []string{
		"os", "fmt", "time", "reflect", "strings", "unicode", "encoding/binary", "encoding/json", "io/fs", "context",
		"golang.org/x/sys/unix", "nucleus/nsenter", "nucleus/state", "nucleus/harden",
	} {
		assert.NotContains(t, deps, bad)
	}
	for _, d := range deps {
		assert.False(t, strings.Contains(d, "."), "third-party dependency %s", d)
	}
}

func TestSplit(t *testing.T) {
	for _, s := range []string{"", ":", "a", "a:b", ":a::b:", "/bin:/usr/bin"} {
		assert.Equal(t, strings.Split(s, ":"), split(s, ':'), "%q", s)
	}
}
