package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/harden"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

const port = 8080

func TestStatusAndResult(t *testing.T) {
	assert.Equal(t, "success", Success.String())
	assert.Equal(t, "failure", Failure.String())
	assert.Equal(t, "unknown", Unknown.String())
	assert.Equal(t, "Status(7)", Status(7).String())
	assert.True(t, Result{Status: Success}.Healthy())
	assert.False(t, Result{Status: Failure}.Healthy())
	assert.False(t, Result{}.Healthy(), "the zero Result is Unknown")
	assert.Equal(t, "exec", Exec{}.Kind())
	assert.Equal(t, "tcp", TCP{}.Kind())
	assert.Equal(t, "http", (&HTTP{}).Kind())
	assert.Same(t, state.ErrNotRunning, ErrNotRunning)
	assert.Same(t, state.ErrUnsupported, ErrUnsupported)
}

func TestCapWriter(t *testing.T) {
	w := &capWriter{max: 10}
	n, err := w.Write([]byte("12345678"))
	assert.Equal(t, 8, n)
	assert.NoError(t, err)
	n, err = w.Write([]byte("abcdef"))
	assert.Equal(t, 6, n, "reports everything written, so copiers keep reading")
	assert.NoError(t, err)
	n, _ = w.Write([]byte("more"))
	assert.Equal(t, 4, n)
	assert.Equal(t, "12345678ab", string(w.bytes()))
	assert.True(t, w.truncated)
}

func TestHTTPRequest(t *testing.T) {
	ctx := context.Background()
	req, err := HTTP{Port: 80}.request(ctx)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:80/", req.URL.String())
	assert.Equal(t, UserAgent, req.Header.Get("User-Agent"))
	assert.Equal(t, "*/*", req.Header.Get("Accept"))
	assert.Equal(t, http.MethodGet, req.Method)

	req, err = HTTP{Port: 8443, Scheme: "HTTPS", Host: "::1", Path: "ready?full=1",
		Header: http.Header{"Host": {"example.test"}, "User-Agent": {"mine"}, "X-Probe": {"a", "b"}}}.request(ctx)
	require.NoError(t, err)
	assert.Equal(t, "https://[::1]:8443/ready?full=1", req.URL.String())
	assert.Equal(t, "example.test", req.Host)
	assert.Equal(t, "mine", req.Header.Get("User-Agent"))
	assert.Equal(t, []string{"a", "b"}, req.Header.Values("X-Probe"))
	assert.Empty(t, req.Header.Get("Host"))

	for in, want := range map[string]string{
		"http://127.0.0.1/x": "127.0.0.1:80", "https://[::1]/": "[::1]:443", "http://10.0.0.1:8080/": "10.0.0.1:8080",
	} {
		u, err := url.Parse(in)
		require.NoError(t, err)
		assert.Equal(t, want, dialAddr(u), in)
	}

	for _, p := range []HTTP{{Port: 0}, {Port: 70000}, {Port: 80, Scheme: "ftp"}} {
		_, err := p.request(ctx)
		assert.Error(t, err, "%+v", p)
	}
}

// selfState describes this test process, whose network namespace is the
// host's: TCP and HTTP probes of it take the no-switch path and need no
// privilege.
func selfState(t testing.TB) *state.ContainerState {
	t.Helper()
	st, err := state.FromPID(os.Getpid())
	require.NoError(t, err)
	return st
}

