package probe

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The opt-in packages keep their dependencies to themselves: a program that
// imports nucleus/probe or nucleus/attach links neither grpc nor the
// Prometheus client.
func TestOptInDependenciesNotLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "nucleus/probe", "nucleus/attach").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"google.golang.org/grpc", "google.golang.org/protobuf", "github.com/prometheus/", "nucleus/probe/grpcprobe", "nucleus/probe/metrics"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("nucleus/probe or nucleus/attach depends on %s", dep)
			}
		}
	}
}
