// Package netns creates sockets inside the network namespace of another
// process without forking, so TCP and HTTP probes cost a few system calls
// instead of a process start.
//
// # The kernel rules this package is built on
//
//   - setns(fd, CLONE_NEWNET) changes the network namespace of the CALLING
//     THREAD only (setns(2): namespaces are per task). Every other thread of
//     the Go process, and therefore every other goroutine, stays where it was.
//   - A socket keeps, for its whole life, the network namespace it was created
//     in (socket(2) binds sk->sk_net at creation; net/core/sock.c). connect,
//     read, write and close may run on any thread afterwards.
//
// So the only step that must run in the target's namespace is socket(2). It
// runs on a goroutine locked to its OS thread (runtime.LockOSThread) that
// first opens its own current namespace (/proc/thread-self/ns/net), switches
// into the target's, creates the socket and switches back. If switching back
// fails the goroutine exits while still locked: the Go runtime then
// terminates that thread instead of returning it to the scheduler's pool, so
// no other goroutine can ever run in a foreign namespace. (A locked thread is
// also never used to clone new runtime threads since Go 1.10, so the foreign
// namespace cannot leak into a new thread either.) The non-blocking connect
// and everything after it run on ordinary goroutines through the runtime
// poller.
//
// The main thread is never the one that switches: /proc/self/ns/net (which
// other code reads as "this process's network namespace") follows the main
// thread, and the runtime cannot terminate the main thread, only park it. For
// the same reason this package never compares a target with
// /proc/self/ns/net, only with /proc/thread-self/ns/net on a locked thread.
//
// Only the network namespace is ever entered here; the mount namespace is
// never touched (it cannot be joined by a multi-threaded process anyway, and
// name resolution would need it: addresses must therefore be IP literals).
//
// # Naming the target safely
//
// A PID may be recycled. Open takes a pidfd first (pidfd_open(2)), checks the
// process start time when the caller knows it, opens /proc/PID/ns/net, and
// then checks that the pidfd's process is still alive: if it is, the
// namespace file was opened from the process the pidfd names, not from a
// newcomer that reused the number. Nothing naming a foreign namespace is
// cached across calls except inside a Handle, which is keyed by its pidfd and
// re-checks that process before every socket.
//
// # Many probes of one target
//
// A caller that probes the same target again and again (a Monitor) opens it
// with OpenFactory instead of Open: the Handle then keeps one locked thread
// inside the target's namespace that makes every socket on request, until
// Close (factory.go). A socket then costs a hand-off between two threads
// instead of a goroutine start, an open of the thread's own namespace and
// two setns calls — and for the kind TCP probes use, not even that: the
// factory keeps the next one made in advance.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/state"
)

// Handle names the network namespace of one live process. It holds a pidfd
// for the process and an open file for its network namespace; both are
// closed by Close. A Handle is safe for concurrent use; Close must not race
// with other methods.
type Handle struct {
	pid   int
	pidfd int
	nsfd  int
	// ns identifies the target's network namespace (nsfs dev and inode).
	ns proc.NSID
	// fac, when set (OpenFactory), makes the sockets on a thread kept in
	// the target's namespace.
	fac *factory
}

// testHookSwitched, when set by a test, is called on the locked thread while
// it is in the target's namespace. Returning true makes the goroutine behave
// as if switching back had failed, so the test can observe that the thread
// is discarded and never reused.
var testHookSwitched func() (skipRestore bool)

