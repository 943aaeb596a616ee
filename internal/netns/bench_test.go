package netns

import (
	"context"
	"net"
	"nucleus/internal/testutil"
	"os"
	"testing"

	"golang.org/x/sys/unix"
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
