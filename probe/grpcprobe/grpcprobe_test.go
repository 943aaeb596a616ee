package grpcprobe_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/probe"
	"nucleus/probe/grpcprobe"
)

var (
	buildOnce sync.Once
	serverBin string
	buildErr  error
)

// healthServer builds ./testdata/healthserver statically, once per test
// process, and returns its path.
func healthServer(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "grpcprobe-test-")
		if err != nil {
			buildErr = err
			return
		}
		serverBin = filepath.Join(dir, "healthserver")
		buildErr = testutil.BuildStatic("./testdata/healthserver", serverBin)
	})
	require.NoError(t, buildErr)
	return serverBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if serverBin != "" && buildErr == nil {
		os.RemoveAll(filepath.Dir(serverBin))
	}
	os.Exit(code)
}

const (
	healthPort = 9000 // the health service
	plainPort  = 9001 // a gRPC server without it
	closedPort = 9002
)

// startServer starts a container running the health server.
func startServer(t *testing.T) *testcontainer.Container {
	t.Helper()
	testcontainer.RequireRoot(t)
	bin := healthServer(t)
	c := testcontainer.New(t, testcontainer.Options{})
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "healthserver"), b, 0o755))
	c.Serve(t, healthPort, "/healthserver", "9000", "9001")
	return c
}

// A real gRPC health server in a container, listening on the container's
// loopback only: every answer of the protocol, and a connection that no
// one accepts.
func TestGRPCHealthInContainer(t *testing.T) {
	c := startServer(t)
	for _, tc := range []struct {
		name   string
		cfg    grpcprobe.Config
		status probe.Status
		reason string
	}{
		{"server SERVING", grpcprobe.Config{Port: healthPort}, probe.Success, ""},
		{"service SERVING", grpcprobe.Config{Port: healthPort, Service: "app"}, probe.Success, ""},
		{"service NOT_SERVING", grpcprobe.Config{Port: healthPort, Service: "sick"}, probe.Failure, "service unhealthy (responded with NOT_SERVING)"},
		{"unknown service", grpcprobe.Config{Port: healthPort, Service: "nope"}, probe.Failure, `service "nope" unknown to the server`},
		{"no health service", grpcprobe.Config{Port: plainPort}, probe.Failure, "does not implement the gRPC health protocol"},
		{"closed port", grpcprobe.Config{Port: closedPort}, probe.Failure, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := probe.RunProbe(c.PID, grpcprobe.Probe(tc.cfg), 5*time.Second)
			require.NoError(t, err)
			assert.Equal(t, tc.status, res.Status, res.Reason)
			assert.Contains(t, res.Reason, tc.reason)
			assert.Positive(t, res.Duration)
		})
	}
	p := grpcprobe.Probe(grpcprobe.Config{Port: healthPort})
	assert.Equal(t, "grpc", p.Kind())

	// Nothing reaches the process's stderr, whatever the server answers
	// (grpc-go logs through a process-wide logger).
	out := testutil.CaptureStderr(t, 200*time.Millisecond, func() {
		for _, cfg := range []grpcprobe.Config{{Port: healthPort}, {Port: healthPort, Service: "nope"}, {Port: plainPort}, {Port: closedPort}} {
			_, _ = probe.RunProbe(c.PID, grpcprobe.Probe(cfg), 5*time.Second)
		}
	})
	assert.Empty(t, out, "written to fd 2")

	// The server is only on the container's loopback: the host's has no
	// such listener, so the probe really dialled inside.
	st, err := c.State()
	require.NoError(t, err)
	require.NoError(t, c.Close())
	res, err := probe.Run(context.Background(), st, p)
	assert.ErrorIs(t, err, probe.ErrNotRunning, "a gone container is the prober's error")
	assert.Equal(t, probe.Unknown, res.Status)
}

// A Monitor takes gRPC targets like any other.
func TestGRPCInMonitor(t *testing.T) {
	c := startServer(t)
	st, err := c.State()
	require.NoError(t, err)
	m := probe.NewMonitor(probe.MonitorConfig{Interval: 20 * time.Millisecond, Timeout: 2 * time.Second, FailureThreshold: 2},
		probe.Target{Name: "up", State: st, Probe: grpcprobe.Probe(grpcprobe.Config{Port: healthPort, Service: "app"})},
		probe.Target{Name: "sick", State: st, Probe: grpcprobe.Probe(grpcprobe.Config{Port: healthPort, Service: "sick"})},
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	ok := assert.Eventually(t, func() bool {
		return m.Health("up") == probe.Healthy && m.Health("sick") == probe.Unhealthy
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	if !ok {
		s, _ := m.Status("sick")
		t.Logf("sick: %+v", s)
	}
	s, _ := m.Status("sick")
	require.NotEmpty(t, s.History)
	assert.True(t, strings.HasPrefix(s.History[0].Reason, "service unhealthy"), s.History[0].Reason)
}
