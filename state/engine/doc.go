// Package engine finds running containers by name, ID or unique ID prefix
// across the engines and runtimes that make them: Docker (its Engine API),
// Podman (its API socket when `podman system service` runs, else its
// container store and its runtime's state), containerd (every namespace, its
// gRPC API), Kubernetes through the CRI API (namespace/pod/container), the
// state roots of runc, crun and runsc, and nucleus state directories.
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
// The package lives apart from nucleus/attach so that a program importing
// only attach links no engine client (gRPC, CRI, containerd API).
//
// An unprivileged caller only searches what is its own (its rootless
// Podman socket and store, runtime roots and nucleus state directory under
// $XDG_RUNTIME_DIR): the Docker socket, containerd and CRI are root's, and
// naming one of them explicitly is refused before it is dialled.
package engine
