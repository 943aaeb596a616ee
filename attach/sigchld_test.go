package attach_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/state"
)

// sigchldEnv makes the test binary ignore SIGCHLD, as an embedder may, then
// attach to the container in the variable and print the exit codes.
const sigchldEnv = "NUCLEUS_TEST_SIGCHLD_IGNORED_STATE"

// sigchldCommands are attached by attachIgnoringSIGCHLD, each several
// times: a fast exit is the case where the kernel reaps before we look.
var sigchldCommands = [][]string{
	{"sh", "-c", "exit 42"},
	{"sh", "-c", "kill -9 $$"},
	{"sh", "-c", "sleep 0.1; exit 7"},
}

// attachIgnoringSIGCHLD is the child's side of TestSIGCHLDIgnored: it
// prints one line of exit codes per command, or the error and exits 99.
func attachIgnoringSIGCHLD(js string) int {
	signal.Ignore(syscall.SIGCHLD) // SIG_IGN in the kernel: children are reaped by it
	var st state.ContainerState
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 99
	}
	for _, cmd := range sigchldCommands {
		var codes []string
		for range 5 {
			code, err := attach.Attach(&st, cmd, attach.WithStdio(nil, nil, nil))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 99
			}
			codes = append(codes, fmt.Sprint(code))
		}
		fmt.Println(strings.Join(codes, " "))
	}
	return 0
}

// Issue 9 item 8: a program that ignores SIGCHLD still gets the command's
// exit code (the kernel reaps the command itself; Linux 6.15+ keeps the
// status in the pidfd, PIDFD_INFO_EXIT), not "wait: no child processes".
func TestSIGCHLDIgnored(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	js, err := json.Marshal(st)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sigchldEnv+"="+string(js))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
	assert.Equal(t, "42 42 42 42 42\n137 137 137 137 137\n7 7 7 7 7\n", stdout.String(), "stderr: %s", stderr.String())
}
