package attach_test

import (
	"bytes"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/state"
)

// The baselines sit beside nucleus in one file so that one run prints them
// side by side: `go test -run '^$' -bench . ./attach`.

func benchContainer(b *testing.B) *state.ContainerState {
	c := testcontainer.New(b, testcontainer.Options{Cgroup: true})
	st, err := c.State()
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func attachTrue(b *testing.B, st *state.ContainerState) {
	code, err := attach.Attach(st, []string{"/bin/true"}, attach.WithStdio(nil, nil, nil))
	if err != nil || code != 0 {
		b.Fatalf("attach: %d, %v", code, err)
	}
}

func nsenterTrue(b *testing.B, st *state.ContainerState) {
	if out, err := exec.Command("nsenter", "-t", strconv.Itoa(st.PID), "-a", "/bin/true").CombinedOutput(); err != nil {
		b.Fatalf("nsenter: %v: %s", err, out)
	}
}

// BenchmarkAttachTrue is Attach(/bin/true), fully hardened, whole process.
func BenchmarkAttachTrue(b *testing.B) {
	st := benchContainer(b)
	attachTrue(b, st) // the executable view and the policy are made once per process
	b.ResetTimer()
	for b.Loop() {
		attachTrue(b, st)
	}
}

// BenchmarkNsenterTrue is util-linux `nsenter -t PID -a /bin/true`, no
// hardening at all: the baseline.
func BenchmarkNsenterTrue(b *testing.B) {
	if _, err := exec.LookPath("nsenter"); err != nil {
		b.Skip("nsenter not installed")
	}
	st := benchContainer(b)
	for b.Loop() {
		nsenterTrue(b, st)
	}
}

// BenchmarkAttachVsNsenter alternates one Attach and one nsenter per
// iteration, so that both see the same machine load, and reports the ratio
// (x-nsenter) the budget is stated in.
func BenchmarkAttachVsNsenter(b *testing.B) {
	if _, err := exec.LookPath("nsenter"); err != nil {
		b.Skip("nsenter not installed")
	}
	st := benchContainer(b)
	attachTrue(b, st)
	var tAttach, tNsenter time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		attachTrue(b, st)
		t1 := time.Now()
		nsenterTrue(b, st)
		tAttach += t1.Sub(t0)
		tNsenter += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tAttach.Nanoseconds())/n, "attach-ns/op")
	b.ReportMetric(float64(tNsenter.Nanoseconds())/n, "nsenter-ns/op")
	b.ReportMetric(float64(tAttach)/float64(tNsenter), "x-nsenter")
}

// runcExecTrue is `runc exec <id> /bin/true` on a runc container: the
// runtime's own exec path, the baseline the issue compares against.
func runcExecTrue(b *testing.B, c *testcontainer.RuncContainer) {
	if _, code, err := c.Exec("/bin/true"); err != nil || code != 0 {
		b.Fatalf("runc exec: %d, %v", code, err)
	}
}

// benchRunc starts a runc container (skipped without runc) and returns it
// with the state Attach takes, read the way a user would: `runc state`
// into state.FromOCI.
func benchRunc(b *testing.B) (*testcontainer.RuncContainer, *state.ContainerState) {
	if _, err := testcontainer.RuncBinary(); err != nil {
		b.Skip(err)
	}
	c := testcontainer.StartRunc(b, testcontainer.RuncOptions{})
	out, err := c.State()
	if err != nil {
		b.Fatal(err)
	}
	st, err := state.FromOCI(bytes.NewReader(out))
	if err != nil {
		b.Fatal(err)
	}
	return c, st
}

// BenchmarkRuncExecTrue is `runc exec <id> /bin/true`, whole process.
func BenchmarkRuncExecTrue(b *testing.B) {
	c, _ := benchRunc(b)
	for b.Loop() {
		runcExecTrue(b, c)
	}
}

// BenchmarkAttachVsRunc alternates Attach(/bin/true) and `runc exec
// /bin/true` into the same runc container and reports the ratio (x-runc:
// below 1 is faster than runc).
func BenchmarkAttachVsRunc(b *testing.B) {
	c, st := benchRunc(b)
	attachTrue(b, st)
	var tAttach, tRunc time.Duration
	for b.Loop() {
		t0 := time.Now()
		attachTrue(b, st)
		t1 := time.Now()
		runcExecTrue(b, c)
		tAttach += t1.Sub(t0)
		tRunc += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tAttach.Nanoseconds())/n, "attach-ns/op")
	b.ReportMetric(float64(tRunc.Nanoseconds())/n, "runc-ns/op")
	b.ReportMetric(float64(tAttach)/float64(tRunc), "x-runc")
}

// BenchmarkAttachFlat100 is the latency of Attach(/bin/true) to one
// container with 99 other containers running (each in its own namespaces
// and cgroups), against the same attach while it ran alone: x-flat should
// stay within 1 ± 0.1. The alone phase is measured before the others are
// started (flatAlone attaches, not timed by the framework), the crowded one
// is the benchmark loop.
func BenchmarkAttachFlat100(b *testing.B) {
	const flatAlone = 100
	st := benchContainer(b)
	attachTrue(b, st)
	t0 := time.Now()
	for range flatAlone {
		attachTrue(b, st)
	}
	alone := time.Since(t0) / flatAlone
	for range 99 {
		c := testcontainer.New(b, testcontainer.Options{Cgroup: true})
		if _, err := c.State(); err != nil {
			b.Fatal(err)
		}
	}
	attachTrue(b, st)
	var crowded time.Duration
	for b.Loop() {
		t := time.Now()
		attachTrue(b, st)
		crowded += time.Since(t)
	}
	per := crowded / time.Duration(b.N)
	b.ReportMetric(float64(alone.Nanoseconds()), "1-container-ns/op")
	b.ReportMetric(float64(per.Nanoseconds()), "100-containers-ns/op")
	b.ReportMetric(float64(per)/float64(alone), "x-flat")
}
