package enginetest

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

// PairBench runs ours and the engine's own way of doing the same in the
// same loop and reports both in ms and their ratio.
func PairBench(b *testing.B, unit string, ours, theirs func() error) {
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

// LookupBench times engine.Find of one name next to the engine's own CLI
// lookup of the same container's PID (the user's way today: `docker
// inspect -f {{.State.Pid}}`).
func LookupBench(b *testing.B, name string, baseline func() *exec.Cmd, opts ...engine.Option) {
	PairBench(b, "find", func() error {
		_, err := engine.Find(b.Context(), name, opts...)
		return err
	}, func() error {
		if out, err := baseline().CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// AttachBench times Find plus attach of /bin/true by name next to the
// engine's own exec of it.
func AttachBench(b *testing.B, name string, engineExec ExecFunc, opts ...engine.Option) {
	PairBench(b, "find+attach", func() error {
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

// BenchTarball is RootfsTar for a benchmark, removed at its cleanup.
func BenchTarball(b *testing.B) string {
	testcontainer.RequireRoot(b)
	dir, err := os.MkdirTemp("", "nucleus-engine-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	tarball, err := testcontainer.RootfsTar(dir)
	if err != nil {
		b.Fatal(err)
	}
	return tarball
}
