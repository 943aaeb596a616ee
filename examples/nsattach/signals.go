package main

// nsattach holds the signals it forwards blocked from its first
// instruction, so that none of them can kill it before it forwards them,
// and so that installing the forwarding is off the path of an attach.
//
// os/signal.Notify makes one round trip per signal to the runtime's
// signal-mask thread (starting that thread first): ≈ 0.2 ms of a one-shot
// attach when it must finish before the start, as it must if the signals
// are deliverable — one that arrived earlier would kill nsattach with its
// default action, perhaps after the command started and before anyone
// could forward to it. Blocked from the start by this constructor (before
// the Go runtime exists, so that every thread it makes inherits the mask),
// a signal instead stays pending with the kernel until Notify unblocks it
// on the signal-mask thread (the Go runtime keeps a mask the program
// started with on its own threads, os/signal's documentation), and Notify
// can run on a goroutine while the start waits for the children. The
// command does not inherit the mask: the grandchild empties its signal
// mask before it executes (nsenter.c).
//
// A signal that arrives when there is no command to forward it to (the
// start failed, --list, cp) ends nsattach as its default action would:
// dieBy.

/*
#include <signal.h>
#include <string.h>

static const int nsattach_held[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

__attribute__((constructor)) static void nsattach_hold_signals(void)
{
	sigset_t s;
	size_t i;

	sigemptyset(&s);
	for (i = 0; i < sizeof(nsattach_held) / sizeof(nsattach_held[0]); i++)
		sigaddset(&s, nsattach_held[i]);
	sigprocmask(SIG_BLOCK, &s, NULL);
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
	"os"
	"os/signal"
	"syscall"
)

// forwarded are the signals passed on to the command, as nsenter-style
// tools do for the ones a user or a supervisor sends; the constructor
// above holds the same list blocked. SIGKILL and SIGSTOP cannot be
// caught; SIGCHLD, SIGWINCH (handled for -t), SIGURG (the Go runtime's
// preemption) and SIGPIPE are about nsattach itself.
var forwarded = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// catchForwarded starts delivering the held signals to a channel, on a
// goroutine: they wait in the kernel until then. Never stopped: nsattach
// exits once the command's status is known, and signal.Stop would hand
// each signal's disposition back to the signal-mask thread, one round trip
// per signal, on the way out.
func catchForwarded() <-chan os.Signal {
	sigs := make(chan os.Signal, 32)
	go signal.Notify(sigs, forwarded...)
	return sigs
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
