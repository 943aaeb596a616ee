package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// A program importing only nucleus/attach (or probe) must not link any
// engine client: this package, gRPC, containerd's API or CRI.
func TestAttachDoesNotLinkEngineClients(t *testing.T) {
	for _, pkg := range []string{"nucleus/attach", "nucleus/probe", "nucleus/state"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v: %s", pkg, err, out)
		}
		for _, d := range strings.Fields(string(out)) {
			for _, bad := range []string{"nucleus/state/engine", "google.golang.org/grpc", "github.com/containerd/", "k8s.io/"} {
				if strings.HasPrefix(d, bad) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
