// Package cri adds the Kubernetes Container Runtime Interface (the CRI
// RuntimeService of containerd or CRI-O, k8s.io/cri-api) to the sources of
// nucleus/state/engine: containers named namespace/pod/container with their
// labels, their pod's annotations and status. A program links it by
// importing it for its side effect,
//
//	import _ "nucleus/state/engine/cri"
//
// and engine.WithEngines(engine.CRI) and engine.WithCRISocket then ask the
// CRI. Without it engine still finds a running Kubernetes container by
// namespace/pod/container from the annotations containerd and CRI-O write
// into its OCI bundle (see engine's doc), without labels or pod
// annotations; the package stays apart because linking grpc and the
// CRI's protobuf descriptors costs every process ≈ 1.8 ms of package
// initialisation before main.
package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"nucleus/state/engine/internal/grpcconn"
	"nucleus/state/engine/internal/hook"
)

func init() { hook.CRI = list }

// criInfo is the part of the verbose ContainerStatus "info" used here:
// containerd and CRI-O both report the init's pid; containerd also the
// runtime type and options (runc's Root).
type criInfo struct {
	Pid            int    `json:"pid"`
	RuntimeType    string `json:"runtimeType"`
	RuntimeOptions struct {
		Root       string `json:"root"`
		BinaryName string `json:"binary_name"`
	} `json:"runtimeOptions"`
}

// list lists Kubernetes containers through the CRI RuntimeService: pod
// sandboxes for namespace and pod name, containers for the container
// name, and (Detail, when needed) the verbose ContainerStatus for the PID.
func list(ctx context.Context, socket string) ([]hook.Container, error) {
	name := fmt.Sprintf("cri (%s)", socket)
	conn, err := grpcconn.Dial(socket)
	if err != nil {
		return nil, hook.Annotate(name, err)
	}
	defer conn.Close()
	rs := cri.NewRuntimeServiceClient(conn)
	pods, err := rs.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err := grpcconn.AbsentService(err); err != nil {
		return nil, hook.Annotate(name+": list pod sandboxes", err)
	}
	podOf := map[string]hook.Pod{}
	for _, p := range pods.GetItems() {
		m := p.GetMetadata()
		podOf[p.GetId()] = hook.Pod{Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUid(), ID: p.GetId(), Annotations: p.GetAnnotations()}
	}
	cs, err := rs.ListContainers(ctx, &cri.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("%s: list containers: %w", name, err)
	}
	var out []hook.Container
	for _, c := range cs.GetContainers() {
		pod, ok := podOf[c.GetPodSandboxId()]
		if !ok {
			continue // a container of no listed pod: nothing to name it by
		}
		pod.Container = c.GetMetadata().GetName()
		full := pod.Namespace + "/" + pod.Name + "/" + pod.Container
		ct := hook.Container{Name: full, ID: c.GetId(), Aliases: []string{c.GetId(), full},
			Status: criStatus(c.GetState()), Labels: c.GetLabels(), Pod: &pod}
		if c.GetState() == cri.ContainerState_CONTAINER_RUNNING {
			id := c.GetId()
			ct.Detail = func(ctx context.Context) (hook.Detail, error) { return status(ctx, socket, id, full) }
		}
		out = append(out, ct)
	}
	return out, nil
}

// criStatus turns CONTAINER_RUNNING into "running".
func criStatus(s cri.ContainerState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONTAINER_"))
}

// status asks the verbose ContainerStatus for one container's PID and
// runtime root.
func status(ctx context.Context, socket, id, full string) (hook.Detail, error) {
	name := fmt.Sprintf("cri (%s)", socket)
	conn, err := grpcconn.Dial(socket)
	if err != nil {
		return hook.Detail{}, fmt.Errorf("%s: %w", name, err)
	}
	defer conn.Close()
	st, err := cri.NewRuntimeServiceClient(conn).ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return hook.Detail{}, fmt.Errorf("%s: status of %s: %w", name, full, err)
	}
	if got := st.GetStatus().GetId(); got != id {
		return hook.Detail{}, fmt.Errorf("%s: status of %s answered for %s", name, id, got)
	}
	var info criInfo
	if raw, ok := st.GetInfo()["info"]; ok {
		if err := json.Unmarshal([]byte(raw), &info); err != nil {
			return hook.Detail{}, fmt.Errorf("%s: status of %s: info: %w", name, full, err)
		}
	}
	d := hook.Detail{PID: info.Pid}
	if info.RuntimeOptions.Root != "" {
		bin := "runc"
		if b, ok := hook.RuntimeOf(info.RuntimeType + " " + filepath.Base(info.RuntimeOptions.BinaryName)); ok {
			bin = b
		}
		// containerd's CRI namespace.
		d.Roots = append(d.Roots, hook.Root{Runtime: bin, Dir: filepath.Join(info.RuntimeOptions.Root, "k8s.io")})
	}
	// CRI-O runs runc and crun with their default roots.
	d.Roots = append(d.Roots, hook.Root{Runtime: "runc", Dir: "/run/runc"}, hook.Root{Runtime: "crun", Dir: "/run/crun"})
	return d, nil
}
