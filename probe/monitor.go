package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"nucleus/internal/netns"
	"nucleus/state"
)

// Defaults of MonitorConfig. They are kubelet's probe defaults:
// periodSeconds 10, timeoutSeconds 1, initialDelaySeconds 0,
// failureThreshold 3, successThreshold 1.
const (
	DefaultInterval         = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	// DefaultConcurrency bounds how many probes a Monitor runs at once.
	// Exec probes start a process each; TCP and HTTP probes are cheap.
	DefaultConcurrency = 16
)

// Health is a target's health as a Monitor sees it.
type Health int

const (
	// HealthUnknown: not yet enough results to decide (every target starts
	// here).
	HealthUnknown Health = iota
	// Healthy: SuccessThreshold consecutive successes.
	Healthy
	// Unhealthy: FailureThreshold consecutive failures.
	Unhealthy
)

// String returns "unknown", "healthy" or "unhealthy".
func (h Health) String() string {
	switch h {
	case HealthUnknown:
		return "unknown"
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	}
	return "Health(" + strconv.Itoa(int(h)) + ")"
}

// Target is one container a Monitor probes.
type Target struct {
	// Name identifies the target in transitions; it must be unique.
	Name string
	// State is the container; its PID and start ticks are re-checked at
	// every probe.
	State *state.ContainerState
	// Probe is what to run.
	Probe Probe
}

// MonitorConfig sets how often and how strictly a Monitor probes. Zero
// fields take kubelet's defaults.
type MonitorConfig struct {
	// Interval between the starts of two probes of a target (kubelet
	// periodSeconds; default 10 s). A probe that overruns it delays the
	// next one instead of overlapping it.
	Interval time.Duration
	// Timeout of one probe (kubelet timeoutSeconds; default 1 s).
	Timeout time.Duration
	// StartPeriod delays the first probe of every target (kubelet
	// initialDelaySeconds; default 0).
	StartPeriod time.Duration
	// FailureThreshold consecutive failures make a target Unhealthy
	// (default 3).
	FailureThreshold int
	// SuccessThreshold consecutive successes make a target Healthy
	// (default 1).
	SuccessThreshold int
	// Concurrency bounds the probes running at the same time across all
	// targets (default 16).
	Concurrency int
	// OnTransition, when set, is called for every health change, from the
	// target's own goroutine (so in order for one target). It must not
	// block for long: that target is not probed meanwhile.
	OnTransition func(Transition)
	// Options are passed to every probe (WithPolicy, WithMaxOutput, ...).
	Options []Option
	// Logger receives a debug record for every probe and a warning for
	// probe errors; nil discards them.
	Logger *slog.Logger
}

func (c *MonitorConfig) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.StartPeriod < 0 {
		c.StartPeriod = 0
	}
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.SuccessThreshold <= 0 {
		c.SuccessThreshold = DefaultSuccessThreshold
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Logger == nil {
		c.Logger = discard
	}
}

// Transition is a change of a target's health.
type Transition struct {
	// Target is the Target's Name.
	Target string
	// From and To are the health before and after.
	From, To Health
	// Result is the probe result that caused the change.
	Result Result
	// At is when the change happened.
	At time.Time
}

// Monitor probes many targets periodically with bounded concurrency and
// reports their health transitions. Create it with NewMonitor, then call
// Run once.
type Monitor struct {
	cfg     MonitorConfig
	targets []*watched
	ch      chan Transition
	wantCh  atomic.Bool
	started atomic.Bool
}

// watched is one target's probing state; only its own goroutine writes the
// counters, health is also read by Health.
type watched struct {
	Target
	successes, failures int
	health              atomic.Int32
	// ns is kept open across the target's TCP and HTTP probes, sparing
	// each a pidfd_open, a /proc/PID/stat read and a namespace open, and
	// with its socket factory the two setns of every socket. It names the
	// target by a pidfd and is dropped at the first setup error.
	ns *netns.Handle
}

// options returns the probe options for w's next probe.
func (m *Monitor) options(w *watched) []Option {
	opts := m.cfg.Options
	if k := w.Probe.Kind(); k != "tcp" && k != "http" {
		return opts
	}
	if w.ns == nil {
		h, err := netns.OpenFactory(w.State.PID, w.State.StartTicks)
		if err != nil {
			return opts // Run meets the same error and reports it
		}
		w.ns = h
	}
	return append(opts[:len(opts):len(opts)], withHandle(w.ns))
}

