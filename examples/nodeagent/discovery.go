package main

import (
	"context"
	"errors"
	"fmt"

	"nucleus/probe"
	"nucleus/state"
)

// Discoverer finds the containers to probe on this node. The static list
// of the configuration file is one; a lookup through the container
// engines (nucleus/state/engine: Docker, containerd, CRI with pod
// annotations as the declared settings) plugs in here without changing the
// rest of the agent. Discover is called at start and at every resync; a
// target whose Name and container (PID and start time) are unchanged keeps
// its probing state.
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
		t := probe.Target{Name: tc.Name, State: st, Labels: tc.Labels}
		// parseConfig has built every check once, so build cannot fail.
		if tc.Liveness != nil {
			t.Probe, _ = tc.Liveness.build()
			t.Settings = tc.Liveness.Settings.probe()
		}
		if tc.Readiness != nil {
			p, _ := tc.Readiness.build()
			t.Readiness = &probe.Check{Probe: p, Settings: tc.Readiness.Settings.probe()}
		}
		if tc.Startup != nil {
			p, _ := tc.Startup.build()
			t.Startup = &probe.Check{Probe: p, Settings: tc.Startup.Settings.probe()}
		}
		out = append(out, t)
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
