package probe

import (
	"sync"
	"time"

	"nucleus/internal/netns"
	"nucleus/state"
)

// ProbeType is the role of a check, as kubelet names its probes.
type ProbeType string

// The three checks a Target may have.
const (
	// Liveness is the Target's Probe: what Health reports. (Kubelet
	// restarts a container whose liveness probe fails.)
	Liveness ProbeType = "liveness"
	// Readiness decides whether the target is Ready (kubelet takes a
	// not-ready pod out of its services).
	Readiness ProbeType = "readiness"
	// Startup runs first; until it succeeds no liveness or readiness probe
	// runs, so a slow starter is not killed by its liveness probe.
	Startup ProbeType = "startup"
)

// Target is one container a Monitor probes.
type Target struct {
	// Name identifies the target in transitions; it must be unique.
	Name string
	// State is the container; its PID and start ticks are re-checked at
	// every probe.
	State *state.ContainerState
	// Probe is the liveness check (nil when the target has only a
	// Readiness check).
	Probe Probe
	// Settings override the MonitorConfig's for Probe; zero fields
	// inherit.
	Settings Settings
	// Startup, when set, gates Probe and Readiness as kubelet's startup
	// probe does: they start (after their InitialDelay) once Startup has
	// succeeded SuccessThreshold times, and Startup is then no longer run.
	// A Startup that fails FailureThreshold times in a row makes the
	// target Unhealthy; it keeps being probed.
	Startup *Check
	// Readiness, when set, decides TargetStatus.Ready.
	Readiness *Check
	// Labels travel with the target's ResultEvents (metrics labels such
	// as pod, namespace, container).
	Labels map[string]string
}

// Check is a startup or readiness probe with its own settings.
type Check struct {
	// Probe is what to run.
	Probe Probe
	// Settings override the MonitorConfig's; zero fields inherit.
	Settings Settings
}

// Settings are the per-probe knobs kubelet sets per probe; zero fields
// take the MonitorConfig's value.
type Settings struct {
	// Interval between probe starts (periodSeconds).
	Interval time.Duration
	// Timeout of one probe (timeoutSeconds).
	Timeout time.Duration
	// InitialDelay before the first probe (initialDelaySeconds); for
	// liveness and readiness it counts from the startup probe's success.
	InitialDelay time.Duration
	// FailureThreshold and SuccessThreshold: consecutive results that
	// change the health.
	FailureThreshold, SuccessThreshold int
}

// resolve fills s's zero fields from cfg.
func (s Settings) resolve(cfg *MonitorConfig) Settings {
	if s.Interval <= 0 {
		s.Interval = cfg.Interval
	}
	if s.Timeout <= 0 {
		s.Timeout = cfg.Timeout
	}
	if s.InitialDelay <= 0 {
		s.InitialDelay = cfg.StartPeriod
	}
	if s.FailureThreshold <= 0 {
		s.FailureThreshold = cfg.FailureThreshold
	}
	if s.SuccessThreshold <= 0 {
		s.SuccessThreshold = cfg.SuccessThreshold
	}
	return s
}

// TargetStatus is a snapshot of what a Monitor knows of one target.
type TargetStatus struct {
	// Name is the Target's Name.
	Name string
	// Health is the liveness verdict (see Monitor.Health).
	Health Health
	// Started is true once the startup probe succeeded (at once without
	// one).
	Started bool
	// Ready is true when the target has started and its readiness check
	// is Healthy; without a Readiness check, when its liveness check is.
	Ready bool
	// Checks holds each configured check's counters.
	Checks map[ProbeType]CheckStatus
	// History is the target's most recent results, oldest first, across
	// its checks (MonitorConfig.HistoryLength of them).
	History []HistoryEntry
}

// CheckStatus is the state of one check of a target.
type CheckStatus struct {
	// Health is the check's verdict.
	Health Health
	// Successes, Failures and Errors are the current runs of consecutive
	// results of each kind (a result of another kind resets them).
	Successes, Failures, Errors int
	// Probes and ProbeErrors count every probe and every probe that could
	// not run since Run started.
	Probes, ProbeErrors uint64
	// LastError is the text of the latest probe error ("" if none yet).
	LastError string
}

