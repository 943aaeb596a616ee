package main

import (
	"context"
	"time"

	"nucleus/state"
	"nucleus/state/engine"
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
