package probe

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

func TestHealthString(t *testing.T) {
	assert.Equal(t, "unknown", HealthUnknown.String())
	assert.Equal(t, "healthy", Healthy.String())
	assert.Equal(t, "unhealthy", Unhealthy.String())
}

func TestMonitorDefaults(t *testing.T) {
	m := NewMonitor(MonitorConfig{})
	assert.Equal(t, 10*time.Second, m.cfg.Interval)
	assert.Equal(t, time.Second, m.cfg.Timeout)
	assert.Equal(t, time.Duration(0), m.cfg.StartPeriod)
	assert.Equal(t, 3, m.cfg.FailureThreshold)
	assert.Equal(t, 1, m.cfg.SuccessThreshold)
	assert.Equal(t, 16, m.cfg.Concurrency)
}

func TestMonitorRejectsBadTargets(t *testing.T) {
	st := selfState(t)
	for _, ts := range [][]Target{
		{{Name: "", State: st, Probe: TCP{Port: 1}}},
		{{Name: "a", State: st, Probe: TCP{Port: 1}}, {Name: "a", State: st, Probe: TCP{Port: 1}}},
		{{Name: "a", Probe: TCP{Port: 1}}},
		{{Name: "a", State: st}},
	} {
		m := NewMonitor(MonitorConfig{}, ts...)
		ch := m.Transitions()
		assert.Error(t, m.Run(context.Background()))
		_, open := <-ch
		assert.False(t, open, "channel closed when Run returns")
	}
	m := NewMonitor(MonitorConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, m.Run(ctx))
	assert.Error(t, m.Run(ctx), "second Run")
}

// expect waits for the next transition of name and checks its endpoints.
func expect(t *testing.T, ch <-chan Transition, name string, from, to Health) Transition {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case tr, ok := <-ch:
			require.True(t, ok, "channel closed")
			if tr.Target != name {
				continue
			}
			require.Equal(t, from.String()+"→"+to.String(), tr.From.String()+"→"+tr.To.String(), "result %+v", tr.Result)
			return tr
		case <-timeout:
			t.Fatalf("no transition %v→%v of %s", from, to, name)
		}
	}
}

// A monitor against listeners in the caller's own namespace: needs no root.
func TestMonitorOnHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	p := ln.Addr().(*net.TCPAddr).Port
	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}
	go serve(ln)
	st := selfState(t)
	gs := runtime.NumGoroutine()

	var mu sync.Mutex
	var seen []Transition
	m := NewMonitor(MonitorConfig{
		Interval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond,
		FailureThreshold: 2, SuccessThreshold: 2, Concurrency: 2,
		OnTransition: func(tr Transition) { mu.Lock(); seen = append(seen, tr); mu.Unlock() },
	},
		Target{Name: "up", State: st, Probe: TCP{Port: p}},
		Target{Name: "down", State: st, Probe: TCP{Port: 1}},
	)
	ch := m.Transitions()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	// Two different targets interleave on the channel; follow each.
	got := map[string][]Transition{}
	for len(got["up"]) < 1 || len(got["down"]) < 1 {
		select {
		case tr := <-ch:
			got[tr.Target] = append(got[tr.Target], tr)
		case <-time.After(10 * time.Second):
			t.Fatal("no transitions")
		}
	}
	assert.Equal(t, Healthy, got["up"][0].To)
	assert.Equal(t, HealthUnknown, got["up"][0].From)
	assert.Equal(t, Unhealthy, got["down"][0].To)
	assert.Equal(t, Healthy, m.Health("up"))
	assert.Equal(t, HealthUnknown, m.Health("nope"))

	ln.Close()
	tr := expect(t, ch, "up", Healthy, Unhealthy)
	assert.Equal(t, Failure, tr.Result.Status)
	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	defer ln.Close()
	go serve(ln)
	expect(t, ch, "up", Unhealthy, Healthy)

	cancel()
	// Keep draining until Run has returned and closed the channel.
	for range ch {
	}
	require.NoError(t, <-done)
	mu.Lock()
	assert.GreaterOrEqual(t, len(seen), 4, "OnTransition saw every transition")
	mu.Unlock()
	assert.True(t, testutil.Within(2*time.Second, func() bool { return runtime.NumGoroutine() <= gs+2 }),
		"goroutines: %d before Run, %d after", gs, runtime.NumGoroutine())
}

func TestMonitorContainerListener(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})
	st, err := c.State()
	require.NoError(t, err)
	gs := runtime.NumGoroutine()
	fds := testutil.FDCount(t)

	m := NewMonitor(MonitorConfig{
		Interval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond,
		FailureThreshold: 3, SuccessThreshold: 2,
	},
		Target{Name: "tcp", State: st, Probe: TCP{Port: port}},
		Target{Name: "http", State: st, Probe: HTTP{Port: port, Path: "/healthz"}},
	)
	ch := m.Transitions()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	// Follow both targets; each must go Unknown→Healthy, then Unhealthy
	// after the listener stops, then Healthy again after it restarts.
	want := func(from, to Health) {
		t.Helper()
		pending := map[string]bool{"tcp": true, "http": true}
		timeout := time.After(10 * time.Second)
		for len(pending) > 0 {
			select {
			case tr := <-ch:
				require.True(t, pending[tr.Target], "unexpected %+v", tr)
				require.Equal(t, from, tr.From, tr.Target)
				require.Equal(t, to, tr.To, tr.Target)
				delete(pending, tr.Target)
			case <-timeout:
				t.Fatalf("no %v→%v for %v", from, to, pending)
			}
		}
	}
	want(HealthUnknown, Healthy)
	require.NoError(t, c.StopListener())
	stopped := time.Now()
	want(Healthy, Unhealthy)
	// Three failures 50 ms apart cannot happen much faster than 100 ms.
	assert.GreaterOrEqual(t, time.Since(stopped), 90*time.Millisecond)
	require.NoError(t, c.StartListener())
	want(Unhealthy, Healthy)

	// A container that is gone counts as failing (ErrNotRunning), so the
	// kept namespace handles are dropped and the targets turn Unhealthy.
	require.NoError(t, c.Close())
	want(Healthy, Unhealthy)

	cancel()
	for range ch {
	}
	require.NoError(t, <-done)
	assert.True(t, testutil.Within(2*time.Second, func() bool { return runtime.NumGoroutine() <= gs+2 }),
		"goroutines: %d before Run, %d after", gs, runtime.NumGoroutine())
	assert.LessOrEqual(t, testutil.FDCount(t), fds, "descriptors left open by the monitor")
}