func hostPortOf(t testing.TB, u string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://"))
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// HTTP semantics against a server in the caller's own namespace: status
// mapping, same-host redirects followed, headers sent, body capped, TLS not
// verified.
func TestHTTPSemanticsOnHost(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var gotHost string
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got, gotHost = r.Header.Clone(), r.Host
		mu.Unlock()
		fmt.Fprint(w, "fine")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status/500", http.StatusFound)
	})
	mux.HandleFunc("/status/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 50000)))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tls := httptest.NewTLSServer(mux)
	defer tls.Close()
	p := hostPortOf(t, srv.URL)
	st := selfState(t)
	run := func(h HTTP, timeout time.Duration, opts ...Option) Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, err := Run(ctx, st, h, opts...)
		require.NoError(t, err)
		assert.Positive(t, res.Duration)
		return res
	}

	res := run(HTTP{Port: p, Path: "/ok", Header: http.Header{"X-Probe": {"1"}, "Host": {"svc.test"}}}, 2*time.Second)
	assert.Equal(t, Success, res.Status)
	assert.Equal(t, "fine", string(res.Output))
	mu.Lock()
	assert.Equal(t, UserAgent, got.Get("User-Agent"))
	assert.Equal(t, "1", got.Get("X-Probe"))
	assert.Equal(t, "svc.test", gotHost)
	mu.Unlock()

	res = run(HTTP{Port: p, Path: "/redirect"}, 2*time.Second)
	assert.Equal(t, Failure, res.Status, "a same-host redirect is followed to the 500")
	assert.Equal(t, "HTTP 500", res.Reason)

	res = run(HTTP{Port: p, Path: "/status/500"}, 2*time.Second)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, "HTTP 500", res.Reason)
	assert.Equal(t, "broken\n", string(res.Output))

	res = run(HTTP{Port: p, Path: "/big"}, 2*time.Second)
	assert.Equal(t, Success, res.Status)
	assert.Len(t, res.Output, DefaultMaxOutput)
	res = run(HTTP{Port: p, Path: "/big"}, 2*time.Second, WithMaxOutput(100))
	assert.Len(t, res.Output, 100)

	start := time.Now()
	res = run(HTTP{Port: p, Path: "/slow"}, 300*time.Millisecond)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "timeout")
	assert.Less(t, time.Since(start), 2*time.Second)

	res = run(HTTP{Port: hostPortOf(t, tls.URL), Path: "/ok", Scheme: "https"}, 2*time.Second)
	assert.Equal(t, Success, res.Status, "self-signed certificate accepted: %s", res.Reason)

	// A closed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res = run(HTTP{Port: closed}, 2*time.Second)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "connection refused")
}

func TestTCPOnHost(t *testing.T) {
	_, port, err := net.SplitHostPort(testutil.AcceptAndClose(t))
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	res, err := RunProbe(os.Getpid(), TCP{Port: p}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status)

	res, err = RunProbe(os.Getpid(), TCP{Port: p, Host: "192.0.2.1"}, 200*time.Millisecond)
	require.NoError(t, err, "an unreachable or silent address is the target's answer")
	assert.Equal(t, Failure, res.Status)
	assert.NotEmpty(t, res.Reason)

	// Cancellation is not the target's fault.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = Run(ctx, selfState(t), TCP{Port: p})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, Unknown, res.Status)

	// An expired deadline is a timeout of the probe.
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	res, err = Run(ctx, selfState(t), TCP{Port: p})
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
}

