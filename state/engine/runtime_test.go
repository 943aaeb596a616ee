package engine_test

import (
	"errors"
	"maps"
	"os"
	"strings"
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

// TestKubeNameFromBundle finds a runc container whose bundle carries
// CRI-O's annotations (a pod's container, next to its pod's infra
// container) by namespace/pod/container, the bundle found through `runc
// state`; the infra container answers to no name of the pod, and a bundle
// others may write is refused: its annotations would decide the name.
func TestKubeNameFromBundle(t *testing.T) {
	pod := map[string]string{"io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.name": "web-0"}
	with := func(kv ...string) map[string]string {
		a := maps.Clone(pod)
		for i := 0; i < len(kv); i += 2 {
			a[kv[i]] = kv[i+1]
		}
		return a
	}
	app := testcontainer.StartRunc(t, testcontainer.RuncOptions{Annotations: with("io.kubernetes.cri-o.ContainerType", "container", "io.kubernetes.container.name", "app")})
	infra := testcontainer.StartRunc(t, testcontainer.RuncOptions{Annotations: with("io.kubernetes.cri-o.ContainerType", "sandbox", "io.kubernetes.container.name", "POD")})
	opts := []engine.Option{engine.WithRuntimeRoot("runc", app.Root), engine.WithRuntimeRoot("runc", infra.Root), engine.WithEngines(engine.Runtime)}

	st := enginetest.Find(t, "shop/web-0/app", opts...)
	if st.ID != app.ID || st.PID != app.PID || st.Name != "shop/web-0/app" {
		t.Errorf("Find(shop/web-0/app) = id %s pid %d name %s; want id %s pid %d", st.ID, st.PID, st.Name, app.ID, app.PID)
	}
	var nf *engine.NotFoundError
	if _, err := engine.Find(t.Context(), "shop/web-0/POD", opts...); !errors.As(err, &nf) {
		t.Errorf("Find(shop/web-0/POD) = %v; want a NotFoundError", err)
	}
	list, err := engine.List(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	names := enginetest.ListedOnce(t, list)
	if names[app.ID] != "runtime:shop/web-0/app" || names[infra.ID] != "runtime:"+infra.ID {
		t.Errorf("List = %v; want %s as shop/web-0/app and %s by its id", names, app.ID, infra.ID)
	}

	fi, err := os.Stat(app.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(app.Bundle, 0o777); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(app.Bundle, fi.Mode().Perm())
	_, err = engine.Find(t.Context(), "shop/web-0/app", opts...)
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "bundle "+app.Bundle+": writable by group or others") {
		t.Errorf("Find(shop/web-0/app) with a bundle anyone may write = %v; want a NotFoundError naming the bundle", err)
	}
}
