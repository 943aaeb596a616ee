package main

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// Issue 9 item 2: nsattach run from a terminal without -t must not give the
// command (and so the container, through /proc/<command>/fd/N) an fd of that
// terminal. nsattach's stdin, stdout and stderr are a real pty here; the
// command must see pipes. (TIOCSTI itself is not tried: the command has no
// controlling terminal and, hardened, no CAP_SYS_ADMIN; what matters is that
// no process in the container can reach the terminal at all.)
func TestCallersTerminalNeverReachesContainer(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	master, slave := testutil.OpenPTY(t)
	cmd := nsattachCmd(t, pidArgs(c, nil, "sh", "-c", testutil.StdioProbe)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	require.NoError(t, cmd.Start())
	slave.Close() // EIO on the master once nsattach and the command are done
	out, _ := io.ReadAll(master)
	require.NoError(t, cmd.Wait(), "output: %s", out)
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	for _, fd := range []string{"0", "1", "2"} {
		assert.Regexp(t, `(?m)^fd`+fd+`=pipe:\[\d+\]$`, text, "fd %s of the command", fd)
		assert.Contains(t, text, "notty"+fd+"\n")
	}
	assert.NotContains(t, text, "/dev/pts")
}
