package netns

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// A factory is a goroutine locked to its own OS thread that stays inside
// the target's network namespace for as long as its Handle is open and
// creates sockets on request: a probe then pays a hand-off to that thread
// instead of two setns(2) calls, an open of /proc/thread-self/ns/net and a
// goroutine start. It is meant for a caller that probes the same target
// again and again (a Monitor); one-shot callers keep the disposable thread
// of Handle.Socket.
//
// The rules of the package comment hold for it too: the thread is locked for
// its whole life in the foreign namespace, so no other goroutine ever runs
// on it; it is never the main thread; and when it is done it switches back
// and unlocks, or, if switching back fails, ends while still locked, so the
// runtime terminates it. Every request still goes through Handle.Socket,
// which first re-checks the target through its pidfd: a factory whose
// target exited makes no more sockets, although the namespace (held by the
// thread and the Handle's namespace file) may outlive it.
type factory struct {
	req  chan factoryRequest
	done chan struct{} // closed when the goroutine has ended
}

// testHookFactoryOnMain, when set by a test, is called when a factory's
// goroutine started on the main thread and hands the work to another one.
var testHookFactoryOnMain func()

type factoryRequest struct {
	family, sotype, proto int
	res                   chan socketResult
}

// OpenFactory is Open plus a socket factory kept inside the target's
// network namespace until Close. Use it for a target that is probed
// repeatedly (as Monitor does); Close stops the factory's thread. When the
// target shares the caller's namespace (host networking) no thread is
// kept: Socket makes its sockets directly, as with Open.
func OpenFactory(pid int, startTicks uint64) (*Handle, error) {
	h, err := Open(pid, startTicks)
	if err != nil {
		return nil, err
	}
	if h.SharesCallerNamespace() {
		return h, nil
	}
	if err := h.startFactory(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// HasFactory reports whether sockets of h are made by a factory thread
// kept in the target's namespace (OpenFactory, target not on the host
// network).
func (h *Handle) HasFactory() bool { return h.fac != nil }

// startFactory starts the factory goroutine and waits until it is inside
// the target's namespace, or failed to get there.
func (h *Handle) startFactory() error {
	f := &factory{req: make(chan factoryRequest), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			f.serve(h, ready)
			return
		}
		// Never switch the main thread (see spawn). Holding it locked
		// while a second goroutine locks its own thread puts that one on
		// another thread; the main thread is released at once after.
		if testHookFactoryOnMain != nil {
			testHookFactoryOnMain()
		}
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			f.serve(h, ready)
		}()
		<-locked
		runtime.UnlockOSThread()
	}()
	if err := <-ready; err != nil {
		<-f.done
		return err
	}
	h.fac = f
	return nil
}

// serve runs on a goroutine locked to a thread that is not the main thread.
// It unlocks the thread only once it is back in its own namespace.
func (f *factory) serve(h *Handle, ready chan<- error) {
	defer close(f.done)
	orig, err := h.enter()
	if err != nil {
		ready <- err
		runtime.UnlockOSThread()
		return
	}
	defer unix.Close(orig)
	ready <- nil
	for r := range f.req {
		fd, err := unix.Socket(r.family, r.sotype, r.proto)
		if err != nil {
			r.res <- socketResult{-1, os.NewSyscallError("socket", err)}
			continue
		}
		r.res <- socketResult{fd, nil}
	}
	if err := restore(orig); err != nil {
		// Return still locked: the runtime terminates this thread
		// instead of reusing it in a foreign namespace.
		return
	}
	runtime.UnlockOSThread()
}

// socket asks the factory for a socket.
func (f *factory) socket(family, sotype, proto int) (int, error) {
	res := make(chan socketResult, 1)
	f.req <- factoryRequest{family, sotype, proto, res}
	r := <-res
	return r.fd, r.err
}

// stop ends the factory and waits until its thread has left the target's
// namespace (or was discarded).
func (f *factory) stop() {
	close(f.req)
	<-f.done
}
