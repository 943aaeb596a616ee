package seccomppolicy

import (
	"testing"
	"time"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/stretchr/testify/require"

	"nucleus/harden/internal/bpfasm"
	"nucleus/internal/hardencore"
	"nucleus/internal/testutil"
)

// BenchmarkInstallFloor installs the floor (and the floor with the strict
// additions stacked) on a fresh thread, as the tree (Assemble) and as the
// previous encoding (buckets behind bpfasm.Dispatch), alternately in the
// same run: new-µs and old-µs are the seccomp(2) calls alone, new/old
// their ratio, and the instruction counts of each.
func BenchmarkInstallFloor(b *testing.B) {
	testutil.RequireRoot(b)
	info := nativeArch(b)
	for _, tc := range []struct {
		name string
		pols []*seccomp.Policy
	}{
		{"floor", []*seccomp.Policy{Default()}},
		{"floor+strict", []*seccomp.Policy{Default(), StrictAdditions()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var tree, old [][]hardencore.SockFilter
			nTree, nOld := 0, 0
			for _, p := range tc.pols {
				tree = append(tree, assemble(b, p))
				f, err := assembleBuckets(p, info, bpfasm.BucketSize)
				require.NoError(b, err)
				old = append(old, f)
				nTree += len(tree[len(tree)-1])
				nOld += len(f)
			}
			benchInstall(b, tree, old)
			b.ReportMetric(float64(nTree), "new-insns")
			b.ReportMetric(float64(nOld), "old-insns")
		})
	}
}

// benchInstall installs tree and old, each on a fresh thread, in turns,
// and reports their mean times and ratio.
func benchInstall(b *testing.B, tree, old [][]hardencore.SockFilter) {
	var tTree, tOld time.Duration
	n := 0
	for b.Loop() {
		d, err := bpfasm.InstallFresh(tree...)
		require.NoError(b, err)
		tTree += d
		d, err = bpfasm.InstallFresh(old...)
		require.NoError(b, err)
		tOld += d
		n++
	}
	b.ReportMetric(float64(tTree.Nanoseconds())/float64(n)/1e3, "new-µs")
	b.ReportMetric(float64(tOld.Nanoseconds())/float64(n)/1e3, "old-µs")
	b.ReportMetric(float64(tTree)/float64(tOld), "new/old")
}

// BenchmarkAssemble is what a custom floor costs to assemble (done per
// process by a caller of Assemble, and off amd64 for the default floor
// too), as the tree and as the previous encoding, in the same run.
func BenchmarkAssemble(b *testing.B) {
	info := nativeArch(b)
	pol := Default()
	var tTree, tOld time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		_, err := Assemble(pol)
		require.NoError(b, err)
		mid := time.Now()
		_, err = assembleBuckets(pol, info, bpfasm.BucketSize)
		require.NoError(b, err)
		tTree += mid.Sub(start)
		tOld += time.Since(mid)
		n++
	}
	b.ReportMetric(float64(tTree.Nanoseconds())/float64(n)/1e3, "new-µs")
	b.ReportMetric(float64(tOld.Nanoseconds())/float64(n)/1e3, "old-µs")
	b.ReportMetric(float64(tTree)/float64(tOld), "new/old")
}
