package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// buildBoth builds this program without and with the 50 MiB padding and
// checks that the padding is really in the big one.
func buildBoth(b *testing.B) (small, big string) {
	b.Helper()
	dir := b.TempDir()
	small, big = testutil.BuildMain(b, dir, ""), testutil.BuildMain(b, dir, "bigembed")
	si, err := os.Stat(small)
	if err != nil {
		b.Fatal(err)
	}
	bi, err := os.Stat(big)
	if err != nil {
		b.Fatal(err)
	}
	if bi.Size()-si.Size() < 50<<20 {
		b.Fatalf("the padded binary is %d bytes, the plain one %d: the padding was dropped", bi.Size(), si.Size())
	}
	return small, big
}

var viewRE = regexp.MustCompile(`view (\w+), padding`)

// inProcess runs bin for n attaches in one process and returns the mean
// time of one and the executable view it used.
func inProcess(b *testing.B, bin string, pid, n int) (float64, string) {
	b.Helper()
	v, out := testutil.AttachMean(b, bin, "-pid", strconv.Itoa(pid), "-n", strconv.Itoa(n))
	m := viewRE.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("%s: no view in output:\n%s", bin, out)
	}
	return v, m[1]
}

// BenchmarkBigEmbed puts a 50 MiB embedder beside a small one (the same
// program, built with and without padding.go), attaching /bin/true to one
// container:
//   - one-shot: each iteration runs one whole process of each, alternately
//     (oneshot-x-small is big/small);
//   - in-process: before the loop, each binary makes 50 attaches from one
//     process, four times, in turn (inproc-x-small is big/small).
//
// oneshot-cpu-x-small is the one-shot ratio of CPU time, which a loaded
// machine distorts less than wall time.
//
// With the overlay view both ratios stay near 1: nothing is copied. With
// the memfd fallback the big one pays a 57 MB copy per process.
//
//	go test -run '^$' -bench BigEmbed -benchtime 100x ./examples/bigembed
func BenchmarkBigEmbed(b *testing.B) {
	testutil.RequireRoot(b)
	small, big := buildBoth(b)
	c := testcontainer.New(b, testcontainer.Options{Cgroup: true})

	var inSmall, inBig float64
	for range 4 {
		s, view := inProcess(b, small, c.PID, 50)
		g, _ := inProcess(b, big, c.PID, 50)
		inSmall, inBig = inSmall+s, inBig+g
		if view != "overlay" {
			b.Logf("view %s: the cost grows with the binary", view)
		}
	}

	pid := strconv.Itoa(c.PID)
	testutil.OneShot(b, small, "-pid", pid)
	testutil.OneShot(b, big, "-pid", pid)
	var tSmall, tBig, cSmall, cBig time.Duration
	for b.Loop() {
		w, cpu := testutil.OneShot(b, small, "-pid", pid)
		tSmall, cSmall = tSmall+w, cSmall+cpu
		w, cpu = testutil.OneShot(b, big, "-pid", pid)
		tBig, cBig = tBig+w, cBig+cpu
	}
	n := float64(b.N)
	b.ReportMetric(float64(tSmall.Nanoseconds())/n, "oneshot-small-ns")
	b.ReportMetric(float64(tBig.Nanoseconds())/n, "oneshot-big-ns")
	b.ReportMetric(float64(tBig)/float64(tSmall), "oneshot-x-small")
	b.ReportMetric(float64(cBig)/float64(cSmall), "oneshot-cpu-x-small")
	b.ReportMetric(inSmall/4, "inproc-small-ns")
	b.ReportMetric(inBig/4, "inproc-big-ns")
	b.ReportMetric(inBig/inSmall, "inproc-x-small")
}
