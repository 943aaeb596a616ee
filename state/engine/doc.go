// Package engine finds running containers by name, ID or unique ID prefix
// across the engines and runtimes that make them: Docker (its Engine API),
// Podman (its API socket when `podman system service` runs, else its
// container store and its runtime's state), containerd (every namespace),
// Kubernetes (namespace/pod/container), the state roots of runc, crun and
// runsc, and nucleus state directories.
//
// Find returns a *state.ContainerState exactly as state.FromOCI gives it:
// the engine names the container and reports its PID; the OCI state is then
// read from the runtime root the engine uses (`runc --root R state ID`), so
// that BundlePath leads to the container's config.json (its process spec),
// the start ticks are recorded, and a gVisor sandbox is detected by the
// state package. The PID the runtime reports must be the one the engine
// reports: nothing inside the container (its argv, comm, files) decides
// which container is returned.
//
// # Where each name comes from
//
// The package itself speaks only HTTP/1.0 over UNIX sockets and reads
// files:
//
//   - Docker and Podman names from their REST APIs (Podman's store without
//     its service), through a client of its own (api.go) rather than
//     net/http, whose TLS, X.509 and HTTP/2 packages would cost every
//     process that links engine ≈ 0.5 ms at start;
//   - containerd's containers as namespace/id from the runtime roots its
//     shims give runc and runsc (/run/containerd/runc/<namespace>/<id>,
//     WithContainerdRuntimeRoot), listed under engine Runtime;
//   - Kubernetes containers as namespace/pod/container from the
//     annotations containerd's CRI plugin (io.kubernetes.cri.*) and CRI-O
//     (io.kubernetes.pod.*, io.kubernetes.container.name) write into the
//     container's OCI bundle: containerd's task bundle
//     (/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>,
//     WithContainerdState), else the bundle the runtime's state reports.
//     The pod sandbox (pause) container is not given the pod's name. The
//     bundles are read only for a name of that form (and for List), so a
//     lookup by PID, name or ID reads none; each must be root's (or the
//     caller's) and writable by no one else, as a runtime root.
//   - runc, crun and runsc state roots, nucleus state directories.
//
// containerd's gRPC API (labels, status of containers that have no task)
// and the CRI API (labels, the pod's annotations and UID, containers of
// CRI-O) are in nucleus/state/engine/containerd and nucleus/state/engine/cri,
// which a program links by importing them for their side effect:
//
//	import (
//		_ "nucleus/state/engine/containerd"
//		_ "nucleus/state/engine/cri"
//	)
//
// Their package initialisation (grpc, the protobuf descriptors of the
// containerd API and k8s.io/cri-api, x/net/trace) is paid by every process
// that links them, before main: nsattach, which imports engine alone, went
// from 2.35 to 0.56 ms of package initialisation (GODEBUG=inittrace=1) and
// from 3.4 to 2.6 ms for `--help` (hyperfine, loaded machine) when they
// left it, its binary from 20.9 to 11.0 MB. When they are
// linked, their sources come before the runtime roots in the attribution
// order, so a container both see is listed once, named by CRI or
// containerd with its labels; WithEngines(CRI, Containerd), WithCRISocket
// and WithContainerdSocket need them and are an error naming the package
// to import when they are not linked.
//
// The package lives apart from nucleus/attach so that a program importing
// only attach links no engine client.
//
// An unprivileged caller only searches what is its own (its rootless
// Podman socket and store, runtime roots and nucleus state directory under
// $XDG_RUNTIME_DIR): the Docker socket, containerd and CRI are root's, and
// naming one of them explicitly is refused before it is dialled.
package engine
