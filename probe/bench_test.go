package probe

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"nucleus/internal/netns"
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

func runBench(b *testing.B, st *state.ContainerState, p Probe, want Status, opts ...Option) {
	res, err := Run(context.Background(), st, p, opts...)
	if err != nil || res.Status != want {
		b.Fatalf("%s probe: %v %v %s", p.Kind(), err, res.Status, res.Reason)
	}
}

// BenchmarkTCPProbe alternates, in each iteration, one host loopback dial
// and one one-shot TCP probe of a container, so that both see the same
// machine (at tens of microseconds, a baseline measured before the loop
// drifts by more than the difference being measured); x-host-dial is the
// ratio of their sums.
func BenchmarkTCPProbe(b *testing.B) {
	st := benchTargets(b, 1)[0]
	addr := testutil.AcceptAndClose(b)
	p := TCP{Port: port}
	hostDial(b, addr)
	runBench(b, st, p, Success)
	var dial, probe time.Duration
	for b.Loop() {
		t0 := time.Now()
		hostDial(b, addr)
		t1 := time.Now()
		runBench(b, st, p, Success)
		dial, probe = dial+t1.Sub(t0), probe+time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(dial.Nanoseconds())/n, "dial-ns")
	b.ReportMetric(float64(probe.Nanoseconds())/n, "probe-ns")
	b.ReportMetric(float64(probe)/float64(dial), "x-host-dial")
}

// BenchmarkTCPProbeKept is a TCP probe as a Monitor runs it: through a
// handle kept open across probes, opened with netns.Open (a disposable
// locked thread and two setns per socket) or netns.OpenFactory (a thread
// kept inside the target's namespace). Reported against the host dial
// (x-host-dial) and against the one-shot Run of the same target measured
// in the same run (x-oneshot).
func BenchmarkTCPProbeKept(b *testing.B) {
	st := benchTargets(b, 1)[0]
	for _, mode := range keptModes {
		b.Run(mode.name, func(b *testing.B) {
			base := hostDialNs(b, 500)
			p := TCP{Port: port}
			oneshot := probeNs(b, st, p, 500)
			h, err := mode.open(st.PID, st.StartTicks)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			runBench(b, st, p, Success, withHandle(h))
			start := time.Now()
			n := 0
			for b.Loop() {
				runBench(b, st, p, Success, withHandle(h))
				n++
			}
			per := float64(time.Since(start).Nanoseconds()) / float64(n)
			b.ReportMetric(per/base, "x-host-dial")
			b.ReportMetric(per/oneshot, "x-oneshot")
		})
	}
}

// keptModes are the two ways to open a handle kept across probes.
var keptModes = []struct {
	name string
	open func(pid int, ticks uint64) (*netns.Handle, error)
}{{"open", netns.Open}, {"factory", netns.OpenFactory}}

// probeNs measures one-shot probes of st outside the timed region.
func probeNs(b *testing.B, st *state.ContainerState, p Probe, n int) float64 {
	start := time.Now()
	for i := 0; i < n; i++ {
		runBench(b, st, p, Success)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
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
	throughput(b, TCP{Port: port}, 16, nil)
}

// BenchmarkTCPProbeThroughput100Kept is the same with one handle per
// target kept open across probes as a Monitor keeps them: opened with Open
// (a disposable thread and two setns per socket, the Monitor before socket
// factories) and with OpenFactory (a thread kept in each target's
// namespace).
func BenchmarkTCPProbeThroughput100Kept(b *testing.B) {
	for _, mode := range keptModes {
		b.Run(mode.name, func(b *testing.B) {
			sts := benchTargets(b, 100)
			hs := make([]*netns.Handle, len(sts))
			for i, st := range sts {
				h, err := mode.open(st.PID, st.StartTicks)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				hs[i] = h
			}
			throughput(b, TCP{Port: port}, 16, hs)
		})
	}
}

// BenchmarkExecProbeThroughput100 is the same for exec probes (`true`). An
// exec probe is two processes and mostly CPU, so more in flight than cores
// only queues: 4 on this 2-core machine.
func BenchmarkExecProbeThroughput100(b *testing.B) {
	throughput(b, Exec{Command: []string{"true"}}, 4, nil)
}

// BenchmarkHTTPProbeThroughput100 is the same for HTTP probes (GET
// /healthz).
func BenchmarkHTTPProbeThroughput100(b *testing.B) {
	throughput(b, HTTP{Port: port, Path: "/healthz"}, 16, nil)
}

// throughput probes 100 targets round-robin; hs, when set, are their kept
// network namespace handles.
func throughput(b *testing.B, p Probe, concurrency int, hs []*netns.Handle) {
	throughputOf(b, p, concurrency, benchTargets(b, 100), hs)
}

func throughputOf(b *testing.B, p Probe, concurrency int, sts []*state.ContainerState, hs []*netns.Handle) {
	var next, failed atomic.Int64
	b.ResetTimer()
	cpu0, kids0 := cpuTimes(b)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				k := i % int64(len(sts))
				var opts []Option
				if hs != nil {
					opts = append(opts, withHandle(hs[k]))
				}
				res, err := Run(context.Background(), sts[k], p, opts...)
				if err != nil || res.Status != Success {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	cpu, kids := cpuTimes(b)
	cpu, kids = cpu-cpu0, kids-kids0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d probes did not succeed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "probes/s")
	// The prober's own CPU per probe (user+system of this process, which
	// includes the kernel's loopback handshake done on connect): what is
	// left of the elapsed time is spent by the targets and the rest of
	// the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "self-cpu-us/probe")
	if kids > 0 {
		// Exec probes: the middle child, the grandchild and the command,
		// all reaped by this process.
		b.ReportMetric(float64(kids.Microseconds())/float64(b.N), "children-cpu-us/probe")
	}
}

// cpuTimes returns the user+system CPU time this process has used, and
// that of its reaped children.
func cpuTimes(b *testing.B) (self, children time.Duration) {
	var ru, rc syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &rc); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(rc.Utime.Nano() + rc.Stime.Nano())
}