// Open returns a Handle for the network namespace of pid. When startTicks is
// non-zero the process must have that start time (field 22 of
// /proc/PID/stat), which guards against a recycled PID between the moment the
// caller looked the process up and now.
//
// Errors wrap state.ErrNotRunning (no such process, or it exited),
// state.ErrStale (start time differs) or state.ErrPermission (EPERM/EACCES).
func Open(pid int, startTicks uint64) (*Handle, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("netns: open: invalid pid %d: %w", pid, state.ErrNotRunning)
	}
	pidfd, err := proc.PidfdOpen(pid)
	if err != nil {
		return nil, classify("netns: pidfd_open", pid, err)
	}
	h := &Handle{pid: pid, pidfd: pidfd, nsfd: -1}
	if startTicks != 0 {
		ticks, err := proc.StartTicks(pid)
		if err != nil {
			h.Close()
			return nil, classify("netns: start time", pid, err)
		}
		if ticks != startTicks {
			h.Close()
			return nil, fmt.Errorf("netns: pid %d: start time %d, want %d: %w", pid, ticks, startTicks, state.ErrStale)
		}
	}
	nsfd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		h.Close()
		return nil, classify("netns: open /proc/PID/ns/net", pid, err)
	}
	h.nsfd = nsfd
	// The namespace file is only trustworthy if the process the pidfd names
	// was still alive after it was opened.
	if err := h.alive(); err != nil {
		h.Close()
		return nil, err
	}
	var target unix.Stat_t
	if err := unix.Fstat(nsfd, &target); err != nil {
		h.Close()
		return nil, fmt.Errorf("netns: fstat target namespace: %w", err)
	}
	h.ns = proc.NSID{Dev: target.Dev, Ino: target.Ino}
	return h, nil
}

// PID is the process the Handle was opened for.
func (h *Handle) PID() int { return h.pid }

// SharesCallerNamespace reports whether the target lives in the calling
// thread's network namespace, which is the process's own (host networking):
// sockets are then made without switching threads.
//
// The answer comes from /proc/thread-self on a locked thread, never from
// /proc/self/ns/net: that link shows the main thread's namespace, which is
// not necessarily the calling thread's (this package never switches the
// main thread, but other code may).
func (h *Handle) SharesCallerNamespace() bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := threadNS()
	return err == nil && cur == h.ns
}

// threadNS returns the network namespace of the calling thread, which must
// be locked.
func threadNS() (proc.NSID, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return proc.NSID{}, fmt.Errorf("netns: stat /proc/thread-self/ns/net: %w", err)
	}
	return proc.NSID{Dev: st.Dev, Ino: st.Ino}, nil
}

// Close releases the pidfd and the namespace file. It is idempotent.
func (h *Handle) Close() error {
	if h.fac != nil {
		h.fac.stop()
		h.fac = nil
	}
	var err error
	if h.nsfd >= 0 {
		err = unix.Close(h.nsfd)
		h.nsfd = -1
	}
	if h.pidfd >= 0 {
		if e := unix.Close(h.pidfd); err == nil {
			err = e
		}
		h.pidfd = -1
	}
	return err
}

// alive checks, through the pidfd, that the target has not exited.
// pidfd_send_signal with signal 0 performs only the existence and
// permission checks (pidfd_send_signal(2), like kill(2) with signal 0).
func (h *Handle) alive() error {
	if h.pidfd < 0 {
		return fmt.Errorf("netns: handle closed: %w", os.ErrClosed)
	}
	if err := proc.PidfdSignal(h.pidfd, 0); err != nil {
		return classify("netns: pidfd_send_signal", h.pid, err)
	}
	return nil
}

// Socket creates a socket (close-on-exec, non-blocking) inside the target's
// network namespace and returns its descriptor, owned by the caller.
func (h *Handle) Socket(family, sotype, proto int) (int, error) {
	if err := h.alive(); err != nil {
		return -1, err
	}
	sotype |= unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK
	if h.fac != nil {
		return h.fac.socket(family, sotype, proto)
	}

	// Fast path: the target is in this thread's namespace already (host
	// networking). Checked and used on one locked thread.
	runtime.LockOSThread()
	if cur, err := threadNS(); err == nil && cur == h.ns {
		fd, err := unix.Socket(family, sotype, proto)
		runtime.UnlockOSThread()
		if err != nil {
			return -1, os.NewSyscallError("socket", err)
		}
		return fd, nil
	}
	runtime.UnlockOSThread()

	r := <-h.spawn(family, sotype, proto, false)
	return r.fd, r.err
}

