package child

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/nsenter" // defines nucleus_nsenter_joined, which the dispatch reads
)

func TestLookPath(t *testing.T) {
	p, err := lookPath("sh", []string{"PATH=relative:/nonexistent:/bin"})
	require.NoError(t, err)
	assert.Equal(t, "/bin/sh", p)
	_, err = lookPath("no-such-command-here", []string{"PATH=/bin"})
	assert.ErrorIs(t, err, errNotFound)
	_, err = lookPath("passwd", []string{"PATH=/etc"})
	assert.ErrorIs(t, err, errNotFound, "a file without an execute bit is not a command")
	p, err = lookPath("sh", []string{"PATH=/bin", "PATH=/nonexistent"})
	require.NoError(t, err, "the first PATH counts, as for getenv")
	assert.Equal(t, "/bin/sh", p)
	p, err = lookPath("./x", nil)
	require.NoError(t, err)
	assert.Equal(t, "./x", p)
}

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

// readFull tells an empty stream from a short one, as io.ReadFull does.
func TestReadFull(t *testing.T) {
	var p [2]int
	require.NoError(t, syscall.Pipe2(p[:], syscall.O_CLOEXEC))
	defer syscall.Close(p[0])
	_, err := syscall.Write(p[1], []byte{1, 2})
	require.NoError(t, err)
	syscall.Close(p[1])
	var b [4]byte
	assert.EqualError(t, readFull(p[0], b[:]), "unexpected EOF")
	assert.EqualError(t, readFull(p[0], b[:]), "EOF")
}

func TestSplit(t *testing.T) {
	for _, s := range []string{"", ":", "a", "a:b", ":a::b:", "/bin:/usr/bin"} {
		assert.Equal(t, strings.Split(s, ":"), split(s, ':'), "%q", s)
	}
}
