package main

import (
	"context"
	"flag"
	"time"

	"nucleus/state"
	"nucleus/state/engine"
	// CRI and containerd through their APIs (status, every namespace's
	// containers); nsattach, whose one-shot start counts most, does without.
	_ "nucleus/state/engine/containerd"
	_ "nucleus/state/engine/cri"
)

// lookupTimeout bounds the search of every engine for a name.
const lookupTimeout = 15 * time.Second

// isProbeKind tells a probe kind from a CONTAINER argument.
func isProbeKind(s string) bool { return s == "exec" || s == "tcp" || s == "http" }

// resolveTarget finds the container named name (a name, ID or unique ID
// prefix) in every engine engine.Find searches.
func resolveTarget(name string) (*state.ContainerState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	return engine.Find(ctx, name)
}

// containerArg takes CONTAINER, the first argument after the flags when it
// is not a probe kind and no --pid was given, and parses the flags that
// follow it.
func (o *options) containerArg(f *flag.FlagSet) error {
	rest := f.Args()
	if o.pid != 0 || len(rest) == 0 || isProbeKind(rest[0]) {
		return nil
	}
	o.name = rest[0]
	return f.Parse(rest[1:])
}