type socketResult struct {
	fd  int
	err error
}

// spawn starts the goroutine that makes the socket on a locked thread and
// returns the channel its result arrives on.
//
// The main thread is never used for the switch: /proc/self/ns/net, which
// other code reads as "the process's network namespace", shows the main
// thread's, and if switching back failed there the runtime would park the
// main thread for good (it cannot exit it) rather than terminate it. So a
// goroutine that finds itself on the main thread stays locked there and
// hands the work to a second goroutine, which therefore runs on another
// thread. onMain breaks the recursion (the second goroutine cannot land on
// the locked main thread).
func (h *Handle) spawn(family, sotype, proto int, onMain bool) <-chan socketResult {
	ch := make(chan socketResult, 1)
	go func() {
		runtime.LockOSThread()
		if !onMain && unix.Gettid() == unix.Getpid() {
			ch <- <-h.spawn(family, sotype, proto, true)
			runtime.UnlockOSThread()
			return
		}
		fd, err, restored := h.socketOnLockedThread(family, sotype, proto)
		ch <- socketResult{fd, err}
		if restored {
			runtime.UnlockOSThread()
		}
		// Not restored: return while still locked, so the runtime
		// terminates this thread rather than reuse it in a foreign
		// network namespace.
	}()
	return ch
}

// socketOnLockedThread runs on a goroutine locked to its OS thread. It
// reports whether the thread is back in its original namespace; only then
// may the caller unlock it.
func (h *Handle) socketOnLockedThread(family, sotype, proto int) (fd int, err error, restored bool) {
	orig, err := h.enter()
	if err != nil {
		return -1, err, true
	}
	defer unix.Close(orig)
	fd, serr := unix.Socket(family, sotype, proto)
	if rerr := restore(orig); rerr != nil {
		if serr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("netns: setns back to the original network namespace (thread discarded): %w", rerr), false
	}
	if serr != nil {
		return -1, os.NewSyscallError("socket", serr), true
	}
	return fd, nil, true
}

// enter switches the calling thread, which must be locked, into the
// target's namespace and returns a descriptor of the namespace it was in,
// for restore; the caller closes it. On error the thread has not moved.
func (h *Handle) enter() (orig int, err error) {
	orig, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("netns: open /proc/thread-self/ns/net: %w", err)
	}
	if err := unix.Setns(h.nsfd, unix.CLONE_NEWNET); err != nil {
		unix.Close(orig)
		// setns failed: the thread never left its namespace.
		return -1, classify("netns: setns(net)", h.pid, err)
	}
	return orig, nil
}

// restore switches the calling locked thread back into orig. If it fails
// the caller must end its goroutine still locked, so that the runtime
// terminates the thread. testHookSwitched can make it fail on purpose.
func restore(orig int) error {
	if testHookSwitched != nil && testHookSwitched() {
		return errors.New("restore skipped by test hook")
	}
	return unix.Setns(orig, unix.CLONE_NEWNET)
}

// Socket creates a socket inside the network namespace of pid; see
// Handle.Socket. The PID is pinned with a pidfd for the duration of the call.
func Socket(pid, family, sotype, proto int) (int, error) {
	h, err := Open(pid, 0)
	if err != nil {
		return -1, err
	}
	defer h.Close()
	return h.Socket(family, sotype, proto)
}

// Dial connects to addr from inside the network namespace of pid; see
// Handle.Dial.
func Dial(ctx context.Context, pid int, network, addr string) (net.Conn, error) {
	h, err := Open(pid, 0)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Dial(ctx, network, addr)
}

// Dial connects to addr ("ip:port"; "localhost" is taken as the loopback
// address) over network ("tcp", "tcp4", "tcp6", "udp", "udp4", "udp6") from
// inside the target's network namespace. Host names are refused: resolving
// them would use the caller's resolver and files, not the container's.
//
// The socket is created in the target namespace (see the package comment);
// the non-blocking connect and the wait for it run on the calling goroutine
// through the runtime poller, bounded by ctx. Dial errors are *net.OpError
// values like the ones net.Dial returns ("dial tcp 127.0.0.1:80: connect:
// connection refused"); failures to enter the namespace are not (they wrap
// the state sentinels instead).
func (h *Handle) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f, ap, sotype, err := h.dialFile(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, opError(network, ap, sotype, err)
	}
	return c, nil
}

