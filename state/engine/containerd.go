package engine

import (
	"context"
	"fmt"
	"path/filepath"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"google.golang.org/grpc/metadata"
)

// containerdSource lists containerd's containers in every namespace
// through its gRPC API (namespaces, containers, tasks services).
type containerdSource struct{ socket string }

func (s *containerdSource) name() string { return fmt.Sprintf("containerd (%s)", s.socket) }

// defaultShimRoot is where containerd's runc shim keeps runc's state when
// the container's runtime options do not say: <root>/<namespace>.
const defaultShimRoot = "/run/containerd"

func (s *containerdSource) list(ctx context.Context) ([]Container, error) {
	conn, err := dialUnix(s.socket)
	if err != nil {
		return nil, annotate(s.name(), err)
	}
	defer conn.Close()
	nss, err := namespacesapi.NewNamespacesClient(conn).List(ctx, &namespacesapi.ListNamespacesRequest{})
	if err := absentService(err); err != nil {
		return nil, annotate(s.name()+": list namespaces", err)
	}
	cc, tc := containersapi.NewContainersClient(conn), tasksapi.NewTasksClient(conn)
	var out []Container
	for _, ns := range nss.GetNamespaces() {
		nctx := metadata.AppendToOutgoingContext(ctx, "containerd-namespace", ns.GetName())
		cs, err := cc.List(nctx, &containersapi.ListContainersRequest{})
		if err != nil {
			return nil, fmt.Errorf("%s: namespace %s: list containers: %w", s.name(), ns.GetName(), err)
		}
		ts, err := tc.List(nctx, &tasksapi.ListTasksRequest{})
		if err != nil {
			return nil, fmt.Errorf("%s: namespace %s: list tasks: %w", s.name(), ns.GetName(), err)
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
			ct := Container{Engine: Containerd, Name: full, ID: id, aliases: []string{id, full}, Status: "created", Labels: c.GetLabels()}
			if t, ok := tasks[id]; ok {
				ct.PID, ct.Status = t.pid, t.status
			}
			ct.addRoot(shimRoot(c.GetRuntime(), ns.GetName()))
			out = append(out, ct)
		}
	}
	return out, nil
}

// shimRoot is the runtime and state root containerd's shim gives the OCI
// runtime: the Root of the container's runc options (Docker sets
// /run/docker/runtime-runc), else containerd's default, then the namespace.
func shimRoot(rt *containersapi.Container_Runtime, ns string) (string, string) {
	bin, ok := runtimeOf(rt.GetName())
	if !ok {
		return "", ""
	}
	root := filepath.Join(defaultShimRoot, bin)
	if a := rt.GetOptions(); a != nil {
		var o runcoptions.Options
		if a.UnmarshalTo(&o) == nil {
			if o.GetBinaryName() != "" {
				if b, ok := runtimeOf(filepath.Base(o.GetBinaryName())); ok {
					bin = b
				}
			}
			if o.GetRoot() != "" {
				root = o.GetRoot()
			}
		}
	}
	return bin, filepath.Join(root, ns)
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
