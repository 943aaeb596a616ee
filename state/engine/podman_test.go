package engine_test

import (
	"strings"
	"testing"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
	"nucleus/state/engine/internal/enginetest"
)

// TestPodman finds a Podman container by name through its container store
// (no service running) and through `podman system service`, and compares
// attach and probes with `podman exec`.
func TestPodman(t *testing.T) {
	tarball := enginetest.RootfsTar(t)
	p := testcontainer.NewPodman(t)
	p.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	name := enginetest.UniqueName("podman")
	id := p.Run(t, name, "localhost/nucleus-test:1", "--label", "example.test/tier=web")
	inspect, err := p.Cmd("inspect", "-f", "{{.State.Pid}}", id).Output()
	if err != nil {
		t.Fatal(err)
	}
	wantPID := strings.TrimSpace(string(inspect))

	// No service: names from the store, state from runc's root.
	store := []engine.Option{engine.WithPodmanStorage(p.Root), engine.WithPodmanSocket(p.Root + "/no-such.sock"), engine.WithEngines(engine.Podman)}
	st := enginetest.Find(t, name, store...)
	if itoa(st.PID) != wantPID || st.ID != id || st.BundlePath == "" {
		t.Fatalf("Find(%s) from the store = pid %d id %s bundle %q; podman inspect pid %s id %s", name, st.PID, st.ID, st.BundlePath, wantPID, id)
	}

	p.StartService(t)
	api := []engine.Option{engine.WithPodmanSocket(p.Socket), engine.WithPodmanStorage("/nonexistent"), engine.WithEngines(engine.Podman)}
	st = enginetest.Find(t, name, api...)
	if itoa(st.PID) != wantPID || st.Name != name {
		t.Fatalf("Find(%s) through the API = pid %d name %s; podman inspect %s", name, st.PID, st.Name, wantPID)
	}
	// The API lists the container's labels (the store does not keep them).
	if list, err := engine.List(t.Context(), api...); err != nil || len(list) != 1 || list[0].Labels["example.test/tier"] != "web" {
		t.Errorf("List through the API = %+v, %v; want %s with label example.test/tier=web", list, err, name)
	}
	if got := enginetest.Find(t, id[:10], api...); got.PID != st.PID {
		t.Errorf("Find(%s) = pid %d, want %d", id[:10], got.PID, st.PID)
	}
	enginetest.CompareWithEngine(t, st, func(flags []string, args ...string) (testcontainer.ExecResult, error) {
		return p.Exec(flags, name, args...)
	}, true)
}
