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

// Defaults of a Monitor's history, Docker's HEALTHCHECK limits: the last 5
// results, each with at most 4096 bytes of output.
const (
	DefaultHistoryLength = 5
	DefaultHistoryOutput = 4096
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
	// HealthError: FailureThreshold consecutive probes could not run at
	// all (errors of the prober: no permission, an unsupported target, a
	// failing setup step). Nothing is known about the container's health,
	// but the caller must see that it is not being probed: such a target
	// stays neither healthy nor silently unknown.
	HealthError
)

// String returns "unknown", "healthy", "unhealthy" or "error".
func (h Health) String() string {
	switch h {
	case HealthUnknown:
		return "unknown"
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	case HealthError:
		return "error"
	}
	return "Health(" + strconv.Itoa(int(h)) + ")"
}

// MonitorConfig sets how often and how strictly a Monitor probes. Zero
// fields take kubelet's defaults; a Target's Settings override the
// probing fields for that target.
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
	// (default 3); as many consecutive probe errors make it HealthError.
	FailureThreshold int
	// SuccessThreshold consecutive successes make a target Healthy
	// (default 1).
	SuccessThreshold int
	// Concurrency bounds the probes running at the same time across all
	// targets (default 16).
	Concurrency int
	// HistoryLength is how many recent results Status keeps per target
	// (default 5, as Docker); HistoryOutput caps each one's output
	// (default 4096 bytes, as Docker).
	HistoryLength, HistoryOutput int
	// OnTransition, when set, is called for every health change, from the
	// target's own goroutine (so in order for one check of a target). It
	// must not block for long: that check is not probed meanwhile.
	OnTransition func(Transition)
	// OnResult, when set, is called after every probe with its result,
	// from the probing goroutine; it is the hook for metrics
	// (nucleus/probe/metrics). It must not block for long.
	OnResult func(ResultEvent)
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
	if c.HistoryLength <= 0 {
		c.HistoryLength = DefaultHistoryLength
	}
	if c.HistoryOutput <= 0 {
		c.HistoryOutput = DefaultHistoryOutput
	}
	if c.Logger == nil {
		c.Logger = discard
	}
}

// Transition is a change of the health one check of a target reports.
type Transition struct {
	// Target is the Target's Name.
	Target string
	// Type is the check that changed: Liveness (the Target's Probe),
	// Readiness or Startup.
	Type ProbeType
	// From and To are the health before and after.
	From, To Health
	// Result is the probe result that caused the change.
	Result Result
	// Err is the probe error behind a change to HealthError (or to
	// Unhealthy for a target that is gone).
	Err error
	// At is when the change happened.
	At time.Time
}

// ResultEvent is one probe's outcome as a Monitor's OnResult sees it.
type ResultEvent struct {
	// Target is the Target's Name, Labels its Labels.
	Target string
	Labels map[string]string
	// Type is the check (Liveness, Readiness, Startup); Kind is the
	// probe's ("exec", "tcp", "http", "grpc").
	Type ProbeType
	Kind string
	// Result is the probe's result, Err its error (Status Unknown).
	Result Result
	Err    error
	// Start is when the probe started.
	Start time.Time
}

// Monitor probes many targets periodically with bounded concurrency and
// reports their health transitions. Create it with NewMonitor, then call
// Run once; Add and Remove change the targets while it runs (a node
// agent's discovery), without touching the state of the others.
type Monitor struct {
	cfg     MonitorConfig
	ch      chan Transition
	wantCh  atomic.Bool
	started atomic.Bool
	errors  atomic.Uint64

	mu      sync.Mutex
	initial []*watched          // NewMonitor's, checked by Run
	byName  map[string]*watched // every target, once Run has checked them
	run     context.Context     // Run's context while it runs
	sem     chan struct{}
	wg      sync.WaitGroup
	stopped bool
}

// NewMonitor returns a Monitor for targets with cfg (zero fields take the
// defaults).
func NewMonitor(cfg MonitorConfig, targets ...Target) *Monitor {
	cfg.setDefaults()
	m := &Monitor{cfg: cfg, ch: make(chan Transition, 64), byName: make(map[string]*watched, len(targets))}
	for _, t := range targets {
		m.initial = append(m.initial, newWatched(t, &m.cfg))
	}
	return m
}

// Transitions returns a channel that receives every health change. Call it
// before Run; the caller must then keep receiving, because a check whose
// transition is not received stops being probed until it is (or Run ends).
// The channel is closed when Run returns.
func (m *Monitor) Transitions() <-chan Transition {
	m.wantCh.Store(true)
	return m.ch
}

