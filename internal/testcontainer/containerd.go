package testcontainer

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"nucleus/internal/testutil"
)

// Containerd is a containerd of one test: its own root, state, sockets and
// runc root in a private directory, its CRI plugin enabled with a sandbox
// image imported locally (nothing is pulled) and no CNI (pods use the
// host network, which containerd 1.6 runs without CNI).
type Containerd struct {
	// Socket is its gRPC socket (containerd's and CRI's API).
	Socket string
	// RuncRoot is the runc root its CRI runtime uses, per namespace below it.
	RuncRoot string
	// State is its state directory (containerd's --state): the bundles of
	// its tasks are in <State>/io.containerd.runtime.v2.task/<namespace>/<id>.
	State string
	// SandboxImage is the pod sandbox ("pause") image.
	SandboxImage string
	// CgroupParent is the cgroup parent for its pods (a CRI pod's
	// CgroupParent, "/" + CgroupParent); the test's cleanup removes it.
	CgroupParent string

	ctr string
	dir string
	d   *daemon
}

// containerdConfig is its configuration: version 2 (containerd 1.6).
const containerdConfig = `version = 2
root = "%[1]s/root"
state = "%[1]s/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "%[1]s/containerd.sock"
[ttrpc]
  address = "%[1]s/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "%[1]s/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[2]s"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  # This VM withholds CAP_SYS_RESOURCE: the sandbox's default oom_score_adj
  # of -998 cannot be written, so keep it no lower than containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "%[1]s/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[1]s/cni/bin"
    conf_dir = "%[1]s/cni/conf"
`

// StartContainerd starts the private containerd, imports the sandbox image
// (an OCI archive of the rootfs, `sleep infinity`) into the k8s.io
// namespace, and at the test's cleanup stops it and removes its directory
// and every mount below it (pods must be removed first: CRIPod does).
func StartContainerd(t testing.TB, rootfsTar string) *Containerd {
	t.Helper()
	bin := requireTool(t, "containerd")
	ctr := requireTool(t, "ctr")
	requireTool(t, "containerd-shim-runc-v2")
	dir := engineDir(t, "containerd")
	c := &Containerd{
		Socket: filepath.Join(dir, "containerd.sock"), RuncRoot: filepath.Join(dir, "runc"), State: filepath.Join(dir, "state"),
		SandboxImage: "nucleus.test/pause:1", CgroupParent: engineCgroup("cri"), ctr: ctr, dir: dir,
	}
	t.Cleanup(func() {
		defer removeEngineRunDirs()
		if err := removeCgroupTree(c.CgroupParent); err != nil {
			t.Errorf("testcontainer: containerd: %v", err)
		}
		err := c.d.stop()
		if uerr := unmountBelow(dir); uerr != nil && err == nil {
			err = uerr
		}
		if err != nil {
			t.Errorf("testcontainer: containerd: %v", err)
		}
	})
	cfg := writeOrFail(t, dir, "config.toml", fmt.Sprintf(containerdConfig, dir, c.SandboxImage))
	var err error
	c.d, err = startDaemon("containerd", dir, []string{bin, "--config", cfg, "--log-level", "info"}, func() bool {
		conn, err := net.Dial("unix", c.Socket)
		if err == nil {
			conn.Close()
			_, err = runTool(c.Ctr("k8s.io", "version"))
		}
		return err == nil
	})
	if err != nil {
		t.Fatalf("testcontainer: containerd: %v", err)
	}
	c.ImportImage(t, rootfsTar, c.SandboxImage, ImageSpec{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sleep", "infinity"}})
	return c
}

// Ctr is `ctr --address <socket> --namespace ns args...`.
func (c *Containerd) Ctr(ns string, args ...string) *exec.Cmd {
	return exec.Command(c.ctr, append([]string{"--address", c.Socket, "--namespace", ns}, args...)...)
}

// ImportImage imports the rootfs tar as image ref in the k8s.io namespace
// (where CRI looks), as an OCI archive.
func (c *Containerd) ImportImage(t testing.TB, rootfsTar, ref string, spec ImageSpec) {
	t.Helper()
	c.importImage(t, "k8s.io", rootfsTar, ref, spec)
}

// RunCtr imports the rootfs tar as image ref in namespace ns and runs a
// container id of it with `ctr run -d` (host network, no stdio, runc root
// and cgroup below the test's own), removed with its task and image at the
// test's cleanup (the namespace, which containerd empties of blobs and
// snapshots lazily, goes with the private root). It returns the task's PID.
func (c *Containerd) RunCtr(t testing.TB, ns, rootfsTar, ref, id string, spec ImageSpec) int {
	t.Helper()
	c.importImage(t, ns, rootfsTar, ref, spec)
	t.Cleanup(func() {
		_, _ = runTool(c.Ctr(ns, "task", "kill", "-s", "SIGKILL", id))
		_ = testutil.Within(10*time.Second, func() bool {
			_, err := runTool(c.Ctr(ns, "task", "rm", id))
			return err == nil || !strings.Contains(err.Error(), "running")
		})
		for _, args := range [][]string{{"containers", "rm", id}, {"images", "rm", ref}} {
			if _, err := runTool(c.Ctr(ns, args...)); err != nil {
				t.Errorf("testcontainer: %v", err)
			}
		}
	})
	if _, err := runTool(c.Ctr(ns, "run", "-d", "--null-io", "--net-host", "--runc-root", c.RuncRoot,
		"--cgroup", "/"+c.CgroupParent+"/"+id, ref, id)); err != nil {
		t.Fatalf("testcontainer: %v", err)
	}
	out, err := runTool(c.Ctr(ns, "task", "ls"))
	if err != nil {
		t.Fatalf("testcontainer: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			pid, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("testcontainer: ctr task ls: %q", line)
			}
			return pid
		}
	}
	t.Fatalf("testcontainer: ctr task ls: no task %s: %s", id, out)
	return 0
}

func (c *Containerd) importImage(t testing.TB, ns, rootfsTar, ref string, spec ImageSpec) {
	t.Helper()
	dir := t.TempDir()
	archive, err := OCIArchive(dir, rootfsTar, ref, spec)
	if err != nil {
		t.Fatalf("testcontainer: %v", err)
	}
	out, err := runTool(c.Ctr(ns, "images", "import", archive))
	if err != nil {
		t.Fatalf("testcontainer: ctr import: %v", err)
	}
	if list, _ := runTool(c.Ctr(ns, "images", "ls", "-q")); !strings.Contains(list, ref) {
		t.Fatalf("testcontainer: ctr import of %s: not listed (%s; images: %s)", ref, out, list)
	}
}

// Log is the end of containerd's log, for a test's failure message.
func (c *Containerd) Log() string { return c.d.tail() }