// HistoryEntry is one remembered result, as Docker keeps its health log.
type HistoryEntry struct {
	// Type is the check that ran.
	Type ProbeType
	// Start and End bound the probe.
	Start, End time.Time
	// Status, ExitCode and Reason are the Result's; Reason holds the
	// probe's error for Unknown.
	Status   Status
	ExitCode int
	Reason   string
	// Output is the Result's Output capped at MonitorConfig.HistoryOutput.
	Output []byte
}

// watched is one target's probing state.
type watched struct {
	Target
	checks  []*check
	started chan struct{} // closed once the startup check succeeded
	start   sync.Once
	histLen int
	histOut int
	cancel  func() // stops its checks (Monitor.Remove, or Run's end)

	mu      sync.Mutex // guards the checks' counters and history
	history []HistoryEntry
}

// check is one probe of a target and its counters (under watched.mu).
type check struct {
	typ   ProbeType
	probe Probe
	set   Settings

	health                        Health
	successes, failures, unknowns int
	probes, errors                uint64
	lastErr                       string

	// ns is kept open across the check's TCP, HTTP and gRPC probes,
	// sparing each a pidfd_open, a /proc/PID/stat read and a namespace
	// open, and with its socket factory (netns.OpenFactory) the two setns
	// of every socket. It names the target by a pidfd and is dropped at
	// the first setup error. Only the check's own goroutine uses it.
	ns *netns.Handle
}

func newWatched(t Target, cfg *MonitorConfig) *watched {
	w := &watched{Target: t, started: make(chan struct{}), histLen: cfg.HistoryLength, histOut: cfg.HistoryOutput}
	if t.Startup != nil {
		w.checks = append(w.checks, &check{typ: Startup, probe: t.Startup.Probe, set: t.Startup.Settings.resolve(cfg)})
	} else {
		w.markStarted()
	}
	if t.Probe != nil {
		w.checks = append(w.checks, &check{typ: Liveness, probe: t.Probe, set: t.Settings.resolve(cfg)})
	}
	if t.Readiness != nil {
		w.checks = append(w.checks, &check{typ: Readiness, probe: t.Readiness.Probe, set: t.Readiness.Settings.resolve(cfg)})
	}
	return w
}

func (w *watched) markStarted() { w.start.Do(func() { close(w.started) }) }

func (w *watched) isStarted() bool {
	select {
	case <-w.started:
		return true
	default:
		return false
	}
}

// remember appends e to the history, keeping the last histLen entries.
// The caller holds w.mu.
func (w *watched) remember(e HistoryEntry) {
	if len(e.Output) > w.histOut {
		e.Output = e.Output[:w.histOut]
	}
	e.Output = append([]byte(nil), e.Output...)
	if len(w.history) >= w.histLen {
		copy(w.history, w.history[1:])
		w.history = w.history[:len(w.history)-1]
	}
	w.history = append(w.history, e)
}

func (w *watched) status() TargetStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := TargetStatus{Name: w.Name, Started: w.isStarted(), Checks: make(map[ProbeType]CheckStatus, len(w.checks)),
		History: append([]HistoryEntry(nil), w.history...)}
	var live, ready Health
	var hasReady, startupFailed bool
	for _, c := range w.checks {
		st.Checks[c.typ] = CheckStatus{Health: c.health, Successes: c.successes, Failures: c.failures, Errors: c.unknowns,
			Probes: c.probes, ProbeErrors: c.errors, LastError: c.lastErr}
		switch c.typ {
		case Liveness:
			live = c.health
		case Readiness:
			ready, hasReady = c.health, true
		case Startup:
			startupFailed = !st.Started && c.health == Unhealthy
		}
	}
	if startupFailed {
		live = Unhealthy
	}
	st.Health = live
	if !hasReady {
		ready = live
	}
	st.Ready = st.Started && ready == Healthy
	return st
}