func TestSetupErrorsAreUnknown(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if _, err := os.Stat("/bin/true"); err != nil {
		cmd = exec.Command("/bin/busybox", "true")
	}
	require.NoError(t, cmd.Run())
	dead := cmd.Process.Pid

	for _, p := range []Probe{TCP{Port: 80}, HTTP{Port: 80}, Exec{Command: []string{"true"}}} {
		res, err := RunProbe(dead, p, time.Second)
		require.Error(t, err, p.Kind())
		assert.ErrorIs(t, err, ErrNotRunning, p.Kind())
		assert.Equal(t, Unknown, res.Status, p.Kind())
		assert.Positive(t, res.Duration)
	}
	_, err := RunProbe(-1, TCP{Port: 80}, 0)
	assert.ErrorIs(t, err, ErrNotRunning)

	st := selfState(t)
	stale := *st
	stale.StartTicks++
	res, err := Run(context.Background(), &stale, TCP{Port: 80})
	assert.ErrorIs(t, err, ErrStale)
	assert.Equal(t, Unknown, res.Status)

	paused := *st
	paused.Status = state.StatusPaused
	res, err = Run(context.Background(), &paused, HTTP{Port: 80})
	assert.ErrorIs(t, err, ErrNotRunning)
	assert.Equal(t, Unknown, res.Status)

	noTicks := *st
	noTicks.StartTicks = 0
	_, err = Run(context.Background(), &noTicks, TCP{Port: 80})
	assert.ErrorIs(t, err, ErrStale)

	// A state that says gVisor for a process that is no runsc sandbox, with
	// no runsc root to verify the claim in (TestGVisorStateOfAnotherProcess
	// has one).
	gv := *st
	gv.UsingGVisor = true
	res, err = Run(context.Background(), &gv, TCP{Port: 80})
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.Equal(t, Unknown, res.Status)

	for _, p := range []Probe{nil, TCP{Port: 0}, TCP{Port: 80, Host: "example.com"}, HTTP{Port: -1}, Exec{}} {
		res, err := Run(context.Background(), st, p)
		assert.Error(t, err, "%#v", p)
		assert.Equal(t, Unknown, res.Status)
	}
	_, err = Run(context.Background(), nil, TCP{Port: 80})
	assert.Error(t, err)
}

func TestTCPAndHTTPInContainer(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})

	res, err := RunProbe(c.PID, TCP{Port: port}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status)
	assert.Positive(t, res.Duration)

	res, err = RunProbe(c.PID, TCP{Port: port + 1}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Contains(t, res.Reason, "connection refused")

	res, err = RunProbe(c.PID, HTTP{Port: port, Path: "/healthz"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)

	res, err = RunProbe(c.PID, HTTP{Port: port, Path: "/status/404"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Failure, res.Status)
	assert.Equal(t, "HTTP 404", res.Reason)

	// Run with a state from the container, then after the container is
	// gone: the state's PID no longer names a running process.
	st, err := c.State()
	require.NoError(t, err)
	res, err = Run(context.Background(), st, TCP{Port: port})
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status)

	require.NoError(t, c.Close())
	res, err = Run(context.Background(), st, TCP{Port: port})
	assert.ErrorIs(t, err, ErrNotRunning)
	assert.Equal(t, Unknown, res.Status)
}

func TestRootlessContainerTCP(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Rootless: true, Port: port})
	st, err := state.FromPID(c.PID)
	require.NoError(t, err)
	require.True(t, st.Rootless, "FromPID sees the user namespace")

	res, err := RunProbe(c.PID, TCP{Port: port}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)
	res, err = RunProbe(c.PID, HTTP{Port: port, Path: "/healthz"}, time.Second)
	require.NoError(t, err)
	assert.Equal(t, Success, res.Status, res.Reason)
}

// Hundreds of probes: afterwards every thread of this process is still in
// its own network namespace, and descriptors and goroutines are back to
// where they were.
func TestManyProbesLeaveNoTrace(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})
	st, err := c.State()
	require.NoError(t, err)
	// Warm up once (lazy runtime and package state), then measure.
	_, err = Run(context.Background(), st, HTTP{Port: port, Path: "/healthz"})
	require.NoError(t, err)

	own := testutil.NetNS(t)
	fds := testutil.FDCount(t)
	gs := runtime.NumGoroutine()

	probes := []Probe{TCP{Port: port}, TCP{Port: port + 1}, HTTP{Port: port, Path: "/healthz"}, HTTP{Port: port, Path: "/status/404"}}
	want := []Status{Success, Failure, Success, Failure}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, 300)
	for i := 0; i < 300; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			k := i % len(probes)
			res, err := Run(ctx, st, probes[k])
			if err == nil && res.Status != want[k] {
				err = fmt.Errorf("%s probe %d: %v %s", probes[k].Kind(), i, res.Status, res.Reason)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Empty(t, testutil.ThreadsOutsideNetNS(t, own), "threads left in a foreign network namespace")
	assert.True(t, testutil.Within(2*time.Second, func() bool { return testutil.FDCount(t) <= fds }),
		"fds: %d before, %d after", fds, testutil.FDCount(t))
	assert.True(t, testutil.Within(2*time.Second, func() bool { return runtime.NumGoroutine() <= gs+2 }),
		"goroutines: %d before, %d after", gs, runtime.NumGoroutine())
}

