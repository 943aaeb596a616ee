// Package state describes the containers nucleus attaches to and probes.
//
// A ContainerState names a container's init process by PID and start ticks
// (field 22 of /proc/PID/stat). A PID alone is not an identity: once a
// process exits its number can be given to an unrelated process, so every
// liveness check (IsRunning, CheckRunning) compares the live start ticks with
// the recorded ones and reports ErrStale when they differ, and ErrNotRunning
// when the process is gone, a zombie, or the state says stopped.
//
// States come from:
//
//   - nucleus state files, <dir>/<id>.json, in the JSON format of the Rust
//     nucleus-container (Load, LoadFile, Save). Files are written atomically
//     with mode 0600 into a directory (created 0700) that must not be a
//     symlink nor owned by another non-root user, and are read without
//     following symlinks, because a state file decides which process a
//     privileged caller enters. DefaultDir gives the usual location.
//   - any running process (FromPID), with its identity read from /proc.
//   - the state an OCI runtime prints (FromOCI): `runc state`, `crun state`,
//     `runsc state`. Its pid is read at once, like FromPID's, so that a later
//     reuse of the PID is seen; "paused" becomes StatusPaused.
//
// A paused container is refused by CheckRunning (ErrNotRunning), whether its
// status says so or its cgroup is found frozen at the time of the check: a
// command that joins a frozen container's cgroups freezes with it, as `runc
// exec` knows when it refuses one.
//
// A gVisor sandbox (the pid `runsc state` reports is the sandbox supervisor,
// `runsc-sandbox ... boot ...`) is recognised by FromPID and FromOCI from
// its command line: UsingGVisor is set, so its namespaces are never joined,
// and RuntimeRoot records the runsc --root a `runsc exec` needs. A command
// line is the process's own choice, so this is a claim that attach and the
// probes verify against the kernel before any runsc command acts on it
// (see ContainerState.UsingGVisor).
//
// The process identity in a state (ProcessUID, ProcessGID, AdditionalGIDs,
// and ProcessIdentity) is always expressed INSIDE the container's user
// namespace: it is what a command attached to the container passes to
// setresuid/setresgid/setgroups after joining that namespace. CreatorUID is
// a host uid: the one, besides root, allowed to attach.
//
// Errors name the step ("state: load /x/y.json: invalid JSON: ...") and wrap
// the sentinels ErrNotRunning, ErrStale, ErrPermission and ErrUnsupported
// for errors.Is; the attach and probe packages re-export them.
package state
