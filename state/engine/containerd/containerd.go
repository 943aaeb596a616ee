// Package containerd adds containerd's gRPC API to the sources of
// nucleus/state/engine: every namespace's containers with their labels,
// status and the runtime root of their runc options. A program links it
// by importing it for its side effect,
//
//	import _ "nucleus/state/engine/containerd"
//
// and engine.WithEngines(engine.Containerd) and engine.WithContainerdSocket
// then ask containerd. Without it engine still finds containerd's running
// containers by namespace/id from the runtime roots containerd's shims
// write (see engine's doc), without labels; the package stays apart
// because linking grpc and the containerd API's protobuf descriptors
// costs every process ≈ 1.8 ms of package initialisation before main.
package containerd

import (
	"context"
	"fmt"
	"path/filepath"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"google.golang.org/grpc/metadata"

	"nucleus/state/engine/internal/grpcconn"
	"nucleus/state/engine/internal/hook"
)

func init() { hook.Containerd = list }

// defaultShimRoot is where containerd's runc shim keeps runc's state when
// the container's runtime options do not say: <root>/<namespace>.
const defaultShimRoot = "/run/containerd"

// list lists containerd's containers in every namespace through its gRPC
// API (namespaces, containers, tasks services).
func list(ctx context.Context, socket string) ([]hook.Container, error) {
	name := fmt.Sprintf("containerd (%s)", socket)
	conn, err := grpcconn.Dial(socket)
	if err != nil {
		return nil, hook.Annotate(name, err)
	}
	defer conn.Close()
	nss, err := namespacesapi.NewNamespacesClient(conn).List(ctx, &namespacesapi.ListNamespacesRequest{})
	if err := grpcconn.AbsentService(err); err != nil {
		return nil, hook.Annotate(name+": list namespaces", err)
	}
	cc, tc := containersapi.NewContainersClient(conn), tasksapi.NewTasksClient(conn)
	var out []hook.Container
	for _, ns := range nss.GetNamespaces() {
		nctx := metadata.AppendToOutgoingContext(ctx, "containerd-namespace", ns.GetName())
		cs, err := cc.List(nctx, &containersapi.ListContainersRequest{})
		if err != nil {
			return nil, fmt.Errorf("%s: namespace %s: list containers: %w", name, ns.GetName(), err)
		}
		ts, err := tc.List(nctx, &tasksapi.ListTasksRequest{})
		if err != nil {
			return nil, fmt.Errorf("%s: namespace %s: list tasks: %w", name, ns.GetName(), err)
		}
		type task struct {
			pid    int
			status string
		}
		tasks := map[string]task{}
		for _, t := range ts.GetTasks() {
			// The init process's id is the container's (exec'd processes
			// are not listed here).
			tasks[t.GetID()] = task{int(t.GetPid()), statusName(t.GetStatus().String())}
		}
		for _, c := range cs.GetContainers() {
			id := c.GetID()
			full := ns.GetName() + "/" + id
			ct := hook.Container{Name: full, ID: id, Aliases: []string{id, full}, Status: "created", Labels: c.GetLabels()}
			if t, ok := tasks[id]; ok {
				ct.PID, ct.Status = t.pid, t.status
			}
			if r, ok := shimRoot(c.GetRuntime(), ns.GetName()); ok {
				ct.Roots = []hook.Root{r}
			}
			out = append(out, ct)
		}
	}
	return out, nil
}

// shimRoot is the runtime and state root containerd's shim gives the OCI
// runtime: the Root of the container's runc options (Docker sets
// /run/docker/runtime-runc), else containerd's default, then the namespace.
func shimRoot(rt *containersapi.Container_Runtime, ns string) (hook.Root, bool) {
	bin, ok := hook.RuntimeOf(rt.GetName())
	if !ok {
		return hook.Root{}, false
	}
	root := filepath.Join(defaultShimRoot, bin)
	if a := rt.GetOptions(); a != nil {
		var o runcoptions.Options
		if a.UnmarshalTo(&o) == nil {
			if o.GetBinaryName() != "" {
				if b, ok := hook.RuntimeOf(filepath.Base(o.GetBinaryName())); ok {
					bin = b
				}
			}
			if o.GetRoot() != "" {
				root = o.GetRoot()
			}
		}
	}
	return hook.Root{Runtime: bin, Dir: filepath.Join(root, ns)}, true
}

// statusName turns containerd's STATUS_RUNNING style into "running".
func statusName(s string) string {
	switch s {
	case "RUNNING":
		return "running"
	case "CREATED":
		return "created"
	case "STOPPED":
		return "stopped"
	case "PAUSED":
		return "paused"
	case "PAUSING":
		return "pausing"
	}
	return "unknown"
}