// Connect is Dial for callers that only need to know whether a connection
// can be established (a TCP probe): it connects and closes at once, without
// building a net.Conn. Its errors are Dial's.
func (h *Handle) Connect(ctx context.Context, network, addr string) error {
	fd, ap, sotype, done, err := h.startConnect(ctx, network, addr)
	if err != nil {
		return err
	}
	if done {
		// Connected within connect(2) itself: the descriptor never
		// needs the poller.
		return unix.Close(fd)
	}
	f, err := waitConnect(ctx, fd)
	if err != nil {
		return opError(network, ap, sotype, err)
	}
	return f.Close()
}

func (h *Handle) dialFile(ctx context.Context, network, addr string) (*os.File, netip.AddrPort, int, error) {
	fd, ap, sotype, done, err := h.startConnect(ctx, network, addr)
	if err != nil {
		return nil, ap, sotype, err
	}
	if done {
		return os.NewFile(uintptr(fd), "netns-socket"), ap, sotype, nil
	}
	f, err := waitConnect(ctx, fd)
	if err != nil {
		return nil, ap, 0, opError(network, ap, sotype, err)
	}
	return f, ap, sotype, nil
}

// startConnect creates the socket in the target's namespace and starts a
// non-blocking connect. done reports that the connection is already
// established: over loopback the whole handshake usually runs inside
// connect(2) (the SYN, SYN-ACK and ACK are processed in the softirq that
// runs as the call returns), so the poller, a deadline timer and a
// context hook are only needed when it did not. Otherwise the caller
// waits with waitConnect, which takes ownership of fd.
func (h *Handle) startConnect(ctx context.Context, network, addr string) (fd int, ap netip.AddrPort, sotype int, done bool, err error) {
	sotype, family, ap, err := parseAddr(network, addr)
	if err != nil {
		return -1, ap, 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return -1, ap, 0, false, opError(network, ap, sotype, mapCtxErr(err))
	}
	fd, err = h.Socket(family, sotype, 0)
	if err != nil {
		return -1, ap, 0, false, err
	}
	switch err := unix.Connect(fd, sockaddr(ap)); err {
	case nil:
		return fd, ap, sotype, true, nil
	case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
		// EINTR on a non-blocking connect: the connection continues
		// asynchronously (connect(2)); wait for it like EINPROGRESS.
	default:
		unix.Close(fd)
		return -1, ap, 0, false, opError(network, ap, sotype, os.NewSyscallError("connect", err))
	}
	done, err = connected(fd)
	if err != nil {
		unix.Close(fd)
		return -1, ap, 0, false, opError(network, ap, sotype, err)
	}
	return fd, ap, sotype, done, nil
}

// connected reports whether the non-blocking connect on fd has completed,
// and its error if it failed.
func connected(fd int) (bool, error) {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, os.NewSyscallError("getsockopt", err)
	}
	switch e := unix.Errno(v); e {
	case 0, unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
	default:
		return true, os.NewSyscallError("connect", e)
	}
	// SO_ERROR is 0 both while the handshake is in progress and once it
	// is done; only a peer address proves the connection.
	switch _, err := unix.Getpeername(fd); err {
	case nil:
		return true, nil
	case unix.ENOTCONN:
		return false, nil
	default:
		return true, os.NewSyscallError("getpeername", err)
	}
}

