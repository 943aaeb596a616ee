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
// /bin/true` process (the binary TestMain built) and one `nsenter -t P -a
// /bin/true`, alternately, against the same container, and reports the
// mean of each and their ratio (x-nsenter): what a CLI user pays per
// attach, next to util-linux with no hardening at all. cpu-x-nsenter is the
// same ratio of CPU time (each process and the children it reaped), which a
// loaded machine distorts less.
//
//	go test -run '^$' -bench OneShot -benchtime 200x ./examples/nsattach
func BenchmarkOneShot(b *testing.B) {
	testutil.RequireRoot(b)
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		testutil.Missing(b, "nsenter: %v", err)
	}
	c := testcontainer.New(b, testcontainer.Options{Cgroup: true})
	pid := strconv.Itoa(c.PID)
	ours := []string{bin, "--pid", pid, "/bin/true"}
	base := []string{nsenter, "-t", pid, "-a", "/bin/true"}
	testutil.OneShot(b, ours...)
	testutil.OneShot(b, base...)
	var tOurs, tBase, cOurs, cBase time.Duration
	for b.Loop() {
		w, c := testutil.OneShot(b, ours...)
		tOurs, cOurs = tOurs+w, cOurs+c
		w, c = testutil.OneShot(b, base...)
		tBase, cBase = tBase+w, cBase+c
	}
	n := float64(b.N)
	b.ReportMetric(float64(tOurs.Nanoseconds())/n, "nsattach-ns/op")
	b.ReportMetric(float64(tBase.Nanoseconds())/n, "nsenter-ns/op")
	b.ReportMetric(float64(tOurs)/float64(tBase), "x-nsenter")
	b.ReportMetric(float64(cOurs.Nanoseconds())/n, "nsattach-cpu-ns/op")
	b.ReportMetric(float64(cBase.Nanoseconds())/n, "nsenter-cpu-ns/op")
	b.ReportMetric(float64(cOurs)/float64(cBase), "cpu-x-nsenter")
}
