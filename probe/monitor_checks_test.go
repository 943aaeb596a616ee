package probe

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/harden"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// runMonitor starts m.Run and returns a function that stops it and waits.
func runMonitor(t *testing.T, m *Monitor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// status polls m until the target's status satisfies cond, or fails.
func waitStatus(t *testing.T, m *Monitor, name, what string, cond func(TargetStatus) bool) TargetStatus {
	t.Helper()
	var st TargetStatus
	ok := testutil.Within(10*time.Second, func() bool {
		st, _ = m.Status(name)
		return cond(st)
	})
	require.True(t, ok, "%s: %s never happened; status %+v", name, what, st)
	return st
}

// The case: an exec health check that cannot run (missing binary)
// makes the target Unhealthy after FailureThreshold probes, with the reason
// in the transition — it no longer stays "unknown" for ever.
func TestMonitorExecThatCannotRunIsUnhealthy(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	var mu sync.Mutex
	var trs []Transition
	m := NewMonitor(MonitorConfig{Interval: 20 * time.Millisecond, Timeout: 5 * time.Second, FailureThreshold: 3,
		OnTransition: func(tr Transition) { mu.Lock(); trs = append(trs, tr); mu.Unlock() }},
		Target{Name: "missing", State: st, Probe: Exec{Command: []string{"/no/such/check"}}})
	runMonitor(t, m)
	s := waitStatus(t, m, "missing", "unhealthy", func(s TargetStatus) bool { return s.Health == Unhealthy })
	assert.GreaterOrEqual(t, s.Checks[Liveness].Probes, uint64(3))
	assert.Zero(t, s.Checks[Liveness].ProbeErrors, "a command that cannot run is not a prober error")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, trs)
	assert.Equal(t, HealthUnknown, trs[0].From)
	assert.Equal(t, Unhealthy, trs[0].To)
	assert.Equal(t, 127, trs[0].Result.ExitCode)
	assert.Contains(t, trs[0].Result.Reason, `cannot run: exec "/no/such/check"`)
}

// Probes that cannot run at all (here: a policy the hardening refuses) are
// the prober's errors: logged, counted, and after FailureThreshold of them
// the target is reported as HealthError, not left silently unknown.
func TestMonitorProbeErrorsAreReported(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	var log testutil.SyncBuffer
	m := NewMonitor(MonitorConfig{Interval: 20 * time.Millisecond, Timeout: 5 * time.Second, FailureThreshold: 3,
		Logger:  newTestLogger(&log),
		Options: []Option{WithPolicy(harden.Policy{Landlock: []harden.PathRule{}})}},
		Target{Name: "refused", State: st, Probe: Exec{Command: []string{"true"}}})
	ch := m.Transitions()
	stop := runMonitor(t, m)
	tr := expect(t, ch, "refused", HealthUnknown, HealthError)
	require.Error(t, tr.Err)
	assert.Equal(t, Unknown, tr.Result.Status)
	s, ok := m.Status("refused")
	require.True(t, ok)
	assert.Equal(t, HealthError, s.Health)
	assert.GreaterOrEqual(t, s.Checks[Liveness].ProbeErrors, uint64(3))
	assert.GreaterOrEqual(t, s.Checks[Liveness].Errors, 3)
	assert.NotEmpty(t, s.Checks[Liveness].LastError)
	assert.GreaterOrEqual(t, m.ProbeErrors(), uint64(3))
	go func() {
		for range ch {
		}
	}()
	stop()
	assert.Contains(t, log.String(), "probe error", "every probe error is logged")
}

// A startup probe gates liveness and readiness as kubelet's does: until it
// succeeds neither runs; then it stops, they start, and readiness decides
// Ready apart from Health.
func TestMonitorStartupGatesLivenessAndReadiness(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})
	st, err := c.State()
	require.NoError(t, err)
	fast := Settings{Interval: 20 * time.Millisecond, Timeout: 5 * time.Second, FailureThreshold: 3}
	m := NewMonitor(MonitorConfig{},
		Target{Name: "app", State: st,
			Startup:   &Check{Probe: Exec{Command: []string{"test", "-f", "/started"}}, Settings: fast},
			Probe:     HTTP{Port: port, Path: "/healthz"},
			Settings:  fast,
			Readiness: &Check{Probe: HTTP{Port: port, Path: "/status/404"}, Settings: fast},
		})
	runMonitor(t, m)
	s := waitStatus(t, m, "app", "startup failing", func(s TargetStatus) bool { return s.Checks[Startup].Failures >= 5 })
	assert.False(t, s.Started)
	assert.Equal(t, Unhealthy, s.Health, "a startup probe past its failure threshold makes the target Unhealthy")
	assert.Zero(t, s.Checks[Liveness].Probes, "liveness waits for startup")
	assert.Zero(t, s.Checks[Readiness].Probes, "readiness waits for startup")
	assert.False(t, s.Ready)

	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "started"), nil, 0o644))
	s = waitStatus(t, m, "app", "started and live", func(s TargetStatus) bool { return s.Started && s.Health == Healthy })
	startups := s.Checks[Startup].Probes
	s = waitStatus(t, m, "app", "not ready", func(s TargetStatus) bool { return s.Checks[Readiness].Health == Unhealthy })
	assert.False(t, s.Ready, "readiness fails (404) while liveness passes")
	assert.Equal(t, Healthy, s.Health)
	assert.Equal(t, startups, s.Checks[Startup].Probes, "the startup probe stopped once it succeeded")
}

