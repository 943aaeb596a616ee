package harden

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testutil"
	"nucleus/state"
)

// No fd but 0, 1 and 2 reaches the command, even fds the caller passed
// without close-on-exec (CVE-2024-21626: a leaked host fd). The listing
// shows 0 1 2 and 3, the directory ls itself opened.
func TestNoLeakedFds(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	dir, err := os.Open(t.TempDir())
	require.NoError(t, err)
	defer dir.Close()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	for _, id := range []state.ProcessIdentity{{UID: 0, GID: 0}, {UID: 1000, GID: 1000}} {
		out := mustRun(t, childSpec{
			Program:  compile(t, Policy{}),
			Identity: id,
			Argv:     []string{busybox, "ls", "/proc/self/fd"},
		}, childOpts{ExtraFiles: []*os.File{dir, pr, pw}})
		assert.Equal(t, "0\n1\n2\n3\n", out, "uid %d", id.UID)
	}
}
