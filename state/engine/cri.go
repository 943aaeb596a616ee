package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criSource lists Kubernetes containers through the CRI RuntimeService of
// containerd or CRI-O: pod sandboxes for namespace and pod name, containers
// for the container name, and (status, when needed) the verbose
// ContainerStatus for the PID.
type criSource struct{ socket string }

func (s *criSource) name() string { return fmt.Sprintf("cri (%s)", s.socket) }

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

func (s *criSource) list(ctx context.Context) ([]Container, error) {
	conn, err := dialUnix(s.socket)
	if err != nil {
		return nil, annotate(s.name(), err)
	}
	defer conn.Close()
	rs := cri.NewRuntimeServiceClient(conn)
	pods, err := rs.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err := absentService(err); err != nil {
		return nil, annotate(s.name()+": list pod sandboxes", err)
	}
	podOf := map[string]Pod{}
	for _, p := range pods.GetItems() {
		m := p.GetMetadata()
		podOf[p.GetId()] = Pod{Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUid(), ID: p.GetId(), Annotations: p.GetAnnotations()}
	}
	cs, err := rs.ListContainers(ctx, &cri.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("%s: list containers: %w", s.name(), err)
	}
	var out []Container
	for _, c := range cs.GetContainers() {
		pod, ok := podOf[c.GetPodSandboxId()]
		if !ok {
			continue // a container of no listed pod: nothing to name it by
		}
		pod.Container = c.GetMetadata().GetName()
		full := pod.Namespace + "/" + pod.Name + "/" + pod.Container
		ct := Container{Engine: CRI, Name: full, ID: c.GetId(), aliases: []string{c.GetId(), full},
			Status: criStatus(c.GetState()), Labels: c.GetLabels(), Pod: &pod}
		if c.GetState() == cri.ContainerState_CONTAINER_RUNNING {
			ct.details = []func(context.Context, *Container) error{s.status}
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
func (s *criSource) status(ctx context.Context, ct *Container) error {
	conn, err := dialUnix(s.socket)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name(), err)
	}
	defer conn.Close()
	st, err := cri.NewRuntimeServiceClient(conn).ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: ct.ID, Verbose: true})
	if err != nil {
		return fmt.Errorf("%s: status of %s: %w", s.name(), ct.Name, err)
	}
	if got := st.GetStatus().GetId(); got != ct.ID {
		return fmt.Errorf("%s: status of %s answered for %s", s.name(), ct.ID, got)
	}
	var info criInfo
	if raw, ok := st.GetInfo()["info"]; ok {
		if err := json.Unmarshal([]byte(raw), &info); err != nil {
			return fmt.Errorf("%s: status of %s: info: %w", s.name(), ct.Name, err)
		}
	}
	ct.PID = info.Pid
	if info.RuntimeOptions.Root != "" {
		bin := "runc"
		if b, ok := runtimeOf(info.RuntimeType + " " + filepath.Base(info.RuntimeOptions.BinaryName)); ok {
			bin = b
		}
		// containerd's CRI namespace.
		ct.addRoot(bin, filepath.Join(info.RuntimeOptions.Root, "k8s.io"))
	}
	// CRI-O runs runc and crun with their default roots.
	ct.addRoot("runc", "/run/runc")
	ct.addRoot("crun", "/run/crun")
	return nil
}
