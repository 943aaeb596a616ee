package probe

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// gvisorOnlyInit asserts that the sandbox runs nothing but its PID 1: no
// probe command was left behind.
func gvisorOnlyInit(t *testing.T, c *testcontainer.RunscContainer) {
	t.Helper()
	var ps []testcontainer.SandboxProcess
	if !assert.Eventually(t, func() bool {
		var err error
		ps, err = c.Ps()
		return err == nil && len(ps) == 1
	}, 5*time.Second, 20*time.Millisecond) {
		t.Errorf("processes left in the sandbox: %+v", ps)
	}
}

// Exec probes of a gVisor container by its bare PID: RunProbe finds the
// sandbox (state.FromPID) and runs the command through runsc exec.
func TestGVisorExecProbe(t *testing.T) {
	c := testcontainer.StartRunsc(t, testcontainer.RunscOptions{Hostname: "gvisor-probe"})
	run := func(cmd ...string) (Result, error) {
		return RunProbe(c.PID, Exec{Command: cmd}, 5*time.Second, WithRunsc(c.Runsc))
	}
	res, err := run("hostname")
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status)
	assert.Equal(t, "gvisor-probe\n", string(res.Output))

	res, err = run("sh", "-c", "echo out; echo err >&2; exit 3")
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "exit status 3", res.Reason)
	assert.Equal(t, "out\nerr\n", string(res.Output))

	// What a probe leaves running in the background is killed.
	res, err = run("sh", "-c", "sleep 100 & echo bye")
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status)
	gvisorOnlyInit(t, c)

	// A timeout kills the command and its children in the sandbox.
	start := time.Now()
	res, err = RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "sleep 100 & sleep 100"}}, 300*time.Millisecond, WithRunsc(c.Runsc))
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, "timeout", res.Reason)
	assert.Less(t, time.Since(start), 5*time.Second)
	gvisorOnlyInit(t, c)

	// A cancelled context: Unknown, and nothing left either.
	st, err := c.State()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err = Run(ctx, st, Exec{Command: []string{"sleep", "100"}}, WithRunsc(c.Runsc))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, Unknown, res.Status)
	gvisorOnlyInit(t, c)

	// A command that is not there: a Failure with the reason, as for
	// any container (runsc exec reports it as an exec error).
	res, err = run("no-such-probe")
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, 127, res.ExitCode)
	assert.Contains(t, res.Reason, "cannot run")
	assert.Contains(t, res.Reason, "no-such-probe")
}

// With --network=none the sandbox has only its own loopback, which no host
// socket reaches: TCP and HTTP probes are Unknown with ErrUnsupported and
// say why, by PID and by state.
func TestGVisorNetworkNone(t *testing.T) {
	c := testcontainer.StartRunsc(t, testcontainer.RunscOptions{Listen: "127.0.0.1:8080"})
	st, err := c.State()
	require.NoError(t, err)
	for _, p := range []Probe{TCP{Port: 8080}, HTTP{Port: 8080, Path: "/healthz"}, TCP{Port: 8080, Host: "10.1.2.3"}} {
		res, err := RunProbe(c.PID, p, time.Second)
		assert.ErrorIs(t, err, ErrUnsupported, "%#v", p)
		assert.Equal(t, Unknown, res.Status)
		assert.Contains(t, res.Reason, "--network=none")
		_, err = Run(context.Background(), st, p)
		assert.ErrorIs(t, err, ErrUnsupported, "%#v", p)
	}
	// The server does answer inside the sandbox.
	res, err := RunProbe(c.PID, Exec{Command: []string{"wget", "-q", "-O", "-", "http://127.0.0.1:8080/healthz"}}, 5*time.Second, WithRunsc(c.Runsc))
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, "%s", res.Output)
	assert.Equal(t, "ok\n", string(res.Output))
}

