package testcontainer

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Dockerd is a Docker daemon of one test: its own socket, --data-root and
// --exec-root in a private directory, no iptables rules and no bridge
// (containers run with --network none), so it never meets a user's dockerd
// and leaves nothing in the host's network configuration.
type Dockerd struct {
	// Host is its DOCKER_HOST (unix://<dir>/docker.sock).
	Host string
	// ExecRoot is its --exec-root: container state is in
	// <ExecRoot>/runtime-runc/moby.
	ExecRoot string
	// ContainerdSocket is the socket of the containerd it started.
	ContainerdSocket string
	// PID is dockerd's.
	PID int

	docker string
	d      *daemon
}

// StartDockerd starts a private dockerd and stops it at the test's cleanup,
// after removing every container and image it made and the mounts below
// its directory.
func StartDockerd(t testing.TB) *Dockerd {
	t.Helper()
	dockerdBin := requireTool(t, "dockerd")
	docker := requireTool(t, "docker")
	dir := engineDir(t, "docker")
	dd := &Dockerd{
		Host:             "unix://" + filepath.Join(dir, "docker.sock"),
		ExecRoot:         filepath.Join(dir, "exec"),
		ContainerdSocket: filepath.Join(dir, "exec", "containerd", "containerd.sock"),
		docker:           docker,
	}
	cgroup := engineCgroup("docker")
	t.Cleanup(func() {
		if err := dd.close(dir); err != nil {
			t.Errorf("testcontainer: dockerd: %v", err)
		}
		if err := removeCgroupTree(cgroup); err != nil {
			t.Errorf("testcontainer: dockerd: %v", err)
		}
		removeEngineRunDirs()
	})
	sock := filepath.Join(dir, "docker.sock")
	var err error
	dd.d, err = startDaemon("dockerd", dir, []string{dockerdBin,
		"--host", dd.Host, "--data-root", filepath.Join(dir, "data"), "--exec-root", dd.ExecRoot,
		"--pidfile", filepath.Join(dir, "docker.pid"), "--iptables=false", "--ip-masq=false",
		"--ip6tables=false", "--bridge=none", "--storage-driver=overlay2", "--log-level=warn",
		"--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", "/" + cgroup,
		"--config-file", writeOrFail(t, dir, "daemon.json", dockerConfig()),
	}, func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			_, err = runTool(dd.Cmd("version"))
		}
		return err == nil
	})
	if err != nil {
		t.Fatalf("testcontainer: dockerd: %v", err)
	}
	dd.PID = dd.d.cmd.Process.Pid
	return dd
}

// dockerConfig is daemon.json: a "runsc" runtime with the flags gVisor
// needs on this VM (see StartRunsc) when runsc is installed, for
// `Run(..., "--runtime", "runsc")`.
func dockerConfig() string {
	runsc, err := RunscBinary()
	if err != nil {
		return "{}"
	}
	cfg, _ := json.Marshal(map[string]any{"runtimes": map[string]any{"runsc": map[string]any{
		"path":        runsc,
		"runtimeArgs": []string{"--platform=systrap", "--network=none", "--ignore-cgroups", "--gofer-network-namespace=new"},
	}}})
	return string(cfg)
}

func writeOrFail(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Cmd is `docker -H <host> args...`.
func (dd *Dockerd) Cmd(args ...string) *exec.Cmd {
	return exec.Command(dd.docker, append([]string{"-H", dd.Host}, args...)...)
}

// Import imports the rootfs tar (RootfsTar) as image ref with spec's ENV
// and CMD (`docker import --change`).
func (dd *Dockerd) Import(t testing.TB, rootfsTar, ref string, spec ImageSpec) {
	t.Helper()
	dd.cli().importImage(t, rootfsTar, ref, spec)
}

// Run starts a detached container (--network none, plus args before the
// image) and returns its id.
func (dd *Dockerd) Run(t testing.TB, name, image string, args ...string) string {
	t.Helper()
	return dd.cli().run(t, name, image, args...)
}

// Exec runs `docker exec [flags] name args...`.
func (dd *Dockerd) Exec(flags []string, name string, args ...string) (ExecResult, error) {
	return dd.cli().exec(flags, name, args...)
}

func (dd *Dockerd) cli() engineCLI { return engineCLI{cmd: dd.Cmd} }

// close removes the containers and images, stops dockerd (which stops its
// containerd), and removes its directory and every mount below it.
func (dd *Dockerd) close(dir string) error {
	if dd.d != nil {
		if out, err := runTool(dd.Cmd("ps", "-aq")); err == nil && strings.TrimSpace(out) != "" {
			_, _ = runTool(dd.Cmd(append([]string{"rm", "-f"}, strings.Fields(out)...)...))
		}
		if out, err := runTool(dd.Cmd("images", "-q")); err == nil && strings.TrimSpace(out) != "" {
			_, _ = runTool(dd.Cmd(append([]string{"rmi", "-f"}, strings.Fields(out)...)...))
		}
	}
	err := dd.d.stop()
	if uerr := unmountBelow(dir); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// StartDockerContainer is StartDockerd plus DefaultImage imported (from a
// fresh RootfsTar) and a container of it named name: the Docker container
// of a CLI's test. It returns the daemon and the container's id.
func StartDockerContainer(t testing.TB, name string) (*Dockerd, string) {
	t.Helper()
	RequireRoot(t)
	tarball, err := RootfsTar(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dd := StartDockerd(t)
	dd.Import(t, tarball, "nucleus-test:1", DefaultImage)
	return dd, dd.Run(t, name, "nucleus-test:1")
}

// Env is the environment that points docker-style clients at this daemon:
// DOCKER_HOST, and CONTAINERD_ADDRESS for its containerd (whose runc
// options name the runtime root).
func (dd *Dockerd) Env() []string {
	return []string{"DOCKER_HOST=" + dd.Host, "CONTAINERD_ADDRESS=" + dd.ContainerdSocket}
}
