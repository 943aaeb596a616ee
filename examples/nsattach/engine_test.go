package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
)

// TestByName attaches to a Docker container by its name, ID prefix and
// through --list, as `docker exec NAME` users type it: DOCKER_HOST names a
// private dockerd, CONTAINERD_ADDRESS its containerd (whose runc options
// give the runtime root).
func TestByName(t *testing.T) {
	testcontainer.RequireRoot(t)
	dir := t.TempDir()
	tarball, err := testcontainer.RootfsTar(dir)
	require.NoError(t, err)
	dd := testcontainer.StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	name := "nsattach-web"
	id := dd.Run(t, name, "nucleus-test:1")
	env := append(os.Environ(), "DOCKER_HOST="+dd.Host, "CONTAINERD_ADDRESS="+dd.ContainerdSocket)
	nsattachEnv := func(args ...string) result {
		cmd := nsattachCmd(t, args...)
		cmd.Env = env
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		_ = cmd.Run()
		return result{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
	}

	want, err := dd.Exec(nil, name, "hostname")
	require.NoError(t, err)
	assert.Equal(t, result{want.Stdout, "", 0}, nsattachEnv(name, "hostname"))
	assert.Equal(t, result{want.Stdout, "", 0}, nsattachEnv(id[:8], "--", "hostname"))
	assert.Equal(t, 42, nsattachEnv(name, "sh", "-c", "exit 42").code)

	list := nsattachEnv("--list")
	assert.Equal(t, 0, list.code, list.stderr)
	assert.Regexp(t, `(?m)^docker +`+name+` +`+id[:12]+` +[1-9][0-9]* +running$`, list.stdout)

	r := nsattachEnv(name+"-absent", "true")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, `no container "nsattach-web-absent"; searched docker (`+dd.Host+")")
}
