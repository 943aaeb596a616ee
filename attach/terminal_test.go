package attach_test

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// attachOnPTY attaches testutil.StdioProbe with a real pseudo-terminal's
// slave given to WithStdio as stdin, stdout and stderr, and returns what
// came out of the master.
func attachOnPTY(t *testing.T, opts ...attach.Option) string {
	t.Helper()
	_, st := container(t, testcontainer.Options{})
	master, slave := testutil.OpenPTY(t)
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // EIO once every slave fd is closed
		out <- strings.ReplaceAll(string(b), "\r\n", "\n")
	}()
	code, err := attach.Attach(st, []string{"sh", "-c", testutil.StdioProbe},
		append([]attach.Option{attach.WithStdio(slave, slave, slave)}, opts...)...)
	slave.Close()
	text := <-out
	require.NoError(t, err, text)
	require.Equal(t, 0, code, text)
	return text
}

// Issue 9 item 2: a terminal given to WithStdio reaches the command only
// through pipes, so no process in the container can open it through
// /proc/<command>/fd/N (and TIOCSTI into the caller's shell, read the
// user's keys, change the terminal's modes). The output still arrives on
// the terminal.
func TestTerminalStdioGoesThroughPipes(t *testing.T) {
	text := attachOnPTY(t)
	for _, fd := range []string{"0", "1", "2"} {
		assert.Regexp(t, `(?m)^fd`+fd+`=pipe:\[\d+\]$`, text, "fd %s of the command", fd)
		assert.Contains(t, text, "notty"+fd+"\n")
	}
	assert.NotContains(t, text, "/dev/pts")
}

// WithInheritTerminal is the explicit opt-in: the terminal itself is the
// command's stdio.
func TestWithInheritTerminal(t *testing.T) {
	text := attachOnPTY(t, attach.WithInheritTerminal())
	for _, fd := range []string{"0", "1", "2"} {
		assert.Regexp(t, `(?m)^tty`+fd+`$`, text, "fd %s of the command", fd)
		assert.NotRegexp(t, `(?m)^fd`+fd+`=pipe:`, text)
	}
}
