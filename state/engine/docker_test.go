package engine_test

import (
	"errors"
	"strings"
	"testing"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
	"nucleus/state/engine"
	"nucleus/state/engine/internal/enginetest"
)

// TestDocker finds a Docker container by name, ID and ID prefix through a
// private dockerd's Engine API, checks the PID against docker inspect, and
// compares attach and probes with `docker exec`.
func TestDocker(t *testing.T) {
	tarball := enginetest.RootfsTar(t)
	dd := testcontainer.StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	name := enginetest.UniqueName("docker")
	id := dd.Run(t, name, "nucleus-test:1", "--label", "example.test/tier=web")
	opts := []engine.Option{engine.WithDockerHost(dd.Host), engine.WithDockerExecRoot(dd.ExecRoot), engine.WithEngines(engine.Docker)}

	inspect, err := dd.Cmd("inspect", "-f", "{{.State.Pid}}", id).Output()
	if err != nil {
		t.Fatal(err)
	}
	st := enginetest.Find(t, name, opts...)
	if got := strings.TrimSpace(string(inspect)); got != itoa(st.PID) {
		t.Fatalf("Find(%s).PID = %d, docker inspect %s", name, st.PID, got)
	}
	if st.ID != id || st.Name != name || st.BundlePath == "" || st.StartTicks == 0 {
		t.Fatalf("Find(%s) = id %q name %q bundle %q ticks %d; want id %s", name, st.ID, st.Name, st.BundlePath, st.StartTicks, id)
	}
	if spec, err := st.BundleSpec(); err != nil || !contains(spec.Process.Env, "FOO=bar") {
		t.Fatalf("bundle spec of %s: %v (env %v), want the image's FOO=bar", name, err, spec)
	}
	for _, q := range []string{id, id[:12]} {
		if got := enginetest.Find(t, q, opts...); got.PID != st.PID {
			t.Errorf("Find(%s).PID = %d, want %d", q, got.PID, st.PID)
		}
	}
	list, err := engine.List(t.Context(), opts...)
	if err != nil || len(list) != 1 || list[0].Name != name || list[0].PID != st.PID || list[0].Status != "running" ||
		list[0].Labels["example.test/tier"] != "web" || list[0].Pod != nil {
		t.Errorf("List = %+v, %v; want only %s running with pid %d", list, err, name, st.PID)
	}
	enginetest.CompareWithEngine(t, st, func(flags []string, args ...string) (testcontainer.ExecResult, error) {
		return dd.Exec(flags, name, args...)
	}, true)

	// moby/<id> from the runtime root Docker's runc options give
	// containerd's shim, searched as one of containerd's roots (engine
	// alone, no containerd API: nucleus/state/engine/containerd's test
	// asks the daemon's containerd).
	if got := enginetest.Find(t, "moby/"+id, engine.WithContainerdRuntimeRoot("runc", dd.ExecRoot+"/runtime-runc"), engine.WithEngines(engine.Runtime)); got.PID != st.PID || got.ID != id {
		t.Errorf("Find(moby/%s) in Docker's runtime root: pid %d id %s, want pid %d", id, got.PID, got.ID, st.PID)
	}

	// Lookups leave no fd and no process behind (the runtime's `state`
	// is reaped, the API connections closed).
	fds := testutil.FDCount(t)
	for range 5 {
		enginetest.Find(t, name, opts...)
	}
	if got := testutil.FDCount(t); got > fds {
		t.Errorf("fds: %d before 5 lookups, %d after", fds, got)
	}
	if z := testutil.ZombieChildren(t); len(z) > 0 {
		t.Errorf("zombie children after lookups: %v", z)
	}

	// An exited container is found, and is not running.
	dd.Run(t, name+"-exited", "nucleus-test:1", "--entrypoint", "true")
	if _, err := runWait(dd, name+"-exited"); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Find(t.Context(), name+"-exited", opts...); !errors.Is(err, state.ErrNotRunning) {
		t.Errorf("Find of an exited container: %v; want ErrNotRunning", err)
	}

	_, err = engine.Find(t.Context(), name+"-absent", opts...)
	var nf *engine.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), dd.Host) {
		t.Errorf("Find of an absent name: %v; want a NotFoundError naming %s", err, dd.Host)
	}
}

// runWait waits for a container to exit (`docker wait`).
func runWait(dd *testcontainer.Dockerd, name string) ([]byte, error) {
	return dd.Cmd("wait", name).CombinedOutput()
}

// TestDockerGVisor finds a Docker container run by runsc: the state
// package marks the sandbox (never joined; attach goes through `runsc
// exec` with the root Docker gave runsc), and attach by name prints what
// `docker exec` prints.
func TestDockerGVisor(t *testing.T) {
	testcontainer.RequireRunsc(t)
	tarball := enginetest.RootfsTar(t)
	dd := testcontainer.StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	name := enginetest.UniqueName("docker-gvisor")
	dd.Run(t, name, "nucleus-test:1", "--runtime", "runsc")
	st := enginetest.Find(t, name, engine.WithDockerHost(dd.Host), engine.WithDockerExecRoot(dd.ExecRoot), engine.WithEngines(engine.Docker))
	inspect, err := dd.Cmd("inspect", "-f", "{{.State.Pid}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !st.UsingGVisor || st.RuntimeRoot != dd.ExecRoot+"/runtime-runc/moby" || strings.TrimSpace(string(inspect)) != itoa(st.PID) {
		t.Fatalf("Find(%s) = gvisor %v root %q pid %d; want a gVisor sandbox, root %s/runtime-runc/moby, pid %s", name, st.UsingGVisor, st.RuntimeRoot, st.PID, dd.ExecRoot, inspect)
	}
	want, err := dd.Exec(nil, name, "hostname")
	if err != nil {
		t.Fatal(err)
	}
	if got := enginetest.AttachOut(t, st, nil, "hostname"); got != want {
		t.Errorf("attach hostname = %+v; docker exec %+v", got, want)
	}
}