// With --network=host the sandbox's sockets are host sockets in the
// supervisor's network namespace: probes dial there as for any container.
func TestGVisorNetworkHost(t *testing.T) {
	port := testutil.FreePort(t)
	c := testcontainer.StartRunsc(t, testcontainer.RunscOptions{Network: "host", Listen: "127.0.0.1:" + strconv.Itoa(port)})
	require.Eventually(t, func() bool {
		res, _ := RunProbe(c.PID, TCP{Port: port}, time.Second)
		return res.Status == Success
	}, 5*time.Second, 20*time.Millisecond)
	res, err := RunProbe(c.PID, HTTP{Port: port, Path: "/healthz"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)
	assert.Equal(t, "ok\n", string(res.Output))
	res, err = RunProbe(c.PID, HTTP{Port: port, Path: "/status/404"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, "HTTP 404", res.Reason)
	res, err = RunProbe(c.PID, TCP{Port: testutil.FreePort(t)}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "refused")
}

// With gVisor's own network stack on a veth (what a CNI plugin gives a
// pod), runsc moves the address off the interface of the sandbox's network
// namespace: a probe of the sandbox's IP is dialled from the caller's
// namespace, as kubelet dials a pod IP; without an address to dial it is
// Unknown with ErrUnsupported.
func TestGVisorNetworkSandbox(t *testing.T) {
	testcontainer.RequireRunsc(t)
	if _, err := exec.LookPath("ip"); err != nil {
		testutil.Missing(t, "needs ip (iproute2) to make a veth pair")
	}
	pid := os.Getpid()
	ns := fmt.Sprintf("nucleus-gv-%d", pid)
	hostIf, podIf := fmt.Sprintf("ngv%dh", pid), fmt.Sprintf("ngv%dp", pid)
	// 198.18.0.0/15 is for benchmarks (RFC 2544): no real network uses it.
	base := fmt.Sprintf("198.18.%d.%d", (pid>>6)&255, (pid&63)*4)
	hostIP, podIP := ipPlus(base, 1), ipPlus(base, 2)
	ip := func(args ...string) {
		t.Helper()
		out, err := exec.Command("ip", args...).CombinedOutput()
		require.NoError(t, err, "ip %s: %s", strings.Join(args, " "), out)
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", hostIf, "type", "veth", "peer", "name", podIf)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	ip("link", "set", podIf, "netns", ns)
	ip("addr", "add", hostIP+"/30", "dev", hostIf)
	ip("link", "set", hostIf, "up")
	ip("-n", ns, "addr", "add", podIP+"/30", "dev", podIf)
	ip("-n", ns, "link", "set", podIf, "up")
	ip("-n", ns, "link", "set", "lo", "up")

	c := testcontainer.StartRunsc(t, testcontainer.RunscOptions{Network: "sandbox", NetNSPath: "/var/run/netns/" + ns, Listen: "0.0.0.0:8080"})
	out, err := exec.Command("ip", "-n", ns, "-o", "addr", "show", "dev", podIf).CombinedOutput()
	require.NoError(t, err)
	assert.NotContains(t, string(out), podIP, "runsc moved the address into the sandbox")

	require.Eventually(t, func() bool {
		res, _ := RunProbe(c.PID, TCP{Port: 8080, Host: podIP}, time.Second)
		return res.Status == Success
	}, 5*time.Second, 50*time.Millisecond)
	res, err := RunProbe(c.PID, HTTP{Port: 8080, Host: podIP, Path: "/healthz"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)
	res, err = RunProbe(c.PID, TCP{Port: 8081, Host: podIP}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "refused")

	for _, p := range []Probe{TCP{Port: 8080}, HTTP{Port: 8080}, TCP{Port: 8080, Host: "127.0.0.1"}} {
		res, err := RunProbe(c.PID, p, time.Second)
		assert.ErrorIs(t, err, ErrUnsupported, "%#v", p)
		assert.Equal(t, Unknown, res.Status)
		assert.Contains(t, res.Reason, "give the sandbox's IP as Host")
	}
}

func ipPlus(base string, n int) string {
	ip := net.ParseIP(base).To4()
	ip[3] += byte(n)
	return ip.String()
}

// A state that says gVisor for a PID that is no runsc sandbox is refused
// before its command line is read: without a trusted runsc root there is
// nothing to verify the claim with (ErrUnsupported); with one, the PID's
// executable is not runsc (ErrPermission).
func TestGVisorStateOfAnotherProcess(t *testing.T) {
	runsc := testcontainer.RequireRunsc(t)
	st, err := state.FromPID(os.Getpid())
	require.NoError(t, err)
	st.UsingGVisor = true
	_, err = Run(context.Background(), st, TCP{Port: 80}, WithRunsc(runsc))
	assert.ErrorIs(t, err, ErrUnsupported)
	st.RuntimeRoot = t.TempDir()
	res, err := Run(context.Background(), st, TCP{Port: 80}, WithRunsc(runsc))
	assert.ErrorIs(t, err, ErrPermission)
	assert.Equal(t, Unknown, res.Status)
	assert.Contains(t, res.Reason, "/exe")
}

func TestSandboxAddress(t *testing.T) {
	for addr, want := range map[string]bool{"10.0.0.1": true, "fd00::1": true, "::ffff:10.0.0.1": true,
		"": false, "localhost": false, "127.0.0.1": false, "::1": false, "0.0.0.0": false, "::": false, "::ffff:127.0.0.1": false, "pod.local": false} {
		assert.Equal(t, want, sandboxAddress(addr), addr)
	}
}

func TestParseSandboxNetwork(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
		ok   bool
	}{
		{[]string{"runsc-sandbox", "--root=/r", "--network=none", "boot", "--bundle=/b", "id"}, "none", true},
		{[]string{"/usr/bin/runsc", "-network", "host", "boot", "id"}, "host", true},
		{[]string{"runsc-sandbox", "--root", "/r", "boot", "--network=host", "id"}, "sandbox", true},
		{[]string{"runsc-sandbox", "boot", "id"}, "sandbox", true},
		{[]string{"sleep", "--network=none"}, "", false},
		{nil, "", false},
	} {
		got, ok := parseSandboxNetwork(tc.argv)
		assert.Equal(t, tc.ok, ok, "%q", tc.argv)
		assert.Equal(t, tc.want, got, "%q", tc.argv)
	}
}
