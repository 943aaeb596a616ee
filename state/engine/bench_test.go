package engine_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
)

// pairBench runs ours and the engine's own way of doing the same in the
// same loop and reports both in ms and their ratio.
func pairBench(b *testing.B, unit string, ours, theirs func() error) {
	var a, e time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if err := ours(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := theirs(); err != nil {
			b.Fatal(err)
		}
		a, e, n = a+t1.Sub(t0), e+time.Since(t1), n+1
	}
	b.ReportMetric(float64(a.Microseconds())/1e3/float64(n), unit+"-ms")
	b.ReportMetric(float64(e.Microseconds())/1e3/float64(n), "engine-ms")
	b.ReportMetric(float64(a)/float64(e), unit+"/engine")
}

// lookupBench times engine.Find of one name next to the engine's own CLI
// lookup of the same container's PID (the user's way today: `docker
// inspect -f {{.State.Pid}}`).
func lookupBench(b *testing.B, name string, baseline func() *exec.Cmd, opts ...engine.Option) {
	pairBench(b, "find", func() error {
		_, err := engine.Find(b.Context(), name, opts...)
		return err
	}, func() error {
		if out, err := baseline().CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// attachBench times Find plus attach of /bin/true by name next to the
// engine's own exec of it.
func attachBench(b *testing.B, name string, engineExec execFunc, opts ...engine.Option) {
	pairBench(b, "find+attach", func() error {
		st, err := engine.Find(b.Context(), name, opts...)
		if err != nil {
			return err
		}
		code, err := attach.Attach(st, []string{"/bin/true"})
		if err == nil && code != 0 {
			err = fmt.Errorf("exit %d", code)
		}
		return err
	}, func() error {
		r, err := engineExec(nil, "/bin/true")
		if err == nil && r.Code != 0 {
			err = fmt.Errorf("engine exec: exit %d", r.Code)
		}
		return err
	})
}

// BenchmarkFind: lookup by name per engine (Docker API, Podman API and
// store, CRI plus containerd), each beside the engine's own CLI lookup,
// and lookup plus attach of /bin/true beside the engine's own exec (docker
// exec, podman exec, CRI ExecSync, what kubelet's exec probes use).
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
		opts := []engine.Option{engine.WithDockerHost(dd.Host), engine.WithDockerExecRoot(dd.ExecRoot), engine.WithEngines(engine.Docker)}
		b.Run("find", func(b *testing.B) {
			lookupBench(b, "bench", func() *exec.Cmd { return dd.Cmd("inspect", "-f", "{{.State.Pid}}", "bench") }, opts...)
		})
		b.Run("attach", func(b *testing.B) {
			attachBench(b, "bench", func(flags []string, args ...string) (testcontainer.ExecResult, error) {
				return dd.Exec(flags, "bench", args...)
			}, opts...)
		})
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
		api := []engine.Option{engine.WithPodmanSocket(p.Socket), engine.WithEngines(engine.Podman)}
		b.Run("api", func(b *testing.B) { lookupBench(b, "bench", base, api...) })
		b.Run("attach", func(b *testing.B) {
			attachBench(b, "bench", func(flags []string, args ...string) (testcontainer.ExecResult, error) {
				return p.Exec(flags, "bench", args...)
			}, api...)
		})
	})
	b.Run("cri", func(b *testing.B) {
		c := testcontainer.StartContainerd(b, tarball)
		c.ImportImage(b, tarball, "nucleus.test/web:1", testcontainer.DefaultImage)
		ns := fmt.Sprintf("bench-%d", os.Getpid())
		pod := startCRIPod(b, c, ns, "web", "server", "nucleus.test/web:1")
		opts := []engine.Option{engine.WithCRISocket(c.Socket), engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.CRI, engine.Containerd)}
		b.Run("find", func(b *testing.B) {
			lookupBench(b, ns+"/web/server", func() *exec.Cmd { return c.Ctr("k8s.io", "task", "ls") }, opts...)
		})
		b.Run("attach", func(b *testing.B) { attachBench(b, ns+"/web/server", pod.execSync, opts...) })
	})
}
