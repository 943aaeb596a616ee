package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
	for _, tags := range []string{"", "bigembed"} {
		out := filepath.Join(dir, "bigembed-"+tags)
		cmd := exec.Command("go", "build", "-tags", tags, "-o", out, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build -tags %q: %v\n%s", tags, err, o)
		}
	}
	small, big = filepath.Join(dir, "bigembed-"), filepath.Join(dir, "bigembed-bigembed")
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

var meanRE = regexp.MustCompile(`view (\w+), padding (\d+) bytes, attach: mean (\d+) ns`)

// inProcess runs bin for n attaches in one process and returns the mean
// time of one and the executable view it used.
func inProcess(b *testing.B, bin string, pid, n int) (float64, string) {
	b.Helper()
	out, err := exec.Command(bin, "-pid", strconv.Itoa(pid), "-n", strconv.Itoa(n)).CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", bin, err, out)
	}
	m := meanRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("%s: no timing in output:\n%s", bin, out)
	}
	v, _ := strconv.ParseFloat(string(m[3]), 64)
	return v, string(m[1])
}

// BenchmarkBigEmbed puts a 50 MiB embedder beside a small one (the same
// program, built with and without padding.go), attaching /bin/true to one
// container:
//   - one-shot: each iteration runs one whole process of each, alternately
//     (oneshot-x-small is big/small);
//   - in-process: before the loop, each binary makes 100 attaches from one
//     process, twice, in turn (inproc-x-small is big/small).
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
	for range 2 {
		s, view := inProcess(b, small, c.PID, 100)
		g, _ := inProcess(b, big, c.PID, 100)
		inSmall, inBig = inSmall+s, inBig+g
		b.Logf("view %s", view)
	}

	pid := strconv.Itoa(c.PID)
	testutil.OneShot(b, small, "-pid", pid)
	testutil.OneShot(b, big, "-pid", pid)
	var tSmall, tBig time.Duration
	for b.Loop() {
		tSmall += testutil.OneShot(b, small, "-pid", pid)
		tBig += testutil.OneShot(b, big, "-pid", pid)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tSmall.Nanoseconds())/n, "oneshot-small-ns")
	b.ReportMetric(float64(tBig.Nanoseconds())/n, "oneshot-big-ns")
	b.ReportMetric(float64(tBig)/float64(tSmall), "oneshot-x-small")
	b.ReportMetric(inSmall/2, "inproc-small-ns")
	b.ReportMetric(inBig/2, "inproc-big-ns")
	b.ReportMetric(inBig/inSmall, "inproc-x-small")
}
