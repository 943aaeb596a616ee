package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// atDefaultPaths makes cmd run in a private mount namespace where /run is
// a fresh tmpfs and each bind (a test engine's private directory, the
// default directory below /run where the engine keeps it on a node) shows
// the test's engine at the engine's default place: nsattach, which takes no
// engine options, then finds its containers as it would on a node where
// the engine runs. Nothing changes outside: the namespace ends with cmd.
func atDefaultPaths(t *testing.T, cmd *exec.Cmd, binds ...[2]string) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Missing(t, "unshare (util-linux) not installed")
	}
	script := `set -e; mount -t tmpfs -o mode=0755 nucleus-test-run /run
while [ "$1" != -- ]; do mkdir -p "$2"; mount --bind "$1" "$2"; shift 2; done
shift; exec "$@"`
	args := []string{"--mount", "--propagation", "private", "sh", "-c", script, "sh"}
	for _, b := range binds {
		args = append(args, b[0], b[1])
	}
	cmd.Args = append(append(append([]string{unshare}, args...), "--"), cmd.Args...)
	cmd.Path = unshare
}

// TestByName attaches to a Docker container by its name, ID prefix and
// through --list, as `docker exec NAME` users type it: DOCKER_HOST names a
// private dockerd, whose exec root is where dockerd keeps it by default
// (/run/docker, see atDefaultPaths) for the runtime root of its containers.
func TestByName(t *testing.T) {
	name := "nsattach-web"
	dd, id := testcontainer.StartDockerContainer(t, name)
	env := append(os.Environ(), dd.Env()...)
	nsattachEnv := func(args ...string) result {
		cmd := nsattachCmd(t, args...)
		atDefaultPaths(t, cmd, [2]string{dd.ExecRoot, "/run/docker"})
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

// TestByKubernetesName attaches to a CRI pod's container by
// namespace/pod/container with nsattach, which links no CRI or containerd
// client: the name comes from the annotations containerd's CRI plugin
// writes into the container's bundle, found where containerd keeps its
// shims' runtime roots and task bundles by default (see atDefaultPaths).
// hostname and the pod's pid 1 print what CRI's ExecSync prints (by that
// name, by unique ID prefix and by namespace/id); --list names the
// container; the pod's sandbox (pause) container answers to no name of
// the pod.
func TestByKubernetesName(t *testing.T) {
	tarball, err := testcontainer.RootfsTar(t.TempDir())
	require.NoError(t, err)
	c := testcontainer.StartContainerd(t, tarball)
	ns := fmt.Sprintf("nsattach-%d", os.Getpid())
	// The sandbox image only sleeps: a pod of the host's network that
	// holds no port other tests need.
	p := c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: ns, Pod: "web", Container: "server", Image: c.SandboxImage})
	nsattachAt := func(args ...string) result {
		cmd := nsattachCmd(t, args...)
		atDefaultPaths(t, cmd, [2]string{c.RuncRoot, "/run/containerd/runc"},
			[2]string{c.State + "/io.containerd.runtime.v2.task", "/run/containerd/io.containerd.runtime.v2.task"})
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		_ = cmd.Run()
		return result{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
	}

	// The pod shares the node's network and UTS namespaces: its PID
	// namespace (CRI's default, the pod's: pid 1 is the sandbox's sleep)
	// tells it from the host.
	argv := []string{"sh", "-c", "hostname; tr '\\0' ' ' </proc/1/cmdline"}
	want, err := p.RS.ExecSync(t.Context(), &cri.ExecSyncRequest{ContainerId: p.ContainerID, Cmd: argv, Timeout: 20})
	require.NoError(t, err)
	require.Contains(t, string(want.GetStdout()), "/bin/sleep infinity")
	name := ns + "/web/server"
	assert.Equal(t, result{string(want.GetStdout()), "", 0}, nsattachAt(append([]string{name, "--"}, argv...)...))
	assert.Equal(t, result{string(want.GetStdout()), "", 0}, nsattachAt(append([]string{p.ContainerID[:16], "--"}, argv...)...))
	assert.Equal(t, result{string(want.GetStdout()), "", 0}, nsattachAt(append([]string{"k8s.io/" + p.ContainerID, "--"}, argv...)...))

	list := nsattachAt("--list")
	assert.Equal(t, 0, list.code, list.stderr)
	assert.Regexp(t, `(?m)^runtime +`+regexp.QuoteMeta(name)+` +`+p.ContainerID[:12]+` +[1-9][0-9]* +running$`, list.stdout)
	assert.Regexp(t, `(?m)^runtime +k8s.io/`+p.PodID+` +`+p.PodID[:12]+` +[1-9][0-9]* +running$`, list.stdout)

	r := nsattachAt(ns+"/web/POD", "true")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, `no container "`+ns+`/web/POD"; searched containerd's runc (/run/containerd/runc)`)
}
