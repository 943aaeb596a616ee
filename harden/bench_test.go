package harden

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/harden/seccomppolicy"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// BenchmarkCompileDefault is what the parent pays per attach for the
// strict policy: the seccomp floor and the strict additions are generated
// ahead of time (seccomp_tables_amd64.go), so this is the Landlock rules
// and the capability checks.
func BenchmarkCompileDefault(b *testing.B) {
	_, err := Compile(StrictPolicy())
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(StrictPolicy()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCustomSeccomp is the cost of a custom floor: the
// go-seccomp-bpf policy assembled by seccomppolicy, and CompileFor's
// checks of the filter (execve allowed, foreign architectures denied), per
// call; BenchmarkCompileDefault pays neither.
func BenchmarkCompileCustomSeccomp(b *testing.B) {
	pol := seccomppolicy.Default()
	b.ReportAllocs()
	for b.Loop() {
		f, err := seccomppolicy.Assemble(pol)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(Policy{Strict: true, Seccomp: f}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply measures Apply where it runs for real: once per process,
// in a fresh child (cold caches, first touch of the code), as uid 1000 with
// the default Program, then execve of busybox true. ns/op is the whole
// child (re-exec of the test binary, Go runtime start, Apply, execve,
// wait); the apply-µs metric is Apply alone, timed inside the child.
// Compare with BenchmarkApplyBaseline, the same child without Apply.
func BenchmarkApply(b *testing.B) {
	benchApply(b, childSpec{
		Program:  compile(b, Policy{}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{1000}},
		Argv:     []string{busybox, "true"},
		Bench:    true,
	})
}

// BenchmarkApplyContainer is BenchmarkApply with the container policy of a
// root target with Docker's capabilities, without no_new_privs (the
// filters go in before the capability drop), with all 16 rlimits.
func BenchmarkApplyContainer(b *testing.B) {
	var limits []Rlimit
	for r := 0; r < 16; r++ {
		var l unix.Rlimit
		require.NoError(b, unix.Getrlimit(r, &l))
		limits = append(limits, Rlimit{Resource: uint32(r), Cur: l.Cur, Max: l.Max})
	}
	prog, err := CompileFor(ContainerPolicy(), &Confinement{
		Caps:    CapSets{Bounding: dockerCaps, Permitted: dockerCaps, Effective: dockerCaps},
		Rlimits: limits,
	})
	require.NoError(b, err)
	benchApply(b, childSpec{Program: prog, Argv: []string{busybox, "true"}, Bench: true})
}

func benchApply(b *testing.B, spec childSpec) {
	testutil.RequireRoot(b)
	requireBusybox(b)
	var total float64
	n := 0
	for b.Loop() {
		r := runChild(b, spec, childOpts{})
		if r.Code != 0 {
			b.Fatalf("child failed: %s", r.Stderr)
		}
		for _, l := range strings.Split(r.Stderr, "\n") {
			if v, ok := strings.CutPrefix(l, "APPLY_NS "); ok {
				ns, err := strconv.ParseFloat(v, 64)
				require.NoError(b, err)
				total += ns
				n++
			}
		}
	}
	require.Positive(b, n)
	b.ReportMetric(total/float64(n)/1e3, "apply-µs")
}

// BenchmarkApplyBaseline is BenchmarkApply's child without Apply.
func BenchmarkApplyBaseline(b *testing.B) {
	testutil.RequireRoot(b)
	requireBusybox(b)
	spec := childSpec{
		Program: compile(b, Policy{}),
		Argv:    []string{busybox, "true"},
		NoApply: true,
	}
	for b.Loop() {
		if r := runChild(b, spec, childOpts{}); r.Code != 0 {
			b.Fatalf("child failed: %s", r.Stderr)
		}
	}
}
