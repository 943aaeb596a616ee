package attach_test

import (
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
	attachTrue(b, st) // the memfd copy and the policy are made once per process
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
