package seccomppolicy

import (
	"testing"
	"time"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/harden/internal/bpfasm"
	"nucleus/harden/internal/bpftest"
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
		d, err := bpftest.InstallFresh(nil, tree...)
		require.NoError(b, err)
		tTree += d
		d, err = bpftest.InstallFresh(nil, old...)
		require.NoError(b, err)
		tOld += d
		n++
	}
	bpftest.ReportNewOld(b, tTree, tOld, n)
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
	bpftest.ReportNewOld(b, tTree, tOld, n)
}

// BenchmarkFilteredCall is what the floor costs every call that the
// kernel's action cache does not let through unfiltered (a call whose
// answer depends on its arguments, or a denied one): calls made on a
// fresh thread with no filter, the tree and the previous encoding, in
// turns; none-ns, new-ns and old-ns are per call, new/old the ratio of the
// filters' own share (the time above none).
func BenchmarkFilteredCall(b *testing.B) {
	testutil.RequireRoot(b)
	info := nativeArch(b)
	tree := assemble(b, Default())
	old, err := assembleBuckets(Default(), info, bpfasm.BucketSize)
	require.NoError(b, err)
	const calls = 2000
	for _, c := range []struct {
		name       string
		nr, a1, a2 uintptr
	}{
		{"ioctl", unix.SYS_IOCTL, ^uintptr(0), unix.TCGETS}, // EBADF from the kernel
		{"denied", unix.SYS_UNSHARE, 0, 0},                  // EPERM from the filter (a no-op without it)
	} {
		b.Run(c.name, func(b *testing.B) {
			var tNone, tTree, tOld time.Duration
			call := func(d *time.Duration) func() {
				return func() {
					start := time.Now()
					for range calls {
						unix.RawSyscall(c.nr, c.a1, c.a2, 0)
					}
					*d += time.Since(start)
				}
			}
			n := 0
			for b.Loop() {
				for _, run := range []struct {
					d *time.Duration
					f []hardencore.SockFilter
				}{{&tNone, nil}, {&tTree, tree}, {&tOld, old}} {
					var fs [][]hardencore.SockFilter
					if run.f != nil {
						fs = append(fs, run.f)
					}
					_, err := bpftest.InstallFresh(call(run.d), fs...)
					require.NoError(b, err)
				}
				n += calls
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n) }
			b.ReportMetric(per(tNone), "none-ns")
			b.ReportMetric(per(tTree), "new-ns")
			b.ReportMetric(per(tOld), "old-ns")
			b.ReportMetric(float64(tTree-tNone)/float64(tOld-tNone), "new/old")
		})
	}
}
