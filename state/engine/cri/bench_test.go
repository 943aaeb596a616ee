package cri_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"nucleus/internal/testcontainer"
	"nucleus/state/engine"
	"nucleus/state/engine/internal/enginetest"
)

// BenchmarkFind: lookup of namespace/pod/container through CRI plus
// containerd beside `ctr task ls`, and lookup plus attach of /bin/true
// beside CRI ExecSync (what kubelet's exec probes use).
func BenchmarkFind(b *testing.B) {
	tarball := enginetest.BenchTarball(b)
	c := testcontainer.StartContainerd(b, tarball)
	c.ImportImage(b, tarball, "nucleus.test/web:1", testcontainer.DefaultImage)
	ns := fmt.Sprintf("bench-%d", os.Getpid())
	pod := startCRIPod(b, c, ns, "web", "server", "nucleus.test/web:1")
	opts := []engine.Option{engine.WithCRISocket(c.Socket), engine.WithContainerdSocket(c.Socket), engine.WithEngines(engine.CRI, engine.Containerd)}
	b.Run("find", func(b *testing.B) {
		enginetest.LookupBench(b, ns+"/web/server", func() *exec.Cmd { return c.Ctr("k8s.io", "task", "ls") }, opts...)
	})
	b.Run("attach", func(b *testing.B) { enginetest.AttachBench(b, ns+"/web/server", pod.execSync, opts...) })
}
