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
	name := "nsattach-web"
	dd, id := testcontainer.StartDockerContainer(t, name)
	env := append(os.Environ(), dd.Env()...)
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
