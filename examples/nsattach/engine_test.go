package main

import (
	"os"
	"sort"
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

	// As the engine's exec, with the container's environment and -u
	// resolved in its /etc/passwd and /etc/group (the groups compared
	// without the primary gid, which Docker lists among them).
	for _, c := range []struct {
		flags []string
		argv  []string
	}{
		{nil, []string{"env"}},
		{[]string{"-u", "1000"}, []string{"sh", "-c", "id -u; id -g; id -G | tr ' ' '\\n' | grep -vx \"$(id -g)\" | sort"}},
	} {
		want, err := dd.Exec(c.flags, name, c.argv...)
		require.NoError(t, err)
		got := nsattachEnv(append(append(c.flags, name, "--"), c.argv...)...)
		assert.Equal(t, result{sortLines(want.Stdout), "", 0}, result{sortLines(got.stdout), got.stderr, got.code}, "%v %v", c.flags, c.argv)
	}

	list := nsattachEnv("--list")
	assert.Equal(t, 0, list.code, list.stderr)
	assert.Regexp(t, `(?m)^docker +`+name+` +`+id[:12]+` +[1-9][0-9]* +running$`, list.stdout)

	r := nsattachEnv(name+"-absent", "true")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, `no container "nsattach-web-absent"; searched docker (`+dd.Host+")")
}

// sortLines sorts lines, whose order (env) no engine promises.
func sortLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}
