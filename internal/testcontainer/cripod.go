package testcontainer

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRIPodSpec is a pod sandbox of one container, as kubelet would ask the
// CRI for it.
type CRIPodSpec struct {
	Namespace, Pod, Container string
	// Image is the container's image (imported with ImportImage); it runs
	// the image's default command.
	Image string
	// Annotations are the sandbox's (kubelet passes the pod's
	// metadata.annotations there).
	Annotations map[string]string
	// Labels are the container's.
	Labels map[string]string
}

// CRIPod is a pod sandbox and its container made through the CRI API of a
// test's containerd.
type CRIPod struct {
	// RS is the CRI RuntimeService client of the pod's containerd.
	RS cri.RuntimeServiceClient
	// PodID and ContainerID are the sandbox's and the container's ids.
	PodID, ContainerID string

	remove sync.Once
	err    error
}

// StartCRIPod runs spec as a host-network pod (no CNI needed) and starts
// its container; the test's cleanup removes the pod (Remove) if the test
// has not.
func (c *Containerd) StartCRIPod(t testing.TB, spec CRIPodSpec) *CRIPod {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+c.Socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", c.Socket)
		}))
	if err != nil {
		t.Fatalf("testcontainer: CRI: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &CRIPod{RS: cri.NewRuntimeServiceClient(conn)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sandbox := &cri.PodSandboxConfig{
		Metadata:    &cri.PodSandboxMetadata{Name: spec.Pod, Namespace: spec.Namespace, Uid: fmt.Sprintf("uid-%s-%d", spec.Pod, os.Getpid())},
		Annotations: spec.Annotations,
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent: "/" + c.CgroupParent,
			SecurityContext: &cri.LinuxSandboxSecurityContext{
				NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE},
			},
		},
	}
	run, err := p.RS.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: sandbox})
	if err != nil {
		t.Fatalf("testcontainer: CRI RunPodSandbox: %v\ncontainerd log: %s", err, c.Log())
	}
	p.PodID = run.GetPodSandboxId()
	t.Cleanup(func() {
		if err := p.Remove(); err != nil {
			t.Errorf("testcontainer: %v", err)
		}
	})
	cc, err := p.RS.CreateContainer(ctx, &cri.CreateContainerRequest{
		PodSandboxId:  p.PodID,
		SandboxConfig: sandbox,
		Config: &cri.ContainerConfig{
			Metadata: &cri.ContainerMetadata{Name: spec.Container},
			Image:    &cri.ImageSpec{Image: spec.Image},
			Labels:   spec.Labels,
			Linux:    &cri.LinuxContainerConfig{},
		},
	})
	if err != nil {
		t.Fatalf("testcontainer: CRI CreateContainer: %v", err)
	}
	p.ContainerID = cc.GetContainerId()
	if _, err := p.RS.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: p.ContainerID}); err != nil {
		t.Fatalf("testcontainer: CRI StartContainer: %v", err)
	}
	return p
}

// Remove stops and removes the pod sandbox and its container, once (as
// kubelet does when a pod is deleted).
func (p *CRIPod) Remove() error {
	p.remove.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := p.RS.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.PodID}); err != nil {
			p.err = fmt.Errorf("CRI StopPodSandbox: %w", err)
			return
		}
		if _, err := p.RS.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.PodID}); err != nil {
			p.err = fmt.Errorf("CRI RemovePodSandbox: %w", err)
		}
	})
	return p.err
}
