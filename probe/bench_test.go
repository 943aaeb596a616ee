package probe

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// Benchmarks: run with
//
//	go test -run '^$' -bench . -benchtime 2s ./probe
//
// BenchmarkHostDial is the baseline: a plain loopback dial in the caller's
// own namespace, which is what a TCP probe costs at the very least.
// BenchmarkTCPProbe reports its ratio to that baseline (x-host-dial).

// benchContainers are started once per test binary, on first use, and
// closed by TestMain: a benchmark function runs several times with growing
// b.N and must not pay for containers each time.
var benchContainers struct {
	mu   sync.Mutex
	list []*testcontainer.Container
}

// benchTargets returns the states of n containers with an HTTP listener on
// port, starting the missing ones.
func benchTargets(b *testing.B, n int) []*state.ContainerState {
	b.Helper()
	testcontainer.RequireRoot(b)
	benchContainers.mu.Lock()
	defer benchContainers.mu.Unlock()
	for len(benchContainers.list) < n {
		c, err := testcontainer.Start(testcontainer.Options{Port: port, Hostname: fmt.Sprintf("bench-%d", len(benchContainers.list))})
		if err != nil {
			b.Fatal(err)
		}
		benchContainers.list = append(benchContainers.list, c)
	}
	sts := make([]*state.ContainerState, n)
	for i := range sts {
		st, err := benchContainers.list[i].State()
		if err != nil {
			b.Fatal(err)
		}
		sts[i] = st
	}
	return sts
}

func closeBenchContainers() {
	benchContainers.mu.Lock()
	defer benchContainers.mu.Unlock()
	for _, c := range benchContainers.list {
		_ = c.Close()
	}
	benchContainers.list = nil
}

func hostDial(b *testing.B, addr string) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	c.Close()
}

// hostDialNs measures the baseline outside the timed region.
func hostDialNs(b *testing.B, n int) float64 {
	addr := testutil.AcceptAndClose(b)
	hostDial(b, addr)
	start := time.Now()
	for i := 0; i < n; i++ {
		hostDial(b, addr)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func BenchmarkHostDial(b *testing.B) {
	addr := testutil.AcceptAndClose(b)
	for b.Loop() {
		hostDial(b, addr)
	}
}

func runBench(b *testing.B, st *state.ContainerState, p Probe, want Status) {
	res, err := Run(context.Background(), st, p)
	if err != nil || res.Status != want {
		b.Fatalf("%s probe: %v %v %s", p.Kind(), err, res.Status, res.Reason)
	}
}

func BenchmarkTCPProbe(b *testing.B) {
	st := benchTargets(b, 1)[0]
	base := hostDialNs(b, 500)
	p := TCP{Port: port}
	runBench(b, st, p, Success)
	start := time.Now()
	n := 0
	for b.Loop() {
		runBench(b, st, p, Success)
		n++
	}
	per := float64(time.Since(start).Nanoseconds()) / float64(n)
	b.ReportMetric(per/base, "x-host-dial")
}

func BenchmarkHTTPProbe(b *testing.B) {
	st := benchTargets(b, 1)[0]
	p := HTTP{Port: port, Path: "/healthz"}
	runBench(b, st, p, Success)
	for b.Loop() {
		runBench(b, st, p, Success)
	}
}

func BenchmarkExecProbe(b *testing.B) {
	st := benchTargets(b, 1)[0]
	p := Exec{Command: []string{"true"}}
	runBench(b, st, p, Success)
	for b.Loop() {
		runBench(b, st, p, Success)
	}
}

// BenchmarkTCPProbeThroughput100 probes 100 containers round-robin with 16
// probes in flight, the Monitor's default concurrency, and reports probes
// per second.
func BenchmarkTCPProbeThroughput100(b *testing.B) {
	throughput(b, TCP{Port: port}, 16)
}

// BenchmarkExecProbeThroughput100 is the same for exec probes (`true`). An
// exec probe is two processes and mostly CPU, so more in flight than cores
// only queues: 4 on this 2-core machine.
func BenchmarkExecProbeThroughput100(b *testing.B) {
	throughput(b, Exec{Command: []string{"true"}}, 4)
}

// BenchmarkHTTPProbeThroughput100 is the same for HTTP probes (GET
// /healthz).
func BenchmarkHTTPProbeThroughput100(b *testing.B) {
	throughput(b, HTTP{Port: port, Path: "/healthz"}, 16)
}

// cpuTime is the CPU time (user and system) of this process and of its
// reaped children (exec probes' helpers and commands) so far.
func cpuTime(b *testing.B) time.Duration {
	var self, kids unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &self); err != nil {
		b.Fatal(err)
	}
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &kids); err != nil {
		b.Fatal(err)
	}
	tv := func(t unix.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// throughput reports probes per second and the CPU time per probe
// (cpu-us/probe, getrusage of the process and its children around the
// run).
func throughput(b *testing.B, p Probe, concurrency int) {
	sts := benchTargets(b, 100)
	var next, failed atomic.Int64
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				res, err := Run(context.Background(), sts[i%int64(len(sts))], p)
				if err != nil || res.Status != Success {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d probes did not succeed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "probes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/probe")
}
