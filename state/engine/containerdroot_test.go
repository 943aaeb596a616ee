package engine_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
	"nucleus/state/engine/internal/enginetest"
)

// TestContainerdRoots finds, without containerd's and the CRI's gRPC
// sources (this test binary does not link them), the containers of a
// private containerd from the runtime roots its shims write: a `ctr run`
// container by namespace/id and by unique ID prefix, a CRI pod's container
// by namespace/pod/container from its bundle's annotations, with the PIDs
// containerd reports; the pod's sandbox (pause) container is listed by
// namespace/id only, never by the pod's name.
func TestContainerdRoots(t *testing.T) {
	tarball := enginetest.RootfsTar(t)
	c := testcontainer.StartContainerd(t, tarball)
	ns, id := fmt.Sprintf("nucleus-%d", os.Getpid()), fmt.Sprintf("ctr-web-%d", os.Getpid())
	// Both run in the host's network, as other packages' engine tests do
	// at the same time: they only sleep (the sandbox image), to hold no port.
	pid := c.RunCtr(t, ns, tarball, "nucleus.test/sleep:1", id, testcontainer.ImageSpec{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sleep", "infinity"}})
	kns := fmt.Sprintf("kns-%d", os.Getpid())
	p := c.StartCRIPod(t, testcontainer.CRIPodSpec{Namespace: kns, Pod: "web", Container: "server", Image: c.SandboxImage})

	opts := []engine.Option{engine.WithEngines(engine.Runtime), engine.WithContainerdRuntimeRoot("runc", c.RuncRoot),
		engine.WithContainerdState(c.State), engine.WithRuntimeRoot("runc", t.TempDir())}
	for _, q := range []string{ns + "/" + id, id, "ctr-web-"} {
		st := enginetest.Find(t, q, opts...)
		if st.PID != pid || st.ID != id || st.Name != ns+"/"+id || st.BundlePath == "" {
			t.Errorf("Find(%s) = pid %d id %s name %s bundle %q; ctr task ls pid %d", q, st.PID, st.ID, st.Name, st.BundlePath, pid)
		}
	}

	name := kns + "/web/server"
	st := enginetest.Find(t, name, opts...)
	status, err := p.RS.ContainerStatus(t.Context(), &cri.ContainerStatusRequest{ContainerId: p.ContainerID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"pid":%d,`, st.PID); st.PID == 0 || !strings.Contains(status.GetInfo()["info"], want) {
		t.Fatalf("Find(%s).PID = %d; CRI info %.300s", name, st.PID, status.GetInfo()["info"])
	}
	if st.ID != p.ContainerID || st.Name != name {
		t.Fatalf("Find(%s) = id %s name %s; want id %s", name, st.ID, st.Name, p.ContainerID)
	}
	// Without containerd's state directory (its task bundles are then not
	// where engine looks by default), the bundle `runc state` reports.
	if got := enginetest.Find(t, name, engine.WithEngines(engine.Runtime), engine.WithContainerdRuntimeRoot("runc", c.RuncRoot)); got.ID != p.ContainerID {
		t.Errorf("Find(%s) without the state directory = id %s; want %s", name, got.ID, p.ContainerID)
	}
	out, err := p.RS.ExecSync(t.Context(), &cri.ExecSyncRequest{ContainerId: p.ContainerID, Cmd: []string{"hostname"}, Timeout: 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := enginetest.AttachOut(t, st, nil, "hostname"); got.Stdout != string(out.GetStdout()) || got.Code != 0 {
		t.Errorf("attach hostname to %s = %+v; CRI ExecSync %q", name, got, out.GetStdout())
	}
	// The sandbox carries the pod's name in its annotations too, as a
	// sandbox: no container name of the pod designates it.
	for _, q := range []string{kns + "/web/", kns + "/web/POD", kns + "/web/" + p.PodID} {
		var nf *engine.NotFoundError
		if _, err := engine.Find(t.Context(), q, opts...); !errors.As(err, &nf) {
			t.Errorf("Find(%s) = %v; want a NotFoundError", q, err)
		}
	}
	if got := enginetest.Find(t, "k8s.io/"+p.PodID, opts...); got.ID != p.PodID {
		t.Errorf("Find(k8s.io/%s) = id %s", p.PodID, got.ID)
	}

	list, err := engine.List(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	names := enginetest.ListedOnce(t, list)
	for id, want := range map[string]string{id: "runtime:" + ns + "/" + id, p.ContainerID: "runtime:" + name, p.PodID: "runtime:k8s.io/" + p.PodID} {
		if names[id] != want {
			t.Errorf("List: %s = %q; want %q (all: %v)", id, names[id], want, names)
		}
	}
}
