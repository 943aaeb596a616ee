package probe

import (
	"context"
	"errors"
	"time"

	"nucleus/internal/netns"
)

// loop runs one check of w every Interval until ctx is done (a startup
// check: until it succeeds). Liveness and readiness checks wait for the
// startup check first, as kubelet's do.
func (m *Monitor) loop(ctx context.Context, w *watched, c *check, sem chan struct{}) {
	defer c.dropNS()
	if c.typ != Startup {
		select {
		case <-w.started:
		case <-ctx.Done():
			return
		}
	}
	timer := time.NewTimer(c.set.InitialDelay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := time.Now().Add(c.set.Interval)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, c.set.Timeout)
		res, err := Run(pctx, w.State, c.probe, m.options(w, c)...)
		cancel()
		<-sem
		if err != nil {
			c.dropNS()
		}
		if ctx.Err() != nil {
			return
		}
		m.record(ctx, w, c, start, res, err)
		if c.typ == Startup && w.isStarted() {
			return // kubelet stops a startup probe once it succeeded
		}
		timer.Reset(time.Until(next))
	}
}

// options returns the probe options for c's next probe.
func (m *Monitor) options(w *watched, c *check) []Option {
	opts := m.cfg.Options
	if !dialsNamespace(c.probe) {
		return opts
	}
	if c.ns == nil {
		h, err := netns.OpenFactory(w.State.PID, w.State.StartTicks)
		if err != nil {
			return opts // Run meets the same error and reports it
		}
		c.ns = h
	}
	return append(opts[:len(opts):len(opts)], withHandle(c.ns))
}

func (c *check) dropNS() {
	if c.ns != nil {
		c.ns.Close()
		c.ns = nil
	}
}

// record updates c's counters and w's history with one result, reports it
// to OnResult and reports a transition.
//
// A target that is gone (ErrNotRunning, ErrStale) counts as a failure: that
// is a fact about its health, not about the prober. Other probe errors are
// the prober's (Unknown): like kubelet, they do not move the success and
// failure counts, but unlike kubelet they are not silent — each is logged
// as a warning and counted, and FailureThreshold of them in a row turn the
// check to HealthError, a transition like any other.
func (m *Monitor) record(ctx context.Context, w *watched, c *check, start time.Time, res Result, err error) {
	m.cfg.Logger.Debug("probe", "target", w.Name, "type", string(c.typ), "status", res.Status.String(),
		"reason", res.Reason, "duration", res.Duration)
	if m.cfg.OnResult != nil {
		m.cfg.OnResult(ResultEvent{Target: w.Name, Labels: w.Labels, Type: c.typ, Kind: c.probe.Kind(),
			Result: res, Err: err, Start: start})
	}
	gone := err != nil && Gone(err)
	failed := res.Status == Failure || gone
	if err != nil && !gone {
		m.errors.Add(1)
		m.cfg.Logger.Warn("probe error", "target", w.Name, "type", string(c.typ), "err", err)
	}

	w.mu.Lock()
	w.remember(HistoryEntry{Type: c.typ, Start: start, End: start.Add(res.Duration), Status: res.Status,
		ExitCode: res.ExitCode, Reason: res.Reason, Output: res.Output})
	c.probes++
	from := c.health
	to := from
	switch {
	case err != nil && !gone:
		c.errors++
		c.lastErr = err.Error()
		c.unknowns++
		c.successes, c.failures = 0, 0
		if c.unknowns >= c.set.FailureThreshold {
			to = HealthError
		}
	case failed:
		if err != nil {
			c.lastErr = err.Error()
		}
		c.failures++
		c.successes, c.unknowns = 0, 0
		if c.failures >= c.set.FailureThreshold {
			to = Unhealthy
		}
	default:
		c.successes++
		c.failures, c.unknowns = 0, 0
		if c.successes >= c.set.SuccessThreshold {
			to = Healthy
		}
	}
	c.health = to
	w.mu.Unlock()

	if c.typ == Startup && to == Healthy {
		w.markStarted()
	}
	if to == from {
		return
	}
	tr := Transition{Target: w.Name, Type: c.typ, From: from, To: to, Result: res, Err: err, At: time.Now()}
	m.cfg.Logger.Info("health transition", "target", w.Name, "type", string(c.typ), "from", from.String(), "to", to.String())
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

// dialsNamespace reports whether p makes sockets in the target's network
// namespace (and so can reuse a kept handle).
func dialsNamespace(p Probe) bool {
	switch p.(type) {
	case TCP, *TCP, HTTP, *HTTP, Dialed, *Dialed:
		return true
	}
	return false
}

// Gone reports whether a probe error says the target is gone (ErrNotRunning,
// ErrStale): a Monitor counts that as a failure of the target, not as an
// error of the prober.
func Gone(err error) bool {
	return errors.Is(err, ErrNotRunning) || errors.Is(err, ErrStale)
}
