package engine_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"nucleus/internal/testcontainer"
	"nucleus/probe"
	"nucleus/state/engine"
)

// criPod is a pod sandbox and one container made through the CRI API of a
// test's containerd, removed at the test's cleanup.
type criPod struct {
	rs          cri.RuntimeServiceClient
	podID, ctID string
}

// startCRIPod runs a host-network pod namespace/pod (no CNI needed) with
// one container of image running the image's default command.
func startCRIPod(t testing.TB, c *testcontainer.Containerd, namespace, pod, container, image string) *criPod {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+c.Socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", c.Socket)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &criPod{rs: cri.NewRuntimeServiceClient(conn)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sandbox := &cri.PodSandboxConfig{
		Metadata: &cri.PodSandboxMetadata{Name: pod, Namespace: namespace, Uid: fmt.Sprintf("uid-%d", os.Getpid())},
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent: "/" + c.CgroupParent,
			SecurityContext: &cri.LinuxSandboxSecurityContext{
				NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE},
			},
		},
	}
	run, err := p.rs.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: sandbox})
	if err != nil {
		t.Fatalf("CRI RunPodSandbox: %v\ncontainerd log: %s", err, c.Log())
	}
	p.podID = run.GetPodSandboxId()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := p.rs.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.podID}); err != nil {
			t.Errorf("CRI StopPodSandbox: %v", err)
		}
		if _, err := p.rs.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.podID}); err != nil {
			t.Errorf("CRI RemovePodSandbox: %v", err)
		}
	})
	cc, err := p.rs.CreateContainer(ctx, &cri.CreateContainerRequest{
		PodSandboxId:  p.podID,
		SandboxConfig: sandbox,
		Config: &cri.ContainerConfig{
			Metadata: &cri.ContainerMetadata{Name: container},
			Image:    &cri.ImageSpec{Image: image},
			Linux:    &cri.LinuxContainerConfig{},
		},
	})
	if err != nil {
		t.Fatalf("CRI CreateContainer: %v", err)
	}
	p.ctID = cc.GetContainerId()
	if _, err := p.rs.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: p.ctID}); err != nil {
		t.Fatalf("CRI StartContainer: %v", err)
	}
	return p
}

// execSync is CRI's exec (what kubelet's exec probes use); it has no user
// flag, so flags are refused.
func (p *criPod) execSync(flags []string, args ...string) (testcontainer.ExecResult, error) {
	if len(flags) > 0 {
		return testcontainer.ExecResult{}, fmt.Errorf("CRI ExecSync takes no flags (%q)", flags)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := p.rs.ExecSync(ctx, &cri.ExecSyncRequest{ContainerId: p.ctID, Cmd: args, Timeout: 20})
	if err != nil {
		return testcontainer.ExecResult{}, fmt.Errorf("CRI ExecSync %q: %w", args, err)
	}
	return testcontainer.ExecResult{Stdout: string(r.GetStdout()), Code: int(r.GetExitCode())}, nil
}

// TestCRI finds a Kubernetes-style container by namespace/pod/container
// through the CRI API of a private containerd, checks its PID against the
// verbose ContainerStatus, finds it in containerd's k8s.io namespace too,
// and compares attach with CRI's ExecSync.
func TestCRI(t *testing.T) {
	tarball := rootfsTar(t)
	c := testcontainer.StartContainerd(t, tarball)
	c.ImportImage(t, tarball, "nucleus.test/web:1", testcontainer.DefaultImage)
	ns := fmt.Sprintf("ns-%d", os.Getpid())
	p := startCRIPod(t, c, ns, "web", "server", "nucleus.test/web:1")

	opts := []engine.Option{engine.WithCRISocket(c.Socket), engine.WithEngines(engine.CRI, engine.Containerd), engine.WithContainerdSocket(c.Socket)}
	name := ns + "/web/server"
	st := find(t, name, opts...)
	status, err := p.rs.ContainerStatus(t.Context(), &cri.ContainerStatusRequest{ContainerId: p.ctID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"pid":%d,`, st.PID); !strings.Contains(status.GetInfo()["info"], want) {
		t.Fatalf("Find(%s).PID = %d; CRI info %.300s", name, st.PID, status.GetInfo()["info"])
	}
	if st.ID != p.ctID || st.Name != name || st.BundlePath == "" {
		t.Fatalf("Find(%s) = id %s name %s bundle %q; want id %s", name, st.ID, st.Name, st.BundlePath, p.ctID)
	}
	// containerd alone, namespace k8s.io.
	if got := find(t, "k8s.io/"+p.ctID, engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.Containerd)); got.PID != st.PID {
		t.Errorf("Find(k8s.io/%s) in containerd: pid %d, want %d", p.ctID, got.PID, st.PID)
	}
	if got := find(t, p.ctID[:12], opts...); got.PID != st.PID {
		t.Errorf("Find(%s): pid %d, want %d", p.ctID[:12], got.PID, st.PID)
	}
	list, err := engine.List(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range list {
		names = append(names, string(ct.Engine)+":"+ct.Name)
	}
	if !contains(names, "cri:"+name) {
		t.Errorf("List = %v; want cri:%s", names, name)
	}
	compareWithEngine(t, st, p.execSync, false)
}

// TestContainerdNamespace finds a container that `ctr run` made in a
// namespace of its own, by namespace/id, with the PID containerd reports
// and the runc root of its runtime options.
func TestContainerdNamespace(t *testing.T) {
	tarball := rootfsTar(t)
	c := testcontainer.StartContainerd(t, tarball)
	ns, id := fmt.Sprintf("nucleus-%d", os.Getpid()), "web"
	pid := c.RunCtr(t, ns, tarball, "nucleus.test/web:1", id, testcontainer.DefaultImage)
	st := find(t, ns+"/"+id, engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.Containerd))
	if st.PID != pid || st.ID != id || st.BundlePath == "" {
		t.Fatalf("Find(%s/%s) = pid %d id %s bundle %q; ctr task ls pid %d", ns, id, st.PID, st.ID, st.BundlePath, pid)
	}
	if res, err := probeReady(st.PID, probe.HTTP{Port: testcontainer.WebPort, Path: "/"}); err != nil || res.Status != probe.Success {
		t.Errorf("HTTP probe of %s/%s: %+v, %v", ns, id, res, err)
	}
}
