package main

// How nsattach catches the signals it forwards, without os/signal.
//
// os/signal.Notify costs a one-shot attach two threads of the Go runtime:
// the signal-mask thread it starts (and one round trip to it per signal)
// and the thread that signal delivery then keeps blocked in the runtime.
// Each thread costs its creation at the start and, more, its wake-up at
// the exit (exit_group waits until every thread has run and died: ≈ 40 µs
// a thread on the VM of the README's figures). nsattach catches the six
// signals through the kernel instead, read in the runtime's poller like
// any file:
//
//   - SIGUSR1 and SIGUSR2 are blocked by a constructor before the Go runtime
//     exists. The runtime keeps a blockable signal blocked on every thread
//     it makes (it copies the mask the program started with), so they wait
//     in the kernel, from the first instruction on, until nsattach reads
//     them from a signalfd.
//   - SIGINT, SIGTERM, SIGHUP and SIGQUIT the runtime unblocks on each of
//     its threads (runtime.blockableSig: a signal whose default action
//     kills is never left blocked in a Go program), so a signalfd would
//     never see them. nsattach installs a handler of its own for them
//     (os/signal's documentation allows non-Go handlers for asynchronous
//     signals) that writes the signal's number to a pipe: write(2) is
//     async-signal-safe, and the handler touches nothing of Go's. One that
//     arrives before the handler is installed, early in main, ends
//     nsattach as its default action would.
//
// A signal caught when there is no command to forward it to (the start
// failed, --list, cp) ends nsattach as its default action would: dieBy.
// The command does not inherit nsattach's mask: the grandchild empties its
// signal mask before it executes (nsenter.c).

/*
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

// The signals held blocked from the start and read from a signalfd.
static void nsattach_held(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGUSR1);
	sigaddset(s, SIGUSR2);
}

__attribute__((constructor)) static void nsattach_hold_signals(void)
{
	sigset_t s;

	nsattach_held(&s);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

// A signalfd for the held signals, or -errno.
static int nsattach_held_fd(void)
{
	sigset_t s;
	int fd;

	nsattach_held(&s);
	fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int nsattach_caught_w = -1;

static void nsattach_on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	// A full pipe drops the signal, as a full os/signal channel would.
	(void)!write(nsattach_caught_w, &b, 1);
	errno = saved;
}

// Installs the handler for the signals the runtime leaves unblocked; their
// numbers go to w. SA_ONSTACK: the Go runtime runs every thread with a
// small stack and an alternate one for signals (os/signal's documentation
// requires it of every non-Go handler). 0, or the errno.
static int nsattach_catch(int w)
{
	static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa;
	size_t i;

	nsattach_caught_w = w;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nsattach_on_signal;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		if (sigaction(caught[i], &sa, NULL) < 0)
			return errno;
	return 0;
}

// The default action of sig, on the calling thread: the default
// disposition, unblocked, raised. Terminating signals end the process
// here, as if nsattach had never caught them.
static void nsattach_die_by(int sig)
{
	struct sigaction sa;
	sigset_t s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	sigemptyset(&s);
	sigaddset(&s, sig);
	raise(sig);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// catchForwarded starts delivering the forwarded signals to a channel —
// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2, the ones a user or
// a supervisor sends, as nsenter-style tools forward them (SIGKILL and
// SIGSTOP cannot be caught; SIGCHLD, SIGWINCH, handled for -t, SIGURG, the
// runtime's preemption, and SIGPIPE are about nsattach itself):
// those caught by the handler through its pipe, the held ones through
// their signalfd, each read by a goroutine in the runtime's poller. Never
// undone: nsattach exits once the command's status is known.
func catchForwarded() (<-chan os.Signal, error) {
	sigs := make(chan os.Signal, 32)
	held := C.nsattach_held_fd()
	if held < 0 {
		return nil, fmt.Errorf("signalfd: %w", syscall.Errno(-held))
	}
	go readSignals(os.NewFile(uintptr(held), "signalfd"), sizeofSignalfdSiginfo, sigs)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("signal pipe: %w", err)
	}
	if errno := C.nsattach_catch(C.int(p[1])); errno != 0 {
		return nil, fmt.Errorf("sigaction: %w", syscall.Errno(errno))
	}
	go readSignals(os.NewFile(uintptr(p[0]), "signal pipe"), 1, sigs)
	return sigs, nil
}

// sizeofSignalfdSiginfo is the size of a struct signalfd_siginfo, what a
// signalfd reads per signal (signalfd(2)).
const sizeofSignalfdSiginfo = 128

// readSignals sends on sigs each signal read from f, in records of size
// bytes that start with the signal's number: a signalfd_siginfo (whose
// first field is a uint32) or the handler's one byte.
func readSignals(f *os.File, size int, sigs chan<- os.Signal) {
	buf := make([]byte, 16*size)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		for i := 0; i+size <= n; i += size {
			num := uint32(buf[i])
			if size > 1 {
				num = binary.NativeEndian.Uint32(buf[i:])
			}
			sigs <- syscall.Signal(num)
		}
	}
}

// dieBy ends nsattach with sig's default action (a terminating signal
// kills it, so that its parent sees the signal, not an exit code).
func dieBy(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		os.Exit(exitOwnError)
	}
	C.nsattach_die_by(C.int(s))
	// A signal whose default action is not to terminate: exit as a shell
	// reports a death by it.
	os.Exit(128 + int(s))
}
