package harden

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A program that attaches with the default or the container policy does
// not link go-seccomp-bpf (whose package initialisation builds syscall maps
// for five architectures at every process start): the floor is generated
// source, and only nucleus/harden/seccomppolicy imports the library.
func TestAttachPathWithoutGoSeccompBPF(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	if runtime.GOARCH != "amd64" {
		t.Skipf("%s assembles the floor at run time with go-seccomp-bpf", runtime.GOARCH)
	}
	for _, pkg := range []string{"nucleus/harden", "nucleus/attach", "nucleus/probe", "nucleus/examples/nsattach"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		for _, d := range strings.Fields(string(out)) {
			assert.False(t, strings.HasPrefix(d, "github.com/elastic/go-seccomp-bpf"), "%s links %s", pkg, d)
		}
	}
	// The control: seccomppolicy does link it.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "nucleus/harden/seccomppolicy").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, strings.Fields(string(out)), "github.com/elastic/go-seccomp-bpf/arch")
}
