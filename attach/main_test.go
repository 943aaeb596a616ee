package attach_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"nucleus/attach"
	"nucleus/state"
)

// childEnv makes the test binary, re-run as another uid, attach once and
// exit instead of running the tests: see rootless_test.go.
const childEnv = "NUCLEUS_TEST_ATTACH_STATE"

func TestMain(m *testing.M) {
	if js := os.Getenv(childEnv); js != "" {
		os.Exit(attachAsChild(js))
	}
	if js := os.Getenv(sigchldEnv); js != "" {
		os.Exit(attachIgnoringSIGCHLD(js))
	}
	os.Exit(m.Run())
}

// attachAsChild attaches `id -u` to the container in js and prints the
// output, or the error on stderr with exit code 99.
func attachAsChild(js string) int {
	var st state.ContainerState
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 99
	}
	var out bytes.Buffer
	code, err := attach.Attach(&st, []string{"sh", "-c", "id -u; hostname"}, attach.WithStdio(nil, &out, &out))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 99
	}
	fmt.Print(out.String())
	return code
}
