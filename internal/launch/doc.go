// Package launch is the engine shared by attach and exec probes: the parent
// side that checks a request, opens the target, starts the re-executed
// child and waits for the command; and the child side, dispatched during
// package initialisation, that hardens its thread and executes the command.
//
// # Parent
//
//  1. Check the request (command, NUL bytes, dir), the caller's right (root
//     or the container's creator) and that the target runs and is not stale.
//  2. Open a pidfd of the target and check its start ticks again after
//     opening it: from there on the pidfd names the target.
//  3. Start the sealed memfd copy of this program (once per process) with
//     argv[0] = "nucleus-launch", the bootstrap socket at fd 3 and the
//     pidfd at fd 4. No Pdeathsig: it would kill the grandchild.
//  4. The constructor (nucleus/nsenter) joins, forks the grandchild with
//     CLONE_PARENT and reports its PID; the parent reaps the middle child,
//     opens a pidfd of the grandchild and moves it into the target's cgroups.
//  5. Send the go-ahead and the JSON config. EOF on the close-on-exec socket
//     means the execve succeeded; a message is a failure with its step.
//  6. Wait on the pidfd through the runtime's poller (no thread blocked, no
//     polling interval) and reap. A cancelled context SIGKILLs the
//     command's process group first.
//
// # Child
//
// The grandchild's Go runtime starts inside every namespace of the target.
// This package's init recognises argv[0] and runs the entrypoint: it reads the
// config, looks the command up in the container's PATH, runs harden's
// sequence on its locked thread and calls execve on that same thread.
package launch
