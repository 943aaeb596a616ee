package attach_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/probe"
	"nucleus/state"
)

// gvisorVictim is a real gVisor sandbox whose config says uid 1000, holding
// a root-only secret: the target a hostile container tries to redirect an
// attach into.
type gvisorVictim struct {
	c      *testcontainer.RunscContainer
	secret string
}

// The probe command: it prints where it ran (hostname), as whom, and tries
// the victim's secret.
var redirectProbe = []string{"sh", "-c", "hostname; id -u; cat /root/secret"}

func startVictim(t *testing.T) *gvisorVictim {
	t.Helper()
	v := &gvisorVictim{secret: fmt.Sprintf("victim-secret-%d", os.Getpid())}
	v.c = testcontainer.StartRunsc(t, testcontainer.RunscOptions{Hostname: "gvisor-victim", UID: 1000, GID: 1000})
	_, code, err := v.c.ExecWith([]string{"--user", "0:0"}, "sh", "-c", "echo "+v.secret+" > /root/secret && chmod 600 /root/secret")
	require.NoError(t, err)
	require.Equal(t, 0, code)
	// The secret is there for root in the victim, and the victim's own
	// identity (uid 1000) cannot read it.
	out, _, err := v.c.ExecWith([]string{"--user", "0:0"}, "cat", "/root/secret")
	require.NoError(t, err)
	require.Equal(t, v.secret+"\n", out)
	return v
}

// notInVictim asserts that output shows nothing of the victim.
func (v *gvisorVictim) notInVictim(t *testing.T, what, output string) {
	t.Helper()
	assert.NotContains(t, output, v.secret, "%s: the victim's secret leaked", what)
	assert.NotContains(t, output, v.c.Hostname, "%s: the command ran in the victim sandbox", what)
}

// waitArgv0 waits until pid's command line starts with argv0 (the
// container's shell has exec'd the forged process).
func waitArgv0(t *testing.T, pid int, argv0 string) {
	t.Helper()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err == nil && strings.HasPrefix(string(b), argv0+"\x00")
	}, 10*time.Second, 5*time.Millisecond)
}

// Issue 9, item 1: a process of an ordinary (runc) container re-execs itself
// with the argv of the victim's sandbox supervisor, `runsc-sandbox
// --root=<the victim's runsc root> boot <victim id>`. An attach or an exec
// probe aimed at that process, found by its PID or by its runc state, must
// never run in the victim sandbox: the command line is the process's own
// choice, and only what the kernel vouches for (its /proc/PID/exe is the
// runsc binary; `runsc state` in the trusted root reports this very PID)
// may make it a gVisor target. nucleus refuses it, naming the check.
func TestGVisorRedirectFromForgedArgv(t *testing.T) {
	v := startVictim(t)
	forged := []string{"--root=" + v.c.Root, "boot", v.c.ID}
	hostile := testcontainer.StartRunc(t, testcontainer.RuncOptions{
		Hostname: "hostile",
		Args:     append([]string{"/bin/sh", "-c", `exec -a runsc-sandbox /bin/nucleus-testhelper "$@"`, "sh"}, forged...),
	})
	waitArgv0(t, hostile.PID, "runsc-sandbox")

	check := func(t *testing.T, st *state.ContainerState) {
		t.Helper()
		var out, errOut bytes.Buffer
		code, err := attach.Attach(st, redirectProbe, attach.WithRunsc(v.c.Runsc), attach.WithStdio(nil, &out, &errOut))
		v.notInVictim(t, "attach", out.String()+errOut.String())
		require.Error(t, err, "attach ran (exit %d): %q", code, out.String())
		assert.ErrorIs(t, err, attach.ErrPermission)
		assert.Contains(t, err.Error(), fmt.Sprintf("/proc/%d/exe", hostile.PID), "the error names the check")
	}
	t.Run("FromPID", func(t *testing.T) {
		st, err := state.FromPID(hostile.PID)
		require.NoError(t, err)
		check(t, st)
	})
	t.Run("FromOCI", func(t *testing.T) {
		b, err := hostile.State()
		require.NoError(t, err)
		st, err := state.FromOCI(bytes.NewReader(b))
		require.NoError(t, err)
		check(t, st)
	})
	t.Run("ExecProbe", func(t *testing.T) {
		res, err := probe.RunProbe(hostile.PID, probe.Exec{Command: redirectProbe}, 10*time.Second, probe.WithRunsc(v.c.Runsc))
		v.notInVictim(t, "exec probe", string(res.Output)+res.Reason)
		assert.NotEqual(t, probe.Success, res.Status)
		require.Error(t, err)
		assert.ErrorIs(t, err, probe.ErrPermission)
	})
	// A TCP probe reads the sandbox's --network from the command line
	// (host: dial in its namespace; sandbox: from the caller's): only once
	// the claim is verified.
	t.Run("TCPProbe", func(t *testing.T) {
		res, err := probe.RunProbe(hostile.PID, probe.TCP{Host: "192.0.2.1", Port: 80}, 10*time.Second, probe.WithRunsc(v.c.Runsc))
		require.Error(t, err)
		assert.ErrorIs(t, err, probe.ErrPermission)
		assert.Equal(t, probe.Unknown, res.Status)
	})
	onlyInit(t, v.c)

	// The victim itself, by its own runsc state, is attached as its config
	// says (uid 1000, which cannot read the secret): what the hostile
	// container would have got is what the test looks for.
	st, err := v.c.State()
	require.NoError(t, err)
	out, _ := gvAttach(t, v.c, st, []string{"sh", "-c", "hostname; id -u; cat /root/secret 2>/dev/null; true"})
	assert.Equal(t, v.c.Hostname+"\n1000\n", out)
	// By its bare PID too: the identity is process.user of the bundle
	// runsc state reports, never the supervisor's uid 0.
	st, err = state.FromPID(v.c.PID)
	require.NoError(t, err)
	out, _ = gvAttach(t, v.c, st, []string{"id", "-u"})
	assert.Equal(t, "1000\n", out)
	onlyInit(t, v.c)
}

// The same redirect by a process that runs the genuine runsc binary (a
// container into which the host's runsc is mounted): its /proc/PID/exe is
// runsc, so only `runsc state` of the claimed container, which reports the
// victim's own supervisor and not this PID, unmasks it. The process is
// `runsc wait <victim>`, which blocks, with argv[0] runsc-sandbox and a
// "boot" where runsc reads a flag's value.
func TestGVisorRedirectGenuineRunscBinary(t *testing.T) {
	v := startVictim(t)
	dir := t.TempDir() // runsc writes its debug log, named "boot", here
	cmd := &exec.Cmd{
		Path: v.c.Runsc,
		Args: []string{"runsc-sandbox", "--root=" + v.c.Root, "--debug-log", "boot", "wait", v.c.ID},
		Dir:  dir,
	}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitArgv0(t, cmd.Process.Pid, "runsc-sandbox")
	st, err := state.FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	require.True(t, st.UsingGVisor, "the command line claims a sandbox")

	var out, errOut bytes.Buffer
	code, err := attach.Attach(st, redirectProbe, attach.WithRunsc(v.c.Runsc), attach.WithStdio(nil, &out, &errOut))
	v.notInVictim(t, "attach", out.String()+errOut.String())
	require.Error(t, err, "attach ran (exit %d): %q", code, out.String())
	assert.ErrorIs(t, err, attach.ErrPermission)
	assert.Contains(t, err.Error(), "state "+v.c.ID)
	assert.Contains(t, err.Error(), fmt.Sprintf("not pid %d", cmd.Process.Pid), "the error names the check")
	onlyInit(t, v.c)
}
