// Package testcontainer makes real, minimal Linux containers for nucleus's
// tests and its demo: a fresh busybox rootfs, their own mount, pid, uts, ipc,
// net and cgroup namespaces, a /proc, a hostname, loopback up and an optional
// HTTP server, with PID 1 being the static helper program in ./helper.
//
// Rootful containers are started by root. Rootless containers are started by
// an unprivileged uid (Options.OwnerUID) that creates the user namespace
// itself, because the kernel records the euid of a user namespace's creator
// as its owner (user_namespaces(7)), and nucleus must treat such a container
// the way it treats one made by podman or rootless runc.
//
// Everything a container made lives only in its own mount namespace, in a
// temporary rootfs and, with Options.Cgroup, in its own cgroup directories;
// Close removes all of it. Containers need root on the host (RequireRoot).
//
// The helper is built once per process with CGO_ENABLED=0 `go build`, from
// the module source found next to this package (or `go env GOMOD`), unless
// NUCLEUS_TESTHELPER names a prebuilt static binary.
package testcontainer
