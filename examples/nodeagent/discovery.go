package main

import (
	"context"
	"errors"
	"fmt"

	"nucleus/probe"
	"nucleus/state"
)

// Discoverer finds the containers to probe on this node: the static list
// of the configuration file (static) and the containers the engines show
// with probe declarations (engines: pod annotations through CRI, labels of
// Docker, Podman and containerd containers). Discover is called at start
// and at every resync; a target whose Name and container (PID and start
// time) are unchanged keeps its probing state.
type Discoverer interface {
	Discover(ctx context.Context) ([]probe.Target, error)
}

// static is the Discoverer of the configuration file's targets.
type static struct{ cfg *Config }

// Discover resolves every target of the file to its container now. A
// target whose container cannot be found is left out and reported in the
// error, so that the others are still probed.
func (s static) Discover(context.Context) ([]probe.Target, error) {
	var out []probe.Target
	var errs []error
	for _, tc := range s.cfg.Targets {
		st, err := resolve(tc)
		if err != nil {
			errs = append(errs, fmt.Errorf("target %q: %w", tc.Name, err))
			continue
		}
		// parseConfig has built every check once, so target cannot fail.
		t, _ := tc.target(tc.Name, st)
		t.Labels = tc.Labels
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// target is the probe.Target of tc's checks for the container st.
func (tc *TargetConfig) target(name string, st *state.ContainerState) (probe.Target, error) {
	t := probe.Target{Name: name, State: st}
	if tc.Liveness != nil {
		p, err := tc.Liveness.build()
		if err != nil {
			return t, fmt.Errorf("liveness: %w", err)
		}
		t.Probe, t.Settings = p, tc.Liveness.Settings.probe()
	}
	for _, c := range []struct {
		cfg *CheckConfig
		to  **probe.Check
		typ string
	}{{tc.Readiness, &t.Readiness, "readiness"}, {tc.Startup, &t.Startup, "startup"}} {
		if c.cfg == nil {
			continue
		}
		p, err := c.cfg.build()
		if err != nil {
			return t, fmt.Errorf("%s: %w", c.typ, err)
		}
		*c.to = &probe.Check{Probe: p, Settings: c.cfg.Settings.probe()}
	}
	return t, nil
}

// multi is the targets of several Discoverers: the file's and the
// engines'. A name that two of them give is kept from the first only.
type multi []Discoverer

// Discover asks every Discoverer; their errors are joined.
func (m multi) Discover(ctx context.Context) ([]probe.Target, error) {
	var out []probe.Target
	var errs []error
	seen := map[string]bool{}
	for _, d := range m {
		ts, err := d.Discover(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, t := range ts {
			if seen[t.Name] {
				errs = append(errs, fmt.Errorf("target %q: found twice; the first is kept", t.Name))
				continue
			}
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	return out, errors.Join(errs...)
}

// resolve finds the container a target names.
func resolve(tc TargetConfig) (*state.ContainerState, error) {
	switch {
	case tc.PID != 0:
		return state.FromPID(tc.PID)
	case tc.StateFile != "":
		return state.LoadFile(tc.StateFile)
	}
	f, err := openRegular(tc.OCIStateFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return state.FromOCI(f)
}