func TestExecProbes(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})

	t.Run("true", func(t *testing.T) {
		res, err := RunProbe(c.PID, Exec{Command: []string{"true"}}, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, Success, res.Status, res.Reason)
		assert.Zero(t, res.ExitCode)
	})
	t.Run("failure with output", func(t *testing.T) {
		res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "echo sick; echo worse >&2; exit 3"}}, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, Failure, res.Status)
		assert.Equal(t, 3, res.ExitCode)
		assert.Equal(t, "exit status 3", res.Reason)
		assert.Contains(t, string(res.Output), "sick")
		assert.Contains(t, string(res.Output), "worse", "stderr is captured too")
	})
	t.Run("output capped", func(t *testing.T) {
		start := time.Now()
		res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "head -c 50000 /dev/zero | tr '\\0' x"}}, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, Success, res.Status, res.Reason)
		assert.Len(t, res.Output, DefaultMaxOutput)
		assert.Equal(t, strings.Repeat("x", DefaultMaxOutput), string(res.Output))
		assert.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("env and identity", func(t *testing.T) {
		res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "echo $GREETING $(id -u)"},
			Env: []string{"GREETING=hi"}, Identity: &state.ProcessIdentity{UID: 1000, GID: 1000}}, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, Success, res.Status, "%s: %s", res.Reason, res.Output)
		assert.Equal(t, "hi 1000\n", string(res.Output))
	})
	t.Run("timeout kills the process group", func(t *testing.T) {
		start := time.Now()
		res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "sleep 301 & sleep 302"}}, 400*time.Millisecond)
		el := time.Since(start)
		require.NoError(t, err)
		assert.Equal(t, Failure, res.Status)
		assert.Equal(t, "timeout", res.Reason)
		assert.Less(t, el, 1500*time.Millisecond)
		assert.GreaterOrEqual(t, el, 400*time.Millisecond)
		assert.True(t, testutil.Within(2*time.Second, func() bool { return len(testutil.InPIDNamespace(t, c.PID, "sleep")) == 0 }),
			"left in the container: %v", testutil.InPIDNamespace(t, c.PID, "sleep"))
		assert.Empty(t, testutil.ZombieChildren(t))
	})
	t.Run("background child killed after a normal exit", func(t *testing.T) {
		start := time.Now()
		res, err := RunProbe(c.PID, Exec{Command: []string{"sh", "-c", "sleep 303 & exit 0"}}, 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, Success, res.Status, res.Reason)
		assert.Less(t, time.Since(start), 1500*time.Millisecond)
		assert.True(t, testutil.Within(2*time.Second, func() bool { return len(testutil.InPIDNamespace(t, c.PID, "sleep")) == 0 }),
			"left in the container: %v", testutil.InPIDNamespace(t, c.PID, "sleep"))
		assert.Empty(t, testutil.ZombieChildren(t))
	})
	// A command that cannot run is the container's broken health check: a
	// Failure saying why, with the exit code a shell gives it (kubelet sees
	// the runtime's exec fail the same way) — not a discarded Unknown.
	t.Run("cannot run", func(t *testing.T) {
		require.NoError(t, os.WriteFile(c.Rootfs+"/notexec", []byte("#!/bin/sh\n"), 0o644))
		bb, err := os.ReadFile(c.Rootfs + "/bin/busybox")
		require.NoError(t, err)
		require.NoError(t, os.Mkdir(c.Rootfs+"/drop", 0o755))
		require.NoError(t, os.WriteFile(c.Rootfs+"/drop/true", bb, 0o755)) // busybox runs as its name
		// A policy whose Landlock rules allow exec only under /bin (the
		// same in every mode: an explicit list replaces the defaults).
		binOnly := WithPolicy(harden.Policy{Landlock: []harden.PathRule{{Path: "/bin", Access: harden.ReadExec}}})
		for _, tc := range []struct {
			argv   []string
			opts   []Option
			code   int
			reason string
		}{
			{[]string{"/no/such/probe"}, nil, 127, `cannot run: exec "/no/such/probe": no such file or directory`},
			{[]string{"no-such-probe"}, nil, 127, `cannot run: exec "no-such-probe": not found in PATH`},
			{[]string{"/notexec"}, nil, 126, `cannot run: exec "/notexec": permission denied`},
			// Executable, but the policy allows no exec there.
			{[]string{"/drop/true"}, []Option{binOnly}, 126, `cannot run: exec "/drop/true": permission denied: refused by Landlock`},
		} {
			res, err := RunProbe(c.PID, Exec{Command: tc.argv}, 5*time.Second, tc.opts...)
			require.NoError(t, err, "%v", tc.argv)
			assert.Equal(t, Failure, res.Status, "%v", tc.argv)
			assert.Equal(t, tc.code, res.ExitCode, "%v", tc.argv)
			// The reason starts with what failed; the rest names the PATH
			// searched or the layer that refused.
			assert.True(t, strings.HasPrefix(res.Reason, tc.reason), "%v: reason %q, want it to start with %q", tc.argv, res.Reason, tc.reason)
		}
		// The same file runs when the policy allows exec there, and /bin
		// does under binOnly: it was the policy that refused it.
		res, err := RunProbe(c.PID, Exec{Command: []string{"/drop/true"}}, 5*time.Second,
			WithPolicy(harden.Policy{Landlock: []harden.PathRule{{Path: "/", Access: harden.ReadExec}}}))
		require.NoError(t, err)
		assert.Equal(t, Success, res.Status, res.Reason)
		res, err = RunProbe(c.PID, Exec{Command: []string{"/bin/true"}}, 5*time.Second, binOnly)
		require.NoError(t, err)
		assert.Equal(t, Success, res.Status, res.Reason)
	})
}

