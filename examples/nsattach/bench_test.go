package main

import (
	"os/exec"
	"strconv"
	"testing"
	"time"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// BenchmarkOneShot runs, in each iteration, one whole `nsattach --pid P
// /bin/true` process of the default build (the binary TestMain built), one
// of the static build against glibc (`go build -tags netgo,osusergo`), one
// of the static release build against musl (the same with CC=musl-gcc, see
// static.go) and one `nsenter -t P -a /bin/true`, in turn, against the same
// container, and reports the mean of each and their ratios to nsenter
// (x-nsenter for the default build, static-x-nsenter for the glibc static
// one, musl-x-nsenter for the release build): what a CLI user pays per
// attach, next to util-linux with no hardening at all. The cpu-* metrics are the same ratios of CPU time (each
// process and the children it reaped), which a loaded machine distorts
// less.
//
//	go test -run '^$' -bench OneShot -benchtime 200x ./examples/nsattach
func BenchmarkOneShot(b *testing.B) {
	testutil.RequireRoot(b)
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		testutil.Missing(b, "nsenter: %v", err)
	}
	static := testutil.BuildMain(b, b.TempDir(), "netgo,osusergo")
	musl := testutil.BuildMain(b, b.TempDir(), "netgo,osusergo", testutil.MuslCC(b))
	c := testcontainer.New(b, testcontainer.Options{Cgroup: true})
	pid := strconv.Itoa(c.PID)
	runs := []struct {
		name string
		argv []string
		wall time.Duration
		cpu  time.Duration
	}{
		{name: "nsattach", argv: []string{bin, "--pid", pid, "/bin/true"}},
		{name: "static", argv: []string{static, "--pid", pid, "/bin/true"}},
		{name: "musl", argv: []string{musl, "--pid", pid, "/bin/true"}},
		{name: "nsenter", argv: []string{nsenter, "-t", pid, "-a", "/bin/true"}},
	}
	for _, r := range runs {
		testutil.OneShot(b, r.argv...) // warm the page cache and the container
	}
	for b.Loop() {
		for i := range runs {
			w, c := testutil.OneShot(b, runs[i].argv...)
			runs[i].wall, runs[i].cpu = runs[i].wall+w, runs[i].cpu+c
		}
	}
	n := float64(b.N)
	base := runs[len(runs)-1]
	for _, r := range runs {
		b.ReportMetric(float64(r.wall.Nanoseconds())/n, r.name+"-ns/op")
		b.ReportMetric(float64(r.cpu.Nanoseconds())/n, r.name+"-cpu-ns/op")
	}
	for _, r := range runs[:len(runs)-1] {
		prefix := r.name + "-"
		if r.name == "nsattach" {
			prefix = ""
		}
		b.ReportMetric(float64(r.wall)/float64(base.wall), prefix+"x-nsenter")
		b.ReportMetric(float64(r.cpu)/float64(base.cpu), prefix+"cpu-x-nsenter")
	}
}
