// Package nucleus is a library that runs commands inside running Linux
// containers and health-probes them from inside, safely enough to point at a
// hostile container and cheaply enough to do it all day.
//
// # Packages
//
//   - nucleus/attach runs a command inside a container: attach.Attach(st, cmd),
//     as the container's own process by default; a host binary inside
//     (WithHostBinary); copies in and out as tar streams (CopyTo, CopyFrom).
//   - nucleus/probe runs exec, TCP and HTTP probes with kubelet's semantics,
//     and a Monitor for many containers; nucleus/probe/grpcprobe adds gRPC
//     health probes and nucleus/probe/metrics kubelet's prober metrics, each
//     in a package of its own so that grpc and Prometheus are linked only
//     where asked for.
//   - nucleus/state describes a container: nucleus state files, OCI runtime
//     states, any PID; nucleus/state/engine finds one by name across
//     Docker, Podman, containerd, Kubernetes and runtime roots (containerd's
//     and CRI's gRPC APIs in nucleus/state/engine/containerd and .../cri,
//     linked only where imported: their package initialisation, ≈ 1.8 ms,
//     costs a one-shot CLI almost as much as an attach).
//   - nucleus/harden is the hardening applied before execve and its two
//     policies: the container's own confinement (the default) and the strict
//     sandbox; nucleus/harden/seccomppolicy assembles custom seccomp floors.
//   - nucleus/nsenter is the C constructor that joins the namespaces,
//     hardens and executes the command.
//
// # The model
//
// To run a command in a container, nucleus re-executes the calling program
// through a read-only view of itself — a detached overlayfs mount of its
// binary's directory, or a sealed in-memory copy where that cannot be made —
// never from the file on disk (CVE-2019-5736). In that child a C constructor joins the container's
// namespaces before the Go runtime starts — the kernel refuses a user
// namespace to a multi-threaded process, and the Go runtime is multi-threaded
// from its first instruction — then forks into the container's PID namespace.
// The grandchild, still in C and before any Go runtime, hardens itself and
// executes the command. The caller waits on a pidfd and gets the exit code.
//
// # The bootstrap rule for embedders
//
// A program that imports nucleus/attach or nucleus/probe must be built with
// cgo (CGO_ENABLED=1, the default where a C compiler is present). Nothing
// has to be called from main: the child's entrypoint is dispatched while the
// packages initialise, before main runs. Programs that already call
// reexec.Init() from github.com/moby/sys/reexec keep doing so.
//
// No Go code of the embedding program runs inside the container for a
// command: the grandchild executes it from the constructor. Only the copy
// workers (CopyTo, CopyFrom) start Go there, already hardened, dispatched
// from nucleus/internal/child, whose imports are only low-level packages:
// Go initialises it right after syscall, before time, os and every package
// that needs them. A package initialised before it (one that imports only
// the lowest-level packages and sorts before it by import path) would run
// in a copy worker: keep such inits cheap and free of side effects, or
// import nucleus/attach from them. A binary
// built with CGO_ENABLED=0 refuses to attach with ErrUnsupported rather than
// run anything on the host.
package nucleus
