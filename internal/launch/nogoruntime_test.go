package launch

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/child"
	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/nsenter"
)

// No Go runtime in the container: after the go-ahead the grandchild reads
// its config, hardens and execs from the constructor. Held here between the
// go-ahead and the config, it is still one thread in the kernel's view —
// the Go runtime, which starts sysmon and its Ms before any Go code runs,
// never started — and once the config comes it executes the command, which
// ends with the command's status (nothing went back into Go to report).
func TestNoGoRuntimeInTheContainer(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	sock, gc := startHeldGrandchild(t, st)
	defer sock.Close()

	_, err = sock.Write([]byte{nsenter.Go})
	require.NoError(t, err)
	// The grandchild now blocks reading the config's length.
	// The grandchild now blocks in read(2) of the config's length
	// (/proc/PID/syscall starts with the number of the blocking call).
	require.True(t, testutil.Within(10*time.Second, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(gc) + "/syscall")
		f := strings.Fields(string(b))
		return err == nil && len(f) > 0 && f[0] == strconv.Itoa(unix.SYS_READ)
	}), "the grandchild never blocked for its config")
	s, err := proc.ReadStatus(gc)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Threads, "a Go runtime started in the grandchild")

	_, progBytes, err := program(nil, st)
	require.NoError(t, err)
	cfg := child.AppendConfig(make([]byte, 4), &child.Config{Args: []string{"/bin/sh", "-c", "exit 7"}, Dir: "/"}, progBytes)
	child.PutConfigSize(cfg, uint32(len(cfg)-4))
	_, err = sock.Write(cfg)
	require.NoError(t, err)
	var ws unix.WaitStatus
	_, err = unix.Wait4(gc, &ws, 0, nil)
	require.NoError(t, err)
	assert.Equal(t, 7, ws.ExitStatus(), "the command ran and its status came back")
}
