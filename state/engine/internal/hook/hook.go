// Package hook is the seam between nucleus/state/engine and the engine
// sources that speak gRPC (nucleus/state/engine/containerd and
// nucleus/state/engine/cri): plain types and the variables those packages
// set in their init when a program imports them. engine never imports
// them itself: their init (protobuf descriptors of the containerd API and
// k8s.io/cri-api, grpc) costs ≈ 1.8 ms in every process that links them,
// paid before a one-shot CLI's first attach.
package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrAbsent marks a socket or directory that does not exist, or a socket
// that does not serve the API: the engine is not installed or not running,
// which is not an error of the search.
var ErrAbsent = errors.New("absent")

// Root is an OCI runtime state root that may hold a container's state.
type Root struct {
	// Runtime is the runtime's binary (runc, crun, runsc).
	Runtime string
	// Dir is its --root.
	Dir string
}

// Pod is a CRI container's pod sandbox (engine.Pod).
type Pod struct {
	Namespace, Name, UID, ID, Container string
	Annotations                         map[string]string
}

// Container is one container a gRPC source lists (see engine.Container
// for the meaning of each field).
type Container struct {
	Name    string
	ID      string
	Aliases []string
	PID     int
	Status  string
	Labels  map[string]string
	Pod     *Pod
	Roots   []Root
	// Detail, when set, asks the engine for what the listing does not
	// give (the PID and runtime roots of a running CRI container): one
	// request, made only for the container Find returns or when List
	// shows every PID.
	Detail func(ctx context.Context) (Detail, error)
}

// Detail is what a detail request adds to a listed container.
type Detail struct {
	PID   int
	Roots []Root
}

// Lister lists the containers an engine's socket serves; ErrAbsent when
// the socket is absent or does not serve the API.
type Lister func(ctx context.Context, socket string) ([]Container, error)

// The sources the gRPC packages register in their init; nil when the
// program does not link them.
var (
	// Containerd lists containerd's containers, every namespace
	// (nucleus/state/engine/containerd).
	Containerd Lister
	// CRI lists the Kubernetes containers of a CRI socket
	// (nucleus/state/engine/cri).
	CRI Lister
)

// RuntimeOf maps an engine's runtime name (Docker's "runc", containerd's
// "io.containerd.runc.v2", "io.containerd.runsc.v1") to the OCI runtime
// binary that keeps its state.
func RuntimeOf(name string) (string, bool) {
	for _, r := range []string{"runsc", "crun", "runc"} {
		if strings.Contains(name, r) {
			return r, true
		}
	}
	return "", false
}

// Annotate names the engine in err, keeping ErrAbsent recognisable.
func Annotate(what string, err error) error {
	if err == ErrAbsent {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
