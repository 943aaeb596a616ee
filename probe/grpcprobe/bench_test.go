package grpcprobe_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/testcontainer"
	"nucleus/probe"
	"nucleus/probe/grpcprobe"
	"nucleus/state"
)

// BenchmarkGRPCProbeThroughput100 probes 100 containers, each running the
// health server, round-robin with 16 probes in flight (the Monitor's
// default), as probe's TCP/HTTP/exec throughput benchmarks do, and reports
// probes per second and CPU per probe (getrusage of this process around
// the run: a gRPC probe runs no process).
//
//	go test -run '^$' -bench GRPC -benchtime 2000x ./probe/grpcprobe
func BenchmarkGRPCProbeThroughput100(b *testing.B) {
	testcontainer.RequireRoot(b)
	sts := benchServers(b, 100)
	b.Run("probes", func(b *testing.B) { grpcThroughput(b, sts) })
}

func grpcThroughput(b *testing.B, sts []*state.ContainerState) {
	p := grpcprobe.Probe(grpcprobe.Config{Port: healthPort, Service: "app"})
	var next, failed atomic.Int64
	var ru0, ru1 unix.Rusage
	b.ResetTimer()
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				res, err := probe.Run(context.Background(), sts[i%int64(len(sts))], p)
				if err != nil || res.Status != probe.Success {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru1)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d probes did not succeed", f, b.N)
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(b.N)/el.Seconds(), "probes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/probe")
}

// benchServers starts n containers running the health server and returns
// their states. The containers belong to b, the parent benchmark, which
// runs once: its sub-benchmark is the one run with growing N.
func benchServers(b *testing.B, n int) []*state.ContainerState {
	b.Helper()
	bin := healthServer(b)
	sts := make([]*state.ContainerState, n)
	for i := range sts {
		c := testcontainer.New(b, testcontainer.Options{})
		dst := filepath.Join(c.Rootfs, "healthserver")
		// A hard link spares 100 copies of a 15 MB binary.
		if err := os.Link(bin, dst); err != nil {
			data, err := os.ReadFile(bin)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(dst, data, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		c.Serve(b, healthPort, "/healthserver", "9000")
		st, err := c.State()
		if err != nil {
			b.Fatal(err)
		}
		sts[i] = st
	}
	return sts
}