func TestRunRespectsCancelForExec(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := Run(ctx, st, Exec{Command: []string{"sleep", "304"}})
	assert.True(t, errors.Is(err, context.Canceled), "err = %v", err)
	assert.Equal(t, Unknown, res.Status)
	assert.True(t, testutil.Within(2*time.Second, func() bool { return len(testutil.InPIDNamespace(t, c.PID, "sleep")) == 0 }))
}

// RunProbe recognises a gVisor sandbox supervisor from a bare PID (through
// state.FromPID) and never enters its namespaces, which are not the
// guest's: with a runsc root that does not exist there is no runsc exec,
// and the default network (gVisor's own stack) has no address to dial on
// the host side. See gvisor_test.go for real sandboxes.
func TestRunProbeRefusesGVisorSandbox(t *testing.T) {
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{"runsc-sandbox", "--root=/nonexistent", "boot", "--bundle=/nonexistent", "sandbox-1"},
		Env:  append(os.Environ(), fakeSandboxEnv+"=1"),
	}
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	// Wait until the child has exec'd (its command line is the new one).
	require.True(t, testutil.Within(5*time.Second, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
		return err == nil && strings.HasPrefix(string(b), "runsc-sandbox\x00")
	}))
	for _, p := range []Probe{TCP{Port: 80}, HTTP{Port: 80}, Exec{Command: []string{"true"}}} {
		res, err := RunProbe(cmd.Process.Pid, p, time.Second)
		assert.ErrorIs(t, err, ErrUnsupported, p.Kind())
		assert.Equal(t, Unknown, res.Status, p.Kind())
	}
}
