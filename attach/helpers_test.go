package attach_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/state"
)

// container starts a test container and returns it with its state.
func container(t *testing.T, opts testcontainer.Options) (*testcontainer.Container, *state.ContainerState) {
	t.Helper()
	c := testcontainer.New(t, opts)
	st, err := c.State()
	require.NoError(t, err)
	return c, st
}

// run attaches cmd and returns its exit code and combined output.
func run(t *testing.T, st *state.ContainerState, cmd []string, opts ...attach.Option) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := attach.Attach(st, cmd, append([]attach.Option{attach.WithStdio(nil, &out, &out)}, opts...)...)
	require.NoError(t, err, "output: %s", out.String())
	return code, out.String()
}

// fdCount is the number of fds the test process holds.
func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// children lists the PIDs whose parent is the test process: zombies
// included, so a leaked or unreaped child shows.
func children(t *testing.T) []int {
	t.Helper()
	var kids []int
	self := strconv.Itoa(os.Getpid())
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, e := range ents {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == self {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(e)))
			kids = append(kids, pid)
		}
	}
	return kids
}

// inContainer lists the comm of every process in the container's PID
// namespace except its init.
func inContainer(t *testing.T, c *testcontainer.Container) []string {
	t.Helper()
	want, err := os.Readlink("/proc/" + strconv.Itoa(c.PID) + "/ns/pid")
	require.NoError(t, err)
	var comms []string
	ents, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range ents {
		if e == "/proc/"+strconv.Itoa(c.PID) {
			continue
		}
		if ns, err := os.Readlink(e + "/ns/pid"); err != nil || ns != want {
			continue
		}
		comm, _ := os.ReadFile(e + "/comm")
		comms = append(comms, strings.TrimSpace(string(comm)))
	}
	return comms
}
