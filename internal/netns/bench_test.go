package netns

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/testutil"
)

// Benchmarks of the pieces of a TCP probe, against a helper process in its
// own network namespace; BenchmarkDialHost is the plain net.Dial baseline in
// the caller's namespace.

func BenchmarkOpen(b *testing.B) {
	testutil.RequireRoot(b)
	tg := startTarget(b, false)
	for b.Loop() {
		h, err := Open(tg.pid, 0)
		if err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}

func BenchmarkSocket(b *testing.B) { benchSocket(b, Open) }

// benchSocket makes sockets in a target opened with open.
func benchSocket(b *testing.B, open func(pid int, startTicks uint64) (*Handle, error)) {
	testutil.RequireRoot(b)
	tg := startTarget(b, false)
	h, err := open(tg.pid, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for b.Loop() {
		fd, err := h.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}

func BenchmarkSocketHost(b *testing.B) {
	for b.Loop() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}

func BenchmarkDial(b *testing.B) {
	testutil.RequireRoot(b)
	tg := startTarget(b, false)
	h, err := Open(tg.pid, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	for b.Loop() {
		c, err := h.Dial(ctx, "tcp", addr(tg.echoPort))
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkDialFastPath dials a listener in the caller's own namespace
// through a Handle (no thread switch): the cost of the package's connect
// path alone.
func BenchmarkDialFastPath(b *testing.B) {
	a := testutil.AcceptAndClose(b)
	h, err := Open(os.Getpid(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	for b.Loop() {
		c, err := h.Dial(ctx, "tcp", a)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkDialHost(b *testing.B) {
	a := testutil.AcceptAndClose(b)
	for b.Loop() {
		c, err := net.Dial("tcp", a)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkSocketFactory is BenchmarkSocket through a factory thread kept
// in the target's namespace (OpenFactory), as a Monitor uses it.
func BenchmarkSocketFactory(b *testing.B) { benchSocket(b, OpenFactory) }

// BenchmarkSocketParallel makes sockets in 8 targets from 16 goroutines at
// once, as a Monitor's probes do, with handles opened by Open (a disposable
// locked thread and two setns per socket) and by OpenFactory (a hand-off to
// the target's factory thread), and reports the CPU this process spends per
// socket (cpu-ns/socket), which the load of a shared machine distorts less
// than the time per operation.
func BenchmarkSocketParallel(b *testing.B) {
	testutil.RequireRoot(b)
	var tgs []*target
	for range 8 {
		tgs = append(tgs, startTarget(b, false))
	}
	for _, mode := range []struct {
		name string
		open func(pid int, startTicks uint64) (*Handle, error)
	}{{"open", Open}, {"factory", OpenFactory}} {
		b.Run(mode.name, func(b *testing.B) {
			hs := make([]*Handle, len(tgs))
			for i, tg := range tgs {
				h, err := mode.open(tg.pid, 0)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				hs[i] = h
			}
			var next atomic.Int64
			cpu0 := processCPU(b)
			b.ResetTimer()
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						fd, err := hs[i%int64(len(hs))].Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
						if err != nil {
							b.Error(err)
							return
						}
						unix.Close(fd)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/socket")
		})
	}
}

// processCPU is the user+system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
