package containerd_test

import (
	"fmt"
	"os"
	"testing"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/probe"
	"nucleus/state/engine"
	_ "nucleus/state/engine/containerd"
	"nucleus/state/engine/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(enginetest.Main(m)) }

// TestContainerdNamespace finds a container that `ctr run` made in a
// namespace of its own, by namespace/id, with the PID containerd reports
// and the runc root of its runtime options.
func TestContainerdNamespace(t *testing.T) {
	tarball := enginetest.RootfsTar(t)
	c := testcontainer.StartContainerd(t, tarball)
	ns, id := fmt.Sprintf("nucleus-%d", os.Getpid()), "web"
	// The host's network, which other packages' engine tests share at the
	// same time: a port of its own.
	port := testutil.FreePort(t)
	pid := c.RunCtr(t, ns, tarball, "nucleus.test/web:1", id, testcontainer.ImageSpec{Env: testcontainer.DefaultImage.Env,
		Cmd: []string{"httpd", "-f", "-p", fmt.Sprintf("127.0.0.1:%d", port), "-h", "/www"}})
	st := enginetest.Find(t, ns+"/"+id, engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.Containerd))
	if st.PID != pid || st.ID != id || st.BundlePath == "" {
		t.Fatalf("Find(%s/%s) = pid %d id %s bundle %q; ctr task ls pid %d", ns, id, st.PID, st.ID, st.BundlePath, pid)
	}
	if res, err := enginetest.ProbeReady(st.PID, probe.HTTP{Port: port, Path: "/"}); err != nil || res.Status != probe.Success {
		t.Errorf("HTTP probe of %s/%s: %+v, %v", ns, id, res, err)
	}
}

// TestDocker finds a Docker container through the daemon's containerd
// (namespace moby), by Docker's name and by moby/<id>: the runtime root
// comes from the container's runc options, which Docker sets.
func TestDocker(t *testing.T) {
	tarball := enginetest.RootfsTar(t)
	dd := testcontainer.StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", testcontainer.DefaultImage)
	name := enginetest.UniqueName("docker")
	id := dd.Run(t, name, "nucleus-test:1")
	st := enginetest.Find(t, name, engine.WithDockerHost(dd.Host), engine.WithContainerdSocket(dd.ContainerdSocket),
		engine.WithEngines(engine.Docker, engine.Containerd))
	got := enginetest.Find(t, "moby/"+id, engine.WithContainerdSocket(dd.ContainerdSocket), engine.WithEngines(engine.Containerd))
	if got.PID != st.PID || got.ID != id {
		t.Errorf("Find(moby/%s) in containerd: pid %d id %s; want pid %d", id, got.PID, got.ID, st.PID)
	}
}
