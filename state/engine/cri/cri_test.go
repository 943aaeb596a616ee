package cri_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
	_ "nucleus/state/engine/containerd"
	_ "nucleus/state/engine/cri"
	"nucleus/state/engine/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(enginetest.Main(m)) }

// criPod is a CRI pod of the test's containerd.
type criPod struct{ *testcontainer.CRIPod }

// startCRIPod runs a host-network pod namespace/pod with one container of
// image running the image's default command.
func startCRIPod(t testing.TB, c *testcontainer.Containerd, namespace, pod, container, image string) *criPod {
	t.Helper()
	return &criPod{c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: namespace, Pod: pod, Container: container, Image: image})}
}

// execSync is CRI's exec (what kubelet's exec probes use); it has no user
// flag, so flags are refused.
func (p *criPod) execSync(flags []string, args ...string) (testcontainer.ExecResult, error) {
	if len(flags) > 0 {
		return testcontainer.ExecResult{}, fmt.Errorf("CRI ExecSync takes no flags (%q)", flags)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := p.RS.ExecSync(ctx, &cri.ExecSyncRequest{ContainerId: p.ContainerID, Cmd: args, Timeout: 20})
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
	tarball := enginetest.RootfsTar(t)
	c := testcontainer.StartContainerd(t, tarball)
	c.ImportImage(t, tarball, "nucleus.test/web:1", testcontainer.DefaultImage)
	ns := fmt.Sprintf("ns-%d", os.Getpid())
	p := &criPod{c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: ns, Pod: "web", Container: "server", Image: "nucleus.test/web:1",
		Annotations: map[string]string{"example.test/pod-note": "a"}, Labels: map[string]string{"example.test/tier": "web"}})}

	opts := []engine.Option{engine.WithCRISocket(c.Socket), engine.WithEngines(engine.CRI, engine.Containerd), engine.WithContainerdSocket(c.Socket)}
	name := ns + "/web/server"
	st := enginetest.Find(t, name, opts...)
	status, err := p.RS.ContainerStatus(t.Context(), &cri.ContainerStatusRequest{ContainerId: p.ContainerID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"pid":%d,`, st.PID); !strings.Contains(status.GetInfo()["info"], want) {
		t.Fatalf("Find(%s).PID = %d; CRI info %.300s", name, st.PID, status.GetInfo()["info"])
	}
	if st.ID != p.ContainerID || st.Name != name || st.BundlePath == "" {
		t.Fatalf("Find(%s) = id %s name %s bundle %q; want id %s", name, st.ID, st.Name, st.BundlePath, p.ContainerID)
	}
	// containerd alone, namespace k8s.io.
	if got := enginetest.Find(t, "k8s.io/"+p.ContainerID, engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.Containerd)); got.PID != st.PID {
		t.Errorf("Find(k8s.io/%s) in containerd: pid %d, want %d", p.ContainerID, got.PID, st.PID)
	}
	if got := enginetest.Find(t, p.ContainerID[:12], opts...); got.PID != st.PID {
		t.Errorf("Find(%s): pid %d, want %d", p.ContainerID[:12], got.PID, st.PID)
	}
	list, err := engine.List(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range list {
		names = append(names, string(ct.Engine)+":"+ct.Name)
		if ct.Engine != engine.CRI || ct.Name != name {
			continue
		}
		// What the CRI reports of the pod and the container's labels.
		if ct.Pod == nil || ct.Pod.Namespace != ns || ct.Pod.Name != "web" || ct.Pod.Container != "server" ||
			ct.Pod.ID != p.PodID || ct.Pod.UID == "" || ct.Pod.Annotations["example.test/pod-note"] != "a" {
			t.Errorf("List: %s: pod %+v", name, ct.Pod)
		}
		if ct.Labels["example.test/tier"] != "web" {
			t.Errorf("List: %s: labels %v", name, ct.Labels)
		}
	}
	if !slices.Contains(names, "cri:"+name) {
		t.Errorf("List = %v; want cri:%s", names, name)
	}

	// With containerd's runtime roots searched too (the defaults of a
	// program that links the gRPC sources), each container is listed
	// once, named by the gRPC source: the pod's container by CRI, its
	// sandbox by containerd.
	all := slices.Concat(opts, []engine.Option{engine.WithEngines(engine.Runtime), engine.WithContainerdRuntimeRoot("runc", c.RuncRoot), engine.WithContainerdState(c.State)})
	list, err = engine.List(t.Context(), all...)
	if err != nil {
		t.Fatal(err)
	}
	seen := enginetest.ListedOnce(t, list)
	for id, want := range map[string]string{p.ContainerID: "cri:" + name, p.PodID: "containerd:k8s.io/" + p.PodID} {
		if seen[id] != want {
			t.Errorf("List: %s = %q; want %q (all: %v)", id, seen[id], want, seen)
		}
	}
	if got := enginetest.Find(t, name, all...); got.PID != st.PID || got.Name != name {
		t.Errorf("Find(%s) with the runtime roots: pid %d name %s; want pid %d", name, got.PID, got.Name, st.PID)
	}
	enginetest.CompareWithEngine(t, st, p.execSync, false)
}
