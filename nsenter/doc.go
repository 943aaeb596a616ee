// Package nsenter joins the namespaces of a running process before the Go
// runtime starts.
//
// # Why a constructor
//
// The kernel refuses setns(CLONE_NEWUSER) to a multi-threaded process, and a
// setns(CLONE_NEWNS) made by one thread of a process whose threads share
// their fs_struct moves the root and working directory of all of them. The Go
// runtime is multi-threaded before the first line of Go runs, so the join is
// done in C, in an ELF constructor (nsenter.c) of the re-executed child,
// while it still has one thread — the way runc's nsexec does it, smaller.
//
// # The dance
//
// The parent (nucleus/internal/launch) starts its own binary with the
// bootstrap socket at fd 3, a pidfd of the target at fd 4 and the variable
// _NUCLEUS_BOOTSTRAP in the environment. The constructor then:
//
//  1. sets itself non-dumpable (CVE-2016-9962) and closes every other fd;
//  2. reads a [Request] from the socket;
//  3. setns(pidfd, flag) for each namespace asked: user first, then mnt,
//     net, uts, ipc, cgroup, then pid (and time), which apply to children;
//  4. clones a grandchild with CLONE_PARENT, so the Go parent waits for it
//     and reaps it, reports its PID and exits;
//  5. in the grandchild: setsid, optionally TIOCSCTTY, then waits for the
//     parent's go-ahead (sent after the cgroup move) and returns, letting the
//     Go runtime start inside the container.
//
// Every failure is sent back as a [Message] naming the step and the errno,
// and the process exits without starting the runtime. A program built with
// CGO_ENABLED=0 has no constructor: [Available] and [Joined] report false and
// nucleus refuses to run anything rather than run it on the host.
package nsenter
