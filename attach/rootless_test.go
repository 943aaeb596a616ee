package attach_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
)

// asUID runs this test binary as uid (a copy any uid may execute) so that it
// attaches to the container in js, and returns its exit code, stdout and
// stderr.
func asUID(t *testing.T, uid uint32, js []byte) (int, string, string) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	// t.TempDir's parent is private to root: a directory of its own.
	dir, err := os.MkdirTemp("", "nucleus-attach-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "attach.test")
	src, err := os.Open(self)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = []string{childEnv + "=" + string(js)}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !assert.ErrorAs(t, err, &ee) {
		return -1, "", err.Error()
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// The unprivileged owner of a rootless container attaches to it; another
// unprivileged uid is refused before any kernel call; root attaches too.
func TestRootlessOwnerAttaches(t *testing.T) {
	c, st := container(t, testcontainer.Options{Rootless: true, Hostname: "rootless"})
	require.True(t, st.Rootless)
	require.Equal(t, c.OwnerUID, st.CreatorUID)
	js, err := json.Marshal(st)
	require.NoError(t, err)

	code, out, errOut := asUID(t, c.OwnerUID, js)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Equal(t, "0\nrootless\n", out, "the owner is root inside")

	code, out, errOut = asUID(t, 4321, js)
	assert.Equal(t, 99, code, "stdout: %s", out)
	assert.Contains(t, errOut, "attach: uid 4321 is neither root nor the creator")
	assert.Contains(t, errOut, "permission denied")

	code, out = run(t, st, []string{"sh", "-c", "id -u; hostname"})
	assert.Equal(t, 0, code)
	assert.Equal(t, "0\nrootless\n", out)
}
