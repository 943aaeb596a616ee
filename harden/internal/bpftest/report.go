package bpftest

import (
	"testing"
	"time"
)

// ReportNewOld reports a benchmark that timed the search-tree encoding
// (tNew) and the previous one (tOld) in turns, n times each: the mean of
// each in µs (new-µs, old-µs) and their ratio (new/old), the metrics every
// seccomp benchmark of harden prints.
func ReportNewOld(b *testing.B, tNew, tOld time.Duration, n int) {
	b.ReportMetric(float64(tNew.Nanoseconds())/float64(n)/1e3, "new-µs")
	b.ReportMetric(float64(tOld.Nanoseconds())/float64(n)/1e3, "old-µs")
	b.ReportMetric(float64(tNew)/float64(tOld), "new/old")
}
