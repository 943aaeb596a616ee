// Command nsattach runs a command inside a running container, in the style
// of nsenter and `runc exec`, through nucleus/attach: the command joins the
// container's namespaces and cgroups and gets the container's own
// confinement (its capabilities, no_new_privs, seccomp profile, rlimits and
// LSM label, with nucleus's seccomp floor on top) before it is executed; with
// --strict [--worktree DIR]... it gets the strict sandbox instead (no
// capabilities, Landlock, no exec of anonymous files).
//
//	nsattach [options] CONTAINER [--] command [args...]
//	nsattach --pid N            [options] [--] command [args...]
//	nsattach --state FILE       [options] [--] command [args...]
//	nsattach --oci-state FILE|- [options] [--] command [args...]
//	nsattach --list
//
// The target is a container by name, ID or unique ID prefix (Docker,
// Podman, containerd's namespace/id, Kubernetes' namespace/pod/container,
// runc, crun, runsc or nucleus; see nucleus/state/engine), a
// process (--pid), a nucleus state file (--state), or the JSON an OCI
// runtime prints (`runc state ID | nsattach --oci-state - ...`). --list
// prints the containers the engines show. nsattach links engine alone,
// not its gRPC sources (nucleus/state/engine/containerd and .../cri, ≈ 1.8 ms
// of package initialisation at every start): containerd's and Kubernetes'
// containers are named from the runtime roots and OCI bundles their
// engines write.
// Options: -u uid[:gid] and -g gid,gid (ids as the container sees them;
// with -u and no gid the container's gid is kept, and -u without -g drops
// the supplementary groups), -w dir (working directory, default /), -e
// KEY=VAL (repeatable), -t (a new pseudo-terminal), --strict and --worktree
// DIR (repeatable), --host-binary PATH (run a static host executable
// inside, for images without a shell).
//
//	nsattach cp --pid N SRC :DIR    copy a host file or tree (or - for a tar on stdin) into the container
//	nsattach cp --pid N :SRC DIR    copy out of the container (DIR - for a tar on stdout)
//
// Without -t the command's stdin, stdout and stderr are pipes that nsattach
// copies to and from its own: the command, and so the container, never
// holds an fd of the caller's terminal (see attach.WithStdio).
//
// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to the
// command; one sent during the start waits for the command instead of
// killing nsattach (before the start, one ends nsattach as its default
// action would; signals.go). nsattach exits with the command's exit code (128+N when signal N
// killed it); 126 when the command could not be invoked (permission denied,
// not executable), 127 when it was not found, and 255 for its own errors
// (bad flags, a target that is not running, setup failures), which it
// reports in one line "nsattach: <error>" on stderr — the codes of a shell,
// docker and runc.
//
//go:debug containermaxprocs=0
package main

import (
	"os"
	"runtime"

	// nsattach attaches once and exits: the executable view is made, and
	// the runtime started with one P, before main (see the package).
	_ "nucleus/attach/oneshot"
)

func main() {
	// One P: nsattach runs one goroutine at a time that matters (the
	// start, then the wait), and the other CPUs are for the children it
	// starts — the middle child's exec and constructor run while this
	// process compiles the command's program. With a P per CPU the runtime
	// wakes and spins a second thread for every goroutine it readies (the
	// stdio copiers, the signal forwarder), on the CPU the children need:
	// ≈ 0.1 ms of every one-shot attach on two cores. Blocking system
	// calls still hand the P over, so nothing waits on another goroutine's
	// read. The runtime started with one P already (oneshot) unless
	// GOMAXPROCS was in the environment; then this call, which stops the
	// world, sets it.
	//
	// For the same reason the runtime need not read the CPU limit of
	// nsattach's cgroup at start (containermaxprocs=0, above: ≈ 50 µs of
	// mountinfo and cgroup files).
	runtime.GOMAXPROCS(1)
	os.Exit(nsattach(os.Args[1:]))
}
