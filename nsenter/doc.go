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
// bootstrap socket at fd 3, a pidfd of the target at fd 4, the target's
// cgroup v1 "tasks" files (opened for writing) from fd 5 on, and the variable
// _NUCLEUS_BOOTSTRAP in the environment; on cgroup v2 it starts it directly
// in the target's cgroup (clone3 with CLONE_INTO_CGROUP). The constructor
// then:
//
//  1. sets itself non-dumpable (CVE-2016-9962);
//  2. reads a [Request] from the socket and closes every fd it did not
//     announce;
//  3. moves itself into each cgroup v1 hierarchy by writing "0" to the
//     tasks files: a move of the calling thread, which the kernel makes
//     without the global lock a write of a PID to cgroup.procs takes (that
//     lock waits for an RCU grace period: milliseconds);
//  4. setns(pidfd, flag) for each namespace asked: user first, then mnt,
//     net, uts, ipc, cgroup, then pid (and time), which apply to children;
//  5. clones a grandchild with CLONE_PARENT, so the Go parent waits for it
//     and reaps it, reports its PID and exits; the grandchild is born in
//     every namespace and cgroup of the target;
//  6. in the grandchild: setsid, optionally TIOCSCTTY, then reads the
//     parent's go-ahead (sent with the request, so normally already there);
//  7. reads the config record (nucleus/internal/child's layout), resolves
//     the user in the container's /etc/passwd and /etc/group and the
//     command in its PATH, applies the compiled Program (the hardening
//     steps of nucleus/internal/hardencore's apply.c) and executes the
//     command, or the host binary by fd (child.c). No Go runtime ever
//     starts in the container for a command. Only a copy worker returns,
//     hardened, and its Go side (nucleus/internal/child) runs.
//
// # The executable view, and one-shot programs
//
// The child is executed from [OverlayView]: the running binary seen through
// a detached read-only overlayfs mount (view.c; why it protects the binary
// is in nucleus/internal/launch). The same constructor, in a program that
// links nucleus/attach/oneshot (a marker symbol), makes that view on a
// thread of its own and starts the Go runtime with one P, before the
// runtime exists (oneshot.c); [ReleaseOneshotStart] undoes the CPU
// affinity that the second takes.
//
// Every failure is sent back as a [Message] naming the step and the errno
// (an exec failure as MsgExecError), and the process exits without starting
// the runtime. A program built with
// CGO_ENABLED=0 has no constructor: [Available] and [Joined] report false and
// nucleus refuses to run anything rather than run it on the host.
package nsenter
