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
// attach, next to util-linux with no hardening at all.
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
	var tOurs, tBase time.Duration
	for b.Loop() {
		tOurs += testutil.OneShot(b, ours...)
		tBase += testutil.OneShot(b, base...)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tOurs.Nanoseconds())/n, "nsattach-ns/op")
	b.ReportMetric(float64(tBase.Nanoseconds())/n, "nsenter-ns/op")
	b.ReportMetric(float64(tOurs)/float64(tBase), "x-nsenter")
}
