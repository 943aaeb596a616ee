package engine_test

import (
	"testing"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
	"nucleus/state/engine/internal/enginetest"
)

// TestRuncRoot finds a runc container by id and prefix in its runc root,
// with the PID runc reports and its bundle.
func TestRuncRoot(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{})
	opts := []engine.Option{engine.WithRuntimeRoot("runc", c.Root), engine.WithEngines(engine.Runtime)}
	for _, q := range []string{c.ID, c.ID[:len(c.ID)-1]} {
		st := enginetest.Find(t, q, opts...)
		if st.PID != c.PID || st.ID != c.ID || st.BundlePath != c.Bundle || st.UsingGVisor {
			t.Errorf("Find(%s) = pid %d id %s bundle %s gvisor %v; want pid %d id %s bundle %s", q, st.PID, st.ID, st.BundlePath, st.UsingGVisor, c.PID, c.ID, c.Bundle)
		}
	}
	list, err := engine.List(t.Context(), opts...)
	if err != nil || len(list) != 1 || list[0].PID != c.PID || list[0].Status != "running" {
		t.Errorf("List = %+v, %v; want %s running, pid %d", list, err, c.ID, c.PID)
	}
}

// TestRunscRoot finds a gVisor container in runsc's root: the state
// package marks it as a gVisor sandbox (never joined) with runsc's root
// recorded for `runsc exec`.
func TestRunscRoot(t *testing.T) {
	c := testcontainer.StartRunsc(t, testcontainer.RunscOptions{})
	st := enginetest.Find(t, c.ID, engine.WithRuntimeRoot("runsc", c.Root), engine.WithEngines(engine.Runtime))
	if st.PID != c.PID || !st.UsingGVisor || st.RuntimeRoot != c.Root || st.BundlePath != c.Bundle {
		t.Errorf("Find(%s) = pid %d gvisor %v root %q bundle %q; want pid %d, gVisor, root %s, bundle %s", c.ID, st.PID, st.UsingGVisor, st.RuntimeRoot, st.BundlePath, c.PID, c.Root, c.Bundle)
	}
}
