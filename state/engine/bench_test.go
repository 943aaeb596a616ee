package engine_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
)

// lookupBench times engine.Find of one name next to the engine's own CLI
// lookup of the same container's PID (the user's way today: `docker
// inspect -f {{.State.Pid}}`), in the same loop, and reports both in ms and
// their ratio.
func lookupBench(b *testing.B, name string, baseline func() *exec.Cmd, opts ...engine.Option) {
	var find, base time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := engine.Find(b.Context(), name, opts...); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if out, err := baseline().CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		find, base, n = find+t1.Sub(t0), base+time.Since(t1), n+1
	}
	b.ReportMetric(float64(find.Microseconds())/1e3/float64(n), "find-ms")
	b.ReportMetric(float64(base.Microseconds())/1e3/float64(n), "engine-cli-ms")
	b.ReportMetric(float64(find)/float64(base), "find/engine-cli")
}

// BenchmarkFind: lookup by name per engine (Docker API, Podman API and
// store, CRI plus containerd), each beside the engine's own CLI lookup.
func BenchmarkFind(b *testing.B) {
	testcontainer.RequireRoot(b)
	dir, err := os.MkdirTemp("", "nucleus-engine-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tarball, err := testcontainer.RootfsTar(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("docker", func(b *testing.B) {
		dd := testcontainer.StartDockerd(b)
		dd.Import(b, tarball, "nucleus-test:1", testcontainer.DefaultImage)
		dd.Run(b, "bench", "nucleus-test:1")
		lookupBench(b, "bench", func() *exec.Cmd { return dd.Cmd("inspect", "-f", "{{.State.Pid}}", "bench") },
			engine.WithDockerHost(dd.Host), engine.WithDockerExecRoot(dd.ExecRoot), engine.WithEngines(engine.Docker))
	})
	b.Run("podman", func(b *testing.B) {
		p := testcontainer.NewPodman(b)
		p.Import(b, tarball, "nucleus-test:1", testcontainer.DefaultImage)
		p.Run(b, "bench", "localhost/nucleus-test:1")
		base := func() *exec.Cmd { return p.Cmd("inspect", "-f", "{{.State.Pid}}", "bench") }
		b.Run("store", func(b *testing.B) {
			lookupBench(b, "bench", base, engine.WithPodmanStorage(p.Root), engine.WithPodmanSocket(p.Root+"/none.sock"), engine.WithEngines(engine.Podman))
		})
		p.StartService(b)
		b.Run("api", func(b *testing.B) {
			lookupBench(b, "bench", base, engine.WithPodmanSocket(p.Socket), engine.WithEngines(engine.Podman))
		})
	})
	b.Run("cri", func(b *testing.B) {
		c := testcontainer.StartContainerd(b, tarball)
		c.ImportImage(b, tarball, "nucleus.test/web:1", testcontainer.DefaultImage)
		ns := fmt.Sprintf("bench-%d", os.Getpid())
		pod := startCRIPod(b, c, ns, "web", "server", "nucleus.test/web:1")
		lookupBench(b, ns+"/web/server", func() *exec.Cmd { return c.Ctr("k8s.io", "task", "ls") },
			engine.WithCRISocket(c.Socket), engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.CRI, engine.Containerd))
		_ = pod
	})
}