func (w *watched) dropNS() {
	if w.ns != nil {
		w.ns.Close()
		w.ns = nil
	}
}

// NewMonitor returns a Monitor for targets with cfg (zero fields take the
// defaults).
func NewMonitor(cfg MonitorConfig, targets ...Target) *Monitor {
	cfg.setDefaults()
	m := &Monitor{cfg: cfg, ch: make(chan Transition, 64)}
	for _, t := range targets {
		m.targets = append(m.targets, &watched{Target: t})
	}
	return m
}

// Transitions returns a channel that receives every health change. Call it
// before Run; the caller must then keep receiving, because a target whose
// transition is not received stops being probed until it is (or Run ends).
// The channel is closed when Run returns.
func (m *Monitor) Transitions() <-chan Transition {
	m.wantCh.Store(true)
	return m.ch
}

// Health returns the current health of the target named name
// (HealthUnknown for an unknown name).
func (m *Monitor) Health(name string) Health {
	for _, w := range m.targets {
		if w.Name == name {
			return Health(w.health.Load())
		}
	}
	return HealthUnknown
}

// Run probes every target until ctx is done, then waits for its goroutines
// and the probes in flight (which are cancelled) to finish and returns nil.
// It returns an error at once for a second call or an invalid target
// (empty or duplicate name, nil State or Probe).
func (m *Monitor) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("probe: monitor: Run called twice")
	}
	defer close(m.ch)
	seen := make(map[string]bool, len(m.targets))
	for _, w := range m.targets {
		switch {
		case w.Name == "":
			return errors.New("probe: monitor: target with empty name")
		case seen[w.Name]:
			return fmt.Errorf("probe: monitor: duplicate target %q", w.Name)
		case w.State == nil || w.Probe == nil:
			return fmt.Errorf("probe: monitor: target %q: nil state or probe", w.Name)
		}
		seen[w.Name] = true
	}
	sem := make(chan struct{}, m.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, w := range m.targets {
		wg.Go(func() { m.loop(ctx, w, sem) })
	}
	wg.Wait()
	return nil
}

// loop probes one target every Interval until ctx is done.
func (m *Monitor) loop(ctx context.Context, w *watched, sem chan struct{}) {
	timer := time.NewTimer(m.cfg.StartPeriod)
	defer timer.Stop()
	defer w.dropNS()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := time.Now().Add(m.cfg.Interval)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		pctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
		res, err := Run(pctx, w.State, w.Probe, m.options(w)...)
		cancel()
		<-sem
		if err != nil {
			w.dropNS()
		}
		if ctx.Err() != nil {
			return
		}
		m.record(ctx, w, res, err)
		timer.Reset(time.Until(next))
	}
}

// record updates w's counters with one result and reports a transition.
// Like kubelet, results that are probe errors are logged and discarded,
// except that a target that is gone (ErrNotRunning, ErrStale) counts as a
// failure: that is a fact about its health, not about the prober.
func (m *Monitor) record(ctx context.Context, w *watched, res Result, err error) {
	m.cfg.Logger.Debug("probe", "target", w.Name, "status", res.Status.String(),
		"reason", res.Reason, "duration", res.Duration)
	failed := res.Status == Failure
	if err != nil {
		if !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrStale) {
			m.cfg.Logger.Warn("probe error, result discarded", "target", w.Name, "err", err)
			return
		}
		failed = true
	}
	from := Health(w.health.Load())
	to := from
	if failed {
		w.failures++
		w.successes = 0
		if w.failures >= m.cfg.FailureThreshold {
			to = Unhealthy
		}
	} else {
		w.successes++
		w.failures = 0
		if w.successes >= m.cfg.SuccessThreshold {
			to = Healthy
		}
	}
	if to == from {
		return
	}
	w.health.Store(int32(to))
	tr := Transition{Target: w.Name, From: from, To: to, Result: res, At: time.Now()}
	m.cfg.Logger.Info("health transition", "target", w.Name, "from", from.String(), "to", to.String())
	if m.cfg.OnTransition != nil {
		m.cfg.OnTransition(tr)
	}
	if m.wantCh.Load() {
		select {
		case m.ch <- tr:
		case <-ctx.Done():
		}
	}
}