func (m *Monitor) lookup(name string) *watched {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.byName[name]; w != nil {
		return w
	}
	for _, w := range m.initial {
		if w.Name == name {
			return w
		}
	}
	return nil
}

// Health returns the current health of the target named name
// (HealthUnknown for an unknown name): its liveness check's, or Unhealthy
// when its startup probe has failed FailureThreshold times (kubelet
// restarts such a container).
func (m *Monitor) Health(name string) Health {
	w := m.lookup(name)
	if w == nil {
		return HealthUnknown
	}
	return w.status().Health
}

// Status returns everything the Monitor knows of the target named name;
// ok is false for an unknown name.
func (m *Monitor) Status(name string) (st TargetStatus, ok bool) {
	w := m.lookup(name)
	if w == nil {
		return TargetStatus{}, false
	}
	return w.status(), true
}

// ProbeErrors is how many probes of all targets could not run (Unknown
// results) since Run started. Each is also logged as a warning, counted in
// the target's CheckStatus and passed to OnResult.
func (m *Monitor) ProbeErrors() uint64 { return m.errors.Load() }

// validTarget refuses an invalid target.
func validTarget(t *Target) error {
	switch {
	case t.Name == "":
		return errors.New("probe: monitor: target with empty name")
	case t.State == nil:
		return fmt.Errorf("probe: monitor: target %q: nil state", t.Name)
	case t.Probe == nil && t.Readiness == nil:
		return fmt.Errorf("probe: monitor: target %q: no probe (set Probe or Readiness)", t.Name)
	case t.Startup != nil && t.Startup.Probe == nil, t.Readiness != nil && t.Readiness.Probe == nil:
		return fmt.Errorf("probe: monitor: target %q: a Check without a Probe", t.Name)
	}
	return nil
}

// Add starts probing t, before or during Run, with fresh counters. It
// returns an error for an invalid target, a name already in use and once
// Run has returned.
func (m *Monitor) Add(t Target) error {
	if err := validTarget(&t); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return fmt.Errorf("probe: monitor: add %q: Run has returned", t.Name)
	}
	if _, dup := m.byName[t.Name]; dup {
		return fmt.Errorf("probe: monitor: duplicate target %q", t.Name)
	}
	for _, w := range m.initial {
		if w.Name == t.Name {
			return fmt.Errorf("probe: monitor: duplicate target %q", t.Name)
		}
	}
	w := newWatched(t, &m.cfg)
	if m.run == nil {
		m.initial = append(m.initial, w)
		return nil
	}
	m.byName[t.Name] = w
	m.launch(w)
	return nil
}

// Remove stops probing the target named name and forgets it; it reports
// whether there was one. A probe of it in flight is cancelled.
func (m *Monitor) Remove(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.byName[name]; ok {
		delete(m.byName, name)
		if w.cancel != nil {
			w.cancel()
		}
		return true
	}
	for i, w := range m.initial {
		if w.Name == name {
			m.initial = append(m.initial[:i], m.initial[i+1:]...)
			return true
		}
	}
	return false
}

// launch starts w's check loops; the caller holds m.mu and Run is running.
func (m *Monitor) launch(w *watched) {
	ctx, cancel := context.WithCancel(m.run)
	w.cancel = cancel
	for _, c := range w.checks {
		m.wg.Go(func() { m.loop(ctx, w, c, m.sem) })
	}
}

// Run probes every target until ctx is done, then waits for its goroutines
// and the probes in flight (which are cancelled) to finish and returns nil.
// It returns an error at once for a second call or an invalid target
// (empty or duplicate name, nil State, no probe).
func (m *Monitor) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("probe: monitor: Run called twice")
	}
	defer close(m.ch)
	m.mu.Lock()
	seen := make(map[string]bool, len(m.initial))
	for _, w := range m.initial {
		err := validTarget(&w.Target)
		if err == nil && seen[w.Name] {
			err = fmt.Errorf("probe: monitor: duplicate target %q", w.Name)
		}
		if err != nil {
			m.stopped = true
			m.mu.Unlock()
			return err
		}
		seen[w.Name] = true
	}
	m.run, m.sem = ctx, make(chan struct{}, m.cfg.Concurrency)
	for _, w := range m.initial {
		m.byName[w.Name] = w
		m.launch(w)
	}
	m.initial = nil
	m.mu.Unlock()

	<-ctx.Done()
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.wg.Wait()
	for _, w := range m.byName {
		w.cancel()
	}
	return nil
}
