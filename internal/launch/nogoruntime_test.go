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

// The constructor decodes the config record itself: a record that is not
// one of ours — cut short, of another version, or announcing more than
// MaxConfig — is a failure naming the step, and the grandchild exits
// without running anything.
func TestConstructorRefusesBadConfig(t *testing.T) {
	testutil.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	_, progBytes, err := program(nil, st)
	require.NoError(t, err)
	good := child.AppendConfig(nil, &child.Config{Args: []string{"/bin/true"}, Dir: "/"}, progBytes)
	withSize := func(rec []byte, size int) []byte {
		b := make([]byte, 4, 4+len(rec))
		child.PutConfigSize(b, uint32(size))
		return append(b, rec...)
	}
	for name, tc := range map[string]struct {
		boot []byte
		want string
	}{
		"truncated":      {withSize(good[:len(good)-3], len(good)-3), "read config: config: truncated record"},
		"trailing bytes": {withSize(append(append([]byte{}, good...), 1, 2), len(good)+2), "read config: config: 2 bytes after the record"},
		"other version":  {withSize(append([]byte{9, 9, 9, 9}, good[4:]...), len(good)), "read config: config: version"},
		"too large":      {withSize(nil, child.MaxConfig+1), "read config: config of 1048577 bytes"},
		// A count the rest of the record cannot hold is refused before
		// anything is allocated for it.
		"huge count":   {withSize(append(append([]byte{}, good[:4]...), 0xff, 0xff, 0xff, 0xff), 8), "read config: config: truncated record"},
		"no arguments": {withSize(child.AppendConfig(nil, &child.Config{}, progBytes), len(child.AppendConfig(nil, &child.Config{}, progBytes))), "read config: incomplete config"},
	} {
		t.Run(name, func(t *testing.T) {
			sock, gc := startHeldGrandchild(t, st)
			defer sock.Close()
			_, err := sock.Write(append([]byte{nsenter.Go}, tc.boot...))
			require.NoError(t, err)
			msg, err := nsenter.ReadMessage(sock)
			require.NoError(t, err)
			assert.Equal(t, uint32(nsenter.MsgError), msg.Type)
			assert.Contains(t, msg.Text, tc.want)
			var ws unix.WaitStatus
			_, err = unix.Wait4(gc, &ws, 0, nil)
			require.NoError(t, err)
			assert.Equal(t, 1, ws.ExitStatus())
		})
	}
}
