// Package probe health-checks a running container from inside its
// namespaces, the way kubelet's exec, TCP and HTTP probes do, without a
// container runtime in the loop.
//
// # The model
//
// An Exec probe runs a command inside the container with the same engine as
// nucleus/attach (internal/launch): the target is pinned by a pidfd, a
// re-executed helper joins the container's namespaces before the Go runtime
// starts, the command is confined as the container's own processes are
// (identity, the container's capabilities, no_new_privs, rlimits and
// seccomp profile, nucleus's seccomp floor, no host file descriptors; or
// harden.StrictPolicy through WithPolicy) and then executed. Its stdout
// and stderr are captured together into one buffer capped at 10 KiB
// (WithMaxOutput); the capture keeps reading and discards the excess, so a
// chatty command never blocks on a full pipe.
//
// TCP and HTTP probes do not fork. The socket is created inside the target's
// network namespace by a goroutine locked to an OS thread that enters the
// namespace (setns(CLONE_NEWNET) affects that thread only), creates the
// socket and switches back, or dies if it cannot (internal/netns). A socket
// keeps the namespace it was created in, so the connect and the HTTP
// exchange then run on ordinary goroutines. This means 127.0.0.1 is the
// container's loopback: a probe reaches listeners bound only to the
// container's localhost, which a kubelet probe (dialled from the host to the
// pod IP) cannot. Host names are not resolved (that would use the caller's
// resolver); use IP literals or "localhost".
//
// # Result semantics compared with kubelet
//
//   - Exec: exit status 0 → Success; non-zero → Failure with ExitCode; the
//     timeout expiring → Failure with Reason "timeout". A command that
//     cannot run (not found, not executable, refused by Landlock) →
//     Failure with ExitCode 127 or 126 and a Reason "cannot run: …", as
//     kubelet sees the runtime's exec fail: the health check is broken,
//     which is the container's problem, not the prober's. Unlike kubelet
//     (which leaves a timed-out exec probe running) and like containerd,
//     everything the command started is SIGKILLed (its cgroup, cgroup.kill;
//     its process group where no cgroup can be made) and reaped on timeout.
//     After a normal exit it is SIGKILLed too, so a probe never leaves
//     background processes behind in the container.
//   - TCP: connection established → Success (closed at once); any dial error
//     (refused, unreachable, timeout) → Failure with the error text as Reason.
//   - HTTP: GET with User-Agent "nucleus-probe/1.0"; 2xx and 3xx → Success.
//     Redirects follow kubelet's rule: to the same host name they are
//     followed (at most MaxRedirects; one more is a Failure), to another
//     host they are not and the 3xx is a Success with a Warning. HTTPS
//     does not verify certificates, as kubelet does not. Other statuses →
//     Failure with Reason "HTTP <code>"; transport errors → Failure with the
//     error text; a response header longer than 16 KiB
//     (WithMaxHeaderBytes) → Failure naming the cap. Up to 10 KiB of the
//     body is kept as Output. The exchange does not use http.Transport,
//     which allows 10 MiB of header and logs through the global log
//     package to stderr: one request is written on the socket made in the
//     namespace, one response is read with http.ReadResponse from a
//     bounded reader, and the connection is closed.
//   - A paused (frozen) container: exec probes refuse it (Unknown,
//     ErrNotRunning), since the command would freeze too. TCP and HTTP
//     probes skip the freezer lookup (it costs more than the probe) and
//     report what the frozen container's network answers: the kernel still
//     completes the TCP handshake (Success), nothing answers HTTP (timeout,
//     Failure) — what kubelet, dialling from the host, sees as well. A state
//     whose Status is paused or stopped is refused by every probe.
//   - Anything that prevents the probe from running at all — a dead or
//     recycled PID, missing permission, a gVisor sandbox a TCP or HTTP
//     probe cannot reach (see below), an invalid probe —
//     yields Status Unknown and a non-nil error that wraps one of the
//     sentinels (ErrNotRunning, ErrStale, ErrPermission, ErrUnsupported)
//     when one applies. Kubelet likewise reports probe errors as Unknown and
//     discards them.
//
// Every Result carries the Duration of the probe.
//
// # gVisor
//
// In a gVisor sandbox the workload's network stack and processes live
// inside the sandbox kernel; the host PID is the sandbox supervisor
// (runsc-sandbox … boot) and its namespaces are not the guest's, so they
// are never entered. Exec probes run through `runsc --root <runsc root>
// exec` (runsc in PATH, or WithRunsc), with the same output capture,
// timeout and cleanup: a timed-out command and whatever it left in its
// process group are killed in the sandbox with `runsc kill`. TCP and HTTP
// probes depend on runsc's --network, read from the supervisor's command
// line: with host networking the sandbox's sockets are host sockets in the
// supervisor's network namespace, dialled there as for any container; with
// gVisor's own network stack (the default) the sandbox's IP must be given
// as Host, and is dialled from the caller's network namespace, as kubelet
// dials a pod IP (runsc moved the address off the host interfaces, so
// nothing inside the supervisor's namespace reaches it, and the sandbox's
// loopback is unreachable from the host); with --network=none nothing
// reaches it. Those cases are Unknown with an error wrapping
// ErrUnsupported that says why. A command line can be forged, so every
// probe of a gVisor target first verifies the claim, as attach does (the
// PID's executable is the runsc binary; `runsc state` reports this PID).
// A claim that fails is Unknown with ErrPermission.
//
// # Monitor
//
// Monitor runs probes periodically against many targets with bounded
// concurrency and reports health transitions after consecutive failure and
// success thresholds, with kubelet's defaults. Each Target has a liveness
// Probe and optionally a Startup and a Readiness Check, each with its own
// Settings (interval, timeout, thresholds, initial delay); a startup probe
// gates the other two as kubelet's does. A target that is gone
// (ErrNotRunning, ErrStale) counts as a failure. Other probe errors are the
// prober's: kubelet discards them silently; a Monitor logs each, counts it
// (Status, ProbeErrors, OnResult) and, after FailureThreshold of them in a
// row, reports the check as HealthError. Status also returns the last
// results (Docker's health log: 5 results, 4096 bytes of output each), and
// OnResult feeds nucleus/probe/metrics. Add and Remove change the targets
// while it runs. gRPC health probes come from nucleus/probe/grpcprobe, a
// Dialed probe over the same namespace sockets. For
// TCP and HTTP targets it keeps the namespace handle (a pidfd and the
// namespace file) open between probes; the pidfd is checked before every
// socket, so a dead or replaced target is noticed at its next probe.
package probe
