package attach_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
)

// WithTTY: the command's stdio is a new pseudo-terminal that is also its
// controlling terminal, in a session of its own; its output reaches the
// caller through the master.
func TestTTY(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	var out strings.Builder
	code, err := attach.Attach(st, []string{"sh", "-c", "test -t 0 && test -t 1 && echo isatty; cat /proc/self/stat"},
		attach.WithStdio(nil, &out, nil), attach.WithTTY())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	lines := strings.Split(strings.ReplaceAll(out.String(), "\r\n", "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 2, out.String())
	assert.Equal(t, "isatty", lines[0])
	s, err := proc.ParseStat([]byte(lines[1]))
	require.NoError(t, err)
	f := strings.Fields(lines[1][strings.LastIndexByte(lines[1], ')')+1:])
	ttyNr, err := strconv.Atoi(f[4])
	require.NoError(t, err)
	assert.NotZero(t, ttyNr, "a controlling terminal")
	assert.Equal(t, s.PID, s.Session, "the command leads its own session")
}
