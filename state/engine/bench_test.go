package engine_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
	"nucleus/state/engine/internal/enginetest"
)

// BenchmarkFind: lookup by name per engine (Docker API, Podman API and
// store), each beside the engine's own CLI lookup, and lookup plus attach
// of /bin/true beside the engine's own exec (docker exec, podman exec);
// a Kubernetes name from containerd's runtime roots beside `ctr task ls`
// and CRI ExecSync. CRI and containerd through their APIs are in
// nucleus/state/engine/cri's benchmark.
func BenchmarkFind(b *testing.B) {
	tarball := enginetest.BenchTarball(b)
	b.Run("docker", func(b *testing.B) {
		dd := testcontainer.StartDockerd(b)
		dd.Import(b, tarball, "nucleus-test:1", testcontainer.DefaultImage)
		dd.Run(b, "bench", "nucleus-test:1")
		opts := []engine.Option{engine.WithDockerHost(dd.Host), engine.WithDockerExecRoot(dd.ExecRoot), engine.WithEngines(engine.Docker)}
		b.Run("find", func(b *testing.B) {
			enginetest.LookupBench(b, "bench", func() *exec.Cmd { return dd.Cmd("inspect", "-f", "{{.State.Pid}}", "bench") }, opts...)
		})
		b.Run("attach", func(b *testing.B) {
			enginetest.AttachBench(b, "bench", func(flags []string, args ...string) (testcontainer.ExecResult, error) {
				return dd.Exec(flags, "bench", args...)
			}, opts...)
		})
	})
	b.Run("podman", func(b *testing.B) {
		p := testcontainer.NewPodman(b)
		p.Import(b, tarball, "nucleus-test:1", testcontainer.DefaultImage)
		p.Run(b, "bench", "localhost/nucleus-test:1")
		base := func() *exec.Cmd { return p.Cmd("inspect", "-f", "{{.State.Pid}}", "bench") }
		b.Run("store", func(b *testing.B) {
			enginetest.LookupBench(b, "bench", base, engine.WithPodmanStorage(p.Root), engine.WithPodmanSocket(p.Root+"/none.sock"), engine.WithEngines(engine.Podman))
		})
		p.StartService(b)
		api := []engine.Option{engine.WithPodmanSocket(p.Socket), engine.WithEngines(engine.Podman)}
		b.Run("api", func(b *testing.B) { enginetest.LookupBench(b, "bench", base, api...) })
		b.Run("attach", func(b *testing.B) {
			enginetest.AttachBench(b, "bench", func(flags []string, args ...string) (testcontainer.ExecResult, error) {
				return p.Exec(flags, "bench", args...)
			}, api...)
		})
	})
	b.Run("containerd-roots", func(b *testing.B) {
		// engine alone (this binary links no gRPC source): a CRI pod's
		// container by namespace/pod/container from containerd's runtime
		// roots and its bundle's annotations.
		c := testcontainer.StartContainerd(b, tarball)
		ns := fmt.Sprintf("bench-%d", os.Getpid())
		p := c.StartCRIPod(b, testcontainer.CRIPodSpec{Namespace: ns, Pod: "web", Container: "server", Image: c.SandboxImage})
		opts := []engine.Option{engine.WithEngines(engine.Runtime), engine.WithContainerdRuntimeRoot("runc", c.RuncRoot), engine.WithContainerdState(c.State)}
		b.Run("find", func(b *testing.B) {
			enginetest.LookupBench(b, ns+"/web/server", func() *exec.Cmd { return c.Ctr("k8s.io", "task", "ls") }, opts...)
		})
		b.Run("attach", func(b *testing.B) {
			enginetest.AttachBench(b, ns+"/web/server", func(flags []string, args ...string) (testcontainer.ExecResult, error) {
				r, err := p.RS.ExecSync(b.Context(), &cri.ExecSyncRequest{ContainerId: p.ContainerID, Cmd: args, Timeout: 20})
				if err != nil {
					return testcontainer.ExecResult{}, err
				}
				return testcontainer.ExecResult{Stdout: string(r.GetStdout()), Code: int(r.GetExitCode())}, nil
			}, opts...)
		})
	})
}
