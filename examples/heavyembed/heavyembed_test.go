package main

import (
	"strconv"
	"testing"

	"nucleus/examples/heavyembed/heavy"
	"nucleus/internal/testutil"
)

// attachFrom runs the built example for n attaches and returns the mean
// time of one.
func attachFrom(b *testing.B, bin string, n int) float64 {
	b.Helper()
	v, _ := testutil.AttachMean(b, bin, "-n", strconv.Itoa(n))
	return v
}

// BenchmarkHeavyEmbedAttach measures Attach(/bin/true) made by a program
// whose package initialisation takes heavy.InitCost, built two ways:
// "plain", where package heavy imports only time (initialised after the
// dispatch from nucleus/internal/child, which comes before time), and
// "heavyafter", where heavy imports nucleus/attach and so initialises
// after the dispatch whatever it imports. It reports
// both per-attach times and how many times heavy.InitCost each pays
// (x-initcost: above 1 means the child ran the heavy init).
func BenchmarkHeavyEmbedAttach(b *testing.B) {
	testutil.RequireRoot(b)
	dir := b.TempDir()
	plain := testutil.BuildMain(b, dir, "")
	after := testutil.BuildMain(b, dir, "heavyafter")
	b.ResetTimer()
	var tPlain, tAfter float64
	// Each run starts a container and pays the heavy init once itself,
	// so the attaches are batched: b.N runs of 10 attaches.
	for b.Loop() {
		tPlain += attachFrom(b, plain, 10)
		tAfter += attachFrom(b, after, 10)
	}
	n := float64(b.N)
	cost := float64(heavy.InitCost.Nanoseconds())
	b.ReportMetric(tPlain/n, "plain-attach-ns")
	b.ReportMetric(tAfter/n, "heavyafter-attach-ns")
	b.ReportMetric(tPlain/n/cost, "plain-x-initcost")
	b.ReportMetric(tAfter/n/cost, "heavyafter-x-initcost")
}