// Per-target settings: two targets of one Monitor probe at their own
// intervals and flip at their own thresholds.
func TestMonitorPerTargetSettings(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})
	st, err := c.State()
	require.NoError(t, err)
	m := NewMonitor(MonitorConfig{Interval: time.Hour, FailureThreshold: 1},
		Target{Name: "fast", State: st, Probe: TCP{Port: port + 1}, Settings: Settings{Interval: 10 * time.Millisecond, FailureThreshold: 20}},
		Target{Name: "slow", State: st, Probe: TCP{Port: port + 1}, Settings: Settings{InitialDelay: time.Hour}},
		Target{Name: "default", State: st, Probe: TCP{Port: port + 1}},
	)
	runMonitor(t, m)
	s := waitStatus(t, m, "fast", "unhealthy", func(s TargetStatus) bool { return s.Health == Unhealthy })
	assert.GreaterOrEqual(t, s.Checks[Liveness].Probes, uint64(20), "its own failure threshold")
	d := waitStatus(t, m, "default", "unhealthy", func(s TargetStatus) bool { return s.Health == Unhealthy })
	assert.Equal(t, uint64(1), d.Checks[Liveness].Probes, "the Monitor's interval (an hour) and threshold (1)")
	sl, _ := m.Status("slow")
	assert.Zero(t, sl.Checks[Liveness].Probes, "its own initial delay")
	assert.Equal(t, HealthUnknown, sl.Health)
}

// The history keeps the last HistoryLength results, each output capped at
// HistoryOutput (Docker's 5 and 4096 bytes by default).
func TestMonitorHistory(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{})
	st, err := c.State()
	require.NoError(t, err)
	m := NewMonitor(MonitorConfig{Interval: 10 * time.Millisecond, Timeout: 5 * time.Second},
		Target{Name: "chatty", State: st, Probe: Exec{Command: []string{"sh", "-c", "head -c 6000 /dev/zero | tr '\\0' y; exit 4"}}})
	runMonitor(t, m)
	s := waitStatus(t, m, "chatty", "8 probes", func(s TargetStatus) bool { return s.Checks[Liveness].Probes >= 8 })
	require.Len(t, s.History, DefaultHistoryLength)
	for i, e := range s.History {
		assert.Equal(t, Liveness, e.Type)
		assert.Equal(t, Failure, e.Status)
		assert.Equal(t, 4, e.ExitCode)
		assert.Equal(t, "exit status 4", e.Reason)
		assert.Equal(t, strings.Repeat("y", DefaultHistoryOutput), string(e.Output))
		assert.False(t, e.End.Before(e.Start))
		if i > 0 {
			assert.True(t, e.Start.After(s.History[i-1].Start), "oldest first")
		}
	}
}

// newTestLogger logs text records of every level to w.
func newTestLogger(w *testutil.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Targets come and go while the Monitor runs; the others keep their state.
func TestMonitorAddRemove(t *testing.T) {
	testcontainer.RequireRoot(t)
	c := testcontainer.New(t, testcontainer.Options{Port: port})
	st, err := c.State()
	require.NoError(t, err)
	gs := runtime.NumGoroutine()
	fast := Settings{Interval: 20 * time.Millisecond}
	m := NewMonitor(MonitorConfig{Timeout: 2 * time.Second}, Target{Name: "first", State: st, Probe: TCP{Port: port}, Settings: fast})
	require.Error(t, m.Add(Target{Name: "first", State: st, Probe: TCP{Port: port}}), "duplicate before Run")
	require.NoError(t, m.Add(Target{Name: "early", State: st, Probe: TCP{Port: port}, Settings: fast}))
	stop := runMonitor(t, m)
	waitStatus(t, m, "first", "healthy", func(s TargetStatus) bool { return s.Health == Healthy })
	waitStatus(t, m, "early", "healthy", func(s TargetStatus) bool { return s.Health == Healthy })

	require.NoError(t, m.Add(Target{Name: "late", State: st, Probe: HTTP{Port: port, Path: "/status/404"}, Settings: fast}))
	require.Error(t, m.Add(Target{Name: "late", State: st, Probe: TCP{Port: port}}), "duplicate during Run")
	require.Error(t, m.Add(Target{Name: "bad", State: st}), "no probe")
	waitStatus(t, m, "late", "unhealthy", func(s TargetStatus) bool { return s.Health == Unhealthy })
	before, _ := m.Status("first")

	assert.True(t, m.Remove("early"))
	assert.False(t, m.Remove("early"))
	_, ok := m.Status("early")
	assert.False(t, ok)
	after := waitStatus(t, m, "first", "more probes", func(s TargetStatus) bool {
		return s.Checks[Liveness].Probes > before.Checks[Liveness].Probes+2
	})
	assert.Equal(t, Healthy, after.Health, "the others keep their state")
	stop()
	require.Error(t, m.Add(Target{Name: "after", State: st, Probe: TCP{Port: port}}), "after Run")
	assert.True(t, testutil.Within(2*time.Second, func() bool { return runtime.NumGoroutine() <= gs+2 }),
		"goroutines: %d before, %d after", gs, runtime.NumGoroutine())
}