// waitConnect waits through the poller, bounded by ctx, for the connect
// in progress on fd (which it takes ownership of). The returned *os.File
// owns the connected socket.
func waitConnect(ctx context.Context, fd int) (*os.File, error) {
	// os.NewFile registers a non-blocking descriptor with the runtime
	// poller, so deadlines work on it.
	f := os.NewFile(uintptr(fd), "netns-socket")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(dl); err != nil {
			f.Close()
			return nil, err
		}
	}
	stop := context.AfterFunc(ctx, func() {
		// Wake the waiter at once: a deadline in the past.
		_ = f.SetWriteDeadline(time.Unix(1, 0))
	})
	var cerr error
	werr := rc.Write(func(s uintptr) bool {
		// Called before any wait, and again after every wake-up. The
		// first call must look at the socket: RawConn.Write discards a
		// readiness event that arrived before it started, so "wait first"
		// could wait forever for an edge that already passed.
		done, err := connected(int(s))
		cerr = err
		return done
	})
	stop()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		f.Close()
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			// The only deadlines on f are ctx's own and the one the
			// cancel hook sets. The poller's timer may fire a moment
			// before the context's, so ctx.Err() can still be nil here.
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			return nil, timeoutError{}
		}
		return nil, werr
	}
	_ = f.SetWriteDeadline(time.Time{})
	return f, nil
}

// timeoutError is returned when the context's deadline ends a dial. Its
// text matches the net package's ("i/o timeout") and errors.Is accepts both
// context.DeadlineExceeded and os.ErrDeadlineExceeded.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded
}

func mapCtxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return timeoutError{}
	}
	return err
}

func opError(network string, ap netip.AddrPort, sotype int, err error) error {
	var a net.Addr
	if sotype == unix.SOCK_DGRAM {
		a = net.UDPAddrFromAddrPort(ap)
	} else {
		a = net.TCPAddrFromAddrPort(ap)
	}
	return &net.OpError{Op: "dial", Net: network, Addr: a, Err: err}
}

// parseAddr validates network and addr and returns socket parameters.
func parseAddr(network, addr string) (sotype, family int, ap netip.AddrPort, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, 0, ap, fmt.Errorf("netns: dial %s %s: %w", network, addr, err)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil || pn == 0 {
		return 0, 0, ap, fmt.Errorf("netns: dial %s %s: invalid port %q", network, addr, port)
	}
	var ip netip.Addr
	switch host {
	case "", "localhost":
		if network == "tcp6" || network == "udp6" {
			ip = netip.IPv6Loopback()
		} else {
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
	default:
		ip, err = netip.ParseAddr(host)
		if err != nil {
			return 0, 0, ap, fmt.Errorf("netns: dial %s %s: host must be an IP address (names would resolve in the caller's namespaces): %w", network, addr, err)
		}
		if ip.Zone() != "" {
			return 0, 0, ap, fmt.Errorf("netns: dial %s %s: zoned addresses are not supported", network, addr)
		}
	}
	ip = ip.Unmap()
	switch network {
	case "tcp", "tcp4", "tcp6":
		sotype = unix.SOCK_STREAM
	case "udp", "udp4", "udp6":
		sotype = unix.SOCK_DGRAM
	default:
		return 0, 0, ap, fmt.Errorf("netns: dial %s %s: unsupported network", network, addr)
	}
	switch network[len(network)-1] {
	case '4':
		if !ip.Is4() {
			return 0, 0, ap, fmt.Errorf("netns: dial %s %s: not an IPv4 address", network, addr)
		}
	case '6':
		if ip.Is4() {
			return 0, 0, ap, fmt.Errorf("netns: dial %s %s: not an IPv6 address", network, addr)
		}
	}
	family = unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	return sotype, family, netip.AddrPortFrom(ip, uint16(pn)), nil
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// classify wraps err, naming the step, with the state sentinel that matches
// its errno so callers can use errors.Is.
func classify(step string, pid int, err error) error {
	switch {
	case errors.Is(err, unix.ESRCH), errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: pid %d: %w: %w", step, pid, state.ErrNotRunning, err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: pid %d: %w: %w", step, pid, state.ErrPermission, err)
	default:
		return fmt.Errorf("%s: pid %d: %w", step, pid, err)
	}
}
