// Package launch is the engine shared by attach and exec probes: the parent
// side that checks a request, opens the target, starts the re-executed
// child and waits for the command. The child side, dispatched during
// package initialisation, that hardens its thread and executes the command,
// is nucleus/internal/child.
//
// # Parent
//
//  1. Check the request (command, NUL bytes, dir), the caller's right (root
//     or the container's creator) and that the target runs and is not stale.
//  2. Open a pidfd of the target and check its start ticks again after
//     opening it: from there on the pidfd names the target.
//  3. Open what the cgroup join needs (cgroup.go): the target's cgroup v1
//     "tasks" files and its cgroup v2 directory, where they differ from
//     ours. No cgroup.procs write by PID: it waits for an RCU grace period.
//  4. Start this program through its read-only view (exe.go: the overlay
//     view, else the sealed memfd copy; made once per process) with
//     argv[0] = "nucleus-launch", the bootstrap socket at fd 3, the pidfd at
//     fd 4 and the tasks files from fd 5 on, directly in the target's cgroup
//     v2 (clone3 with CLONE_INTO_CGROUP). GOMAXPROCS=1 in its environment.
//     No Pdeathsig: it would kill the grandchild.
//  5. Send everything in one write: the request, the go-ahead and the
//     binary config (config.go; the Program compiled per attach for the
//     target's confinement, its floor filter assembled once per process). The constructor (nucleus/nsenter) moves itself into the v1
//     cgroups, joins, forks the grandchild with CLONE_PARENT — born in every
//     namespace and cgroup of the target — and reports its PID; the parent
//     reaps the middle child and opens a pidfd of the grandchild. A
//     cancelled context ends this wait too (a container frozen meanwhile).
//  6. EOF on the close-on-exec socket means the execve succeeded; a message
//     is a failure with its step.
//  7. Wait on the pidfd through the runtime's poller (no thread blocked, no
//     polling interval) and reap. A cancelled context SIGKILLs everything
//     the command started first: its cgroup of its own (cmdCgroup), else
//     its process group.
//
// # Child
//
// The grandchild never starts a Go runtime for a command: its constructor
// (nucleus/nsenter, child.c) reads the config, resolves the user and the
// command in the container's files, runs the hardening sequence
// (nucleus/internal/hardencore's apply.c, the one implementation harden's
// Apply also calls) and calls execve. Only a copy worker returns into Go,
// hardened before the runtime starts, so all its threads are; its Go side
// is nucleus/internal/child, whose imports are only low-level packages, so
// Go initialises it right after syscall, before time, os, reflect and
// everything that needs them — nucleus's own dependencies and the
// embedding program's packages alike. The config record is defined,
// encoded and decoded there (child.Config); this package encodes it. This
// package's init keeps the reexec registration, which only a child whose
// constructor did not join reaches.
//
// # gVisor
//
// A gVisor target's PID is its sandbox supervisor, never joined: Start
// hands it to startGVisor (gvisor.go), which first verifies the target's
// claim to be that sandbox (VerifySandbox, sandboxcheck.go), then runs
// `runsc exec` as the child and keeps the Process contract (pidfd wait,
// exit code or 128+signal, cancellation, nothing left behind) by signalling
// the command in the sandbox with `runsc kill`.
package launch
