// Package attach runs a command inside a running container.
//
// The command joins the container's namespaces — its user namespace first
// when it has one, then mount, network, UTS, IPC and cgroup, and its PID
// namespace last, through a fork — and its cgroups, takes the container's
// process identity, and is confined before execve as the container's own
// processes are, never looser (harden.ContainerPolicy: the target's
// capability sets, no_new_privs, rlimits, LSM label and OCI seccomp
// profile), with nucleus's seccomp floor on top, non-dumpable, no host file
// descriptors, a working directory verified to be inside the container.
// harden.StrictPolicy (WithPolicy) is the sandbox for agents and untrusted
// commands: no capabilities, no_new_privs, Landlock, no anonymous-file exec. [Attach] returns its exit code, or 128 plus the number of the
// signal that killed it, as a shell and runc do.
//
// By default the command is the container's own process, as `runc exec`
// makes it: the environment, working directory and user of the
// container's OCI config when the state names a readable bundle, else the
// target's initial environment and working directory and the state's
// identity; HOME from the container's /etc/passwd. [WithEnv], [WithCleanEnv],
// [WithDir], [WithUser] and [WithIdentity] change that.
//
// The join itself happens in a re-executed copy of the calling program,
// before its Go runtime starts (see package nucleus/nsenter). That imposes
// one rule on an embedding program: it must be built with cgo and import
// this package (directly or not) from its main package; nothing needs to be
// called from main. See the module's doc for details.
//
// # gVisor
//
// A gVisor container's PID is its sandbox supervisor, whose namespaces hold
// the sandbox, not the guest: they are never joined. A command for a
// gVisor target (state.ContainerState.UsingGVisor, as state.FromOCI and
// state.FromPID find it) is created in the sandbox kernel by `runsc --root
// <runsc root> exec` (runsc in PATH, or [WithRunsc]) with the same
// identity, environment, working directory, stdio, terminal and exit code
// rules. The sandbox kernel is then the isolation boundary: the command
// gets no_new_privs and the container's capabilities (runsc exec's), or
// the Policy's within them, and a Policy with its own seccomp filter or
// Landlock rules (StrictPolicy included) is refused with [ErrUnsupported]. Signals and cancellation reach the command through
// `runsc kill` (runsc exec forwards none without a terminal); Pid is then
// the PID of the runsc exec that waits for it.
//
// UsingGVisor, the container id and the runsc root come from the target's
// command line, which any process can forge (a process of an ordinary
// container can claim to be another container's sandbox). Nothing runs
// until the kernel and runsc vouch for the claim: the target's
// /proc/PID/exe must be the runsc binary that is run (device and inode),
// and `runsc state` in the root, which only root or the caller can write,
// must report this very PID. Otherwise Attach fails with [ErrPermission],
// naming the check. The default identity is process.user of the bundle
// that runsc state reports.
//
// Errors name the step that failed ("attach: nsenter: setns(mnt): operation
// not permitted"); [ErrNotRunning], [ErrStale], [ErrPermission] and
// [ErrUnsupported] work with errors.Is; a paused or frozen container is
// ErrNotRunning, as runc refuses it. A command that could not be executed
// is an [*ExecError] (errors.As), not an exit code 126 or 127: it never ran;
// a missing one also satisfies errors.Is(err, fs.ErrNotExist).
package attach
