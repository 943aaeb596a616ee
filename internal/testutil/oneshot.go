package testutil

import (
	"os/exec"
	"testing"
	"time"
)

// OneShot runs argv as a whole process, with no stdin and its output
// collected, and returns how long it took from start to reaping: what a
// user of a CLI waits for. A failure (non-zero exit included) fails tb with
// the output. One-shot benchmarks alternate the program under test and its
// baseline with it, so that both see the same machine load.
func OneShot(tb testing.TB, argv ...string) time.Duration {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	t := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t)
	if err != nil {
		tb.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return d
}
