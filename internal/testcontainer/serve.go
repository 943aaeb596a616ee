package testcontainer

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"nucleus/internal/testutil"
)

// Serve runs args inside every namespace of c as a background server, with
// util-linux nsenter (the tests' way in; nucleus itself never uses it),
// and waits until a socket listens on port in c's network namespace. The
// server is killed when the test ends, and dies with the container anyway
// (its PID namespace goes with its init).
func (c *Container) Serve(t testing.TB, port int, args ...string) {
	t.Helper()
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		testutil.Missing(t, "nsenter (util-linux) not found: %v", err)
	}
	testutil.StartChild(t, exec.Command(nsenter, append([]string{"-t", strconv.Itoa(c.PID), "-a", "--"}, args...)...))
	if !testutil.Within(10*time.Second, func() bool { return c.listening(port) }) {
		t.Fatalf("testcontainer: serve %v: nothing listens on port %d in the container", args, port)
	}
}

// listening reports whether a TCP socket of c's network namespace listens
// on port, from /proc/PID/net/tcp and tcp6 (which show the namespace of
// PID, not the reader's).
func (c *Container) listening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"tcp", "tcp6"} {
		fh, err := os.Open("/proc/" + strconv.Itoa(c.PID) + "/net/" + f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	return false
}
