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
//
// So that a probe does not wait for the factory's thread to be scheduled
// (on a loaded machine that wait is what a hand-off costs), the factory
// keeps one socket of the kind TCP probes use (primedKind) made in
// advance: Socket takes it without waking anything and asks for the next
// one, which the factory makes while the caller connects. It is an
// unbound, unconnected socket of the target's namespace; Close closes it.
type factory struct {
	req chan factoryRequest
	// primed holds at most one socket of primedKind; refill asks the
	// factory for the next one.
	primed chan int
	refill chan struct{}
	done   chan struct{} // closed when the goroutine has ended
}

// primedKind is the socket a factory makes in advance: IPv4 TCP,
// close-on-exec and non-blocking, as Handle.Socket makes it.
var primedKind = factoryRequest{family: unix.AF_INET, sotype: unix.SOCK_STREAM | unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK}

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
	f := &factory{
		req:    make(chan factoryRequest),
		primed: make(chan int, 1),
		refill: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
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

// serve runs on a goroutine locked to a thread that is not the main thread,
// and ends with it: it never unlocks the thread after entering the target's
// namespace.
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
	f.prime()
	for running := true; running; {
		select {
		case r, ok := <-f.req:
			if !ok {
				running = false
				break
			}
			fd, err := unix.Socket(r.family, r.sotype, r.proto)
			if err != nil {
				r.res <- socketResult{-1, os.NewSyscallError("socket", err)}
				continue
			}
			r.res <- socketResult{fd, nil}
		case <-f.refill:
			f.prime()
		}
	}
	// Stopped: no caller takes the primed socket any more.
	select {
	case fd := <-f.primed:
		unix.Close(fd)
	default:
	}
	// Back to our own namespace before anyone is told the factory stopped,
	// so that no thread of ours is seen in the target's afterwards; then
	// return still locked, whether or not that worked: the runtime
	// terminates the thread instead of keeping it idle (or reusing it in
	// a foreign namespace). A Monitor opens a factory per watched target, so
	// threads put back into the pool would pile up to the number of
	// targets ever watched at once and stay (the runtime never frees an
	// idle thread).
	_ = restore(orig)
}

// prime makes the next socket of primedKind if none is waiting. Only the
// factory's goroutine sends on primed, so the send never blocks. A failure
// is not kept: the next request of that kind gets its own error.
func (f *factory) prime() {
	if len(f.primed) > 0 {
		return
	}
	if fd, err := unix.Socket(primedKind.family, primedKind.sotype, primedKind.proto); err == nil {
		f.primed <- fd
	}
}

// socket returns the primed socket when one of that kind is waiting, and
// asks for the next; otherwise it asks the factory and waits.
func (f *factory) socket(family, sotype, proto int) (int, error) {
	if family == primedKind.family && sotype == primedKind.sotype && proto == primedKind.proto {
		select {
		case fd := <-f.primed:
			select {
			case f.refill <- struct{}{}:
			default: // a refill is asked for already
			}
			return fd, nil
		default:
		}
	}
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
