package testcontainer

import (
	"net"
	"os/exec"
	"path/filepath"
	"testing"
)

// Podman is a private Podman store of one test: its own --root, --runroot
// and --tmpdir, runc as runtime (crun refuses this VM's hybrid cgroups),
// cgroupfs, file events, and explicit rlimits for its containers (the VM's
// defaults are refused). Its containers' runc state is in runc's default
// root, /run/runc, as Podman passes runc no --root.
type Podman struct {
	// Root is its --root: Podman's container store (containers.json).
	Root string
	// Socket is the API socket of `podman system service`, once
	// StartService ran.
	Socket string

	podman string
	dir    string
	svc    *daemon
}

// NewPodman makes the private store and removes, at the test's cleanup, its
// containers, images, service and directory with every mount below it.
func NewPodman(t testing.TB) *Podman {
	t.Helper()
	bin := requireTool(t, "podman")
	requireTool(t, "runc")
	dir := engineDir(t, "podman")
	p := &Podman{Root: filepath.Join(dir, "root"), podman: bin, dir: dir}
	created := missingDirs("/run/runc", "/run/containers", "/run/containers/networks", "/var/lib/containers",
		"/var/lib/containers/cache", "/var/lib/containers/cache/blob-info-cache-v1.boltdb", "/etc/cni/net.d/cni.lock")
	t.Cleanup(func() {
		if err := p.close(); err != nil {
			t.Errorf("testcontainer: podman: %v", err)
		}
		if err := removeCgroupTree(engineCgroup("podman")); err != nil {
			t.Errorf("testcontainer: podman: %v", err)
		}
		created.removeNew()
	})
	return p
}

// Cmd is `podman <private global flags> args...`.
func (p *Podman) Cmd(args ...string) *exec.Cmd {
	global := []string{
		"--root", p.Root, "--runroot", filepath.Join(p.dir, "runroot"), "--tmpdir", filepath.Join(p.dir, "tmp"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--storage-driver", "overlay", "--log-level", "error", "--network-config-dir", filepath.Join(p.dir, "networks"),
	}
	return exec.Command(p.podman, append(global, args...)...)
}

// StartService runs `podman system service` on a socket in the private
// directory and waits until it answers.
func (p *Podman) StartService(t testing.TB) {
	t.Helper()
	sock := filepath.Join(p.dir, "podman.sock")
	cmd := p.Cmd("system", "service", "--time", "0", "unix://"+sock)
	var err error
	p.svc, err = startDaemon("podman-service", p.dir, cmd.Args, func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err != nil {
		t.Fatalf("testcontainer: podman: %v", err)
	}
	p.Socket = sock
}

// Import imports the rootfs tar as image ref with spec's ENV and CMD.
func (p *Podman) Import(t testing.TB, rootfsTar, ref string, spec ImageSpec) {
	t.Helper()
	p.cli().importImage(t, rootfsTar, ref, spec)
}

// Run starts a detached container (--network none, the rlimits this VM
// needs, its cgroup below the test's parent, plus args before the image)
// and returns its id.
func (p *Podman) Run(t testing.TB, name, image string, args ...string) string {
	t.Helper()
	return p.cli().run(t, name, image, args...)
}

// Exec runs `podman exec [flags] name args...`.
func (p *Podman) Exec(flags []string, name string, args ...string) (ExecResult, error) {
	return p.cli().exec(flags, name, args...)
}

func (p *Podman) cli() engineCLI {
	return engineCLI{cmd: p.Cmd, importFlags: []string{"--quiet"}, runFlags: []string{
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "--cgroup-parent", "/" + engineCgroup("podman"),
	}}
}

func (p *Podman) close() error {
	_, _ = runTool(p.Cmd("rm", "-af", "-t", "0"))
	_, _ = runTool(p.Cmd("rmi", "-af"))
	err := p.svc.stop()
	if uerr := unmountBelow(p.dir); uerr != nil && err == nil {
		err = uerr
	}
	return err
}
