// Package attach runs a command inside a running container.
//
// The command joins the container's namespaces — its user namespace first
// when it has one, then mount, network, UTS, IPC and cgroup, and its PID
// namespace last, through a fork — and its cgroups, takes the container's
// process identity, and is hardened before execve: no_new_privs, every
// capability dropped, a seccomp allow-list, a Landlock policy, non-dumpable,
// no host file descriptors, a working directory verified to be inside the
// container. [Attach] returns its exit code, or 128 plus the number of the
// signal that killed it, as a shell and runc do.
//
// The join itself happens in a re-executed copy of the calling program,
// before its Go runtime starts (see package nucleus/nsenter). That imposes
// one rule on an embedding program: it must be built with cgo and import
// this package (directly or not) from its main package; nothing needs to be
// called from main. See the module's doc for details.
//
// Errors name the step that failed ("attach: nsenter: setns(mnt): operation
// not permitted"); [ErrNotRunning], [ErrStale], [ErrPermission] and
// [ErrUnsupported] work with errors.Is. A missing command is an error that
// satisfies errors.Is(err, fs.ErrNotExist), not an exit code 127: the
// command never ran.
package attach
