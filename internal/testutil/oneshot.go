package testutil

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// OneShot runs argv as a whole process, with no stdin and its output
// collected, and returns how long it took from start to reaping (wall: what
// a user of a CLI waits for) and the CPU time, user and system, of the
// process and of the descendants it reaped (cpu: less sensitive than wall
// to the load of a shared machine). A failure (non-zero exit included)
// fails tb with the output. One-shot benchmarks alternate the program under
// test and its baseline with it, so that both see the same machine load.
func OneShot(tb testing.TB, argv ...string) (wall, cpu time.Duration) {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	t := time.Now()
	out, err := cmd.CombinedOutput()
	wall = time.Since(t)
	if err != nil {
		tb.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// BuildMain builds the main package in the current directory with cgo and
// the given build tags into dir, and returns the binary's path: for
// benchmarks that compare builds of one example. env is added to the
// build's environment (CC=musl-gcc, say; MuslCC).
func BuildMain(tb testing.TB, dir, tags string, env ...string) string {
	tb.Helper()
	name := strings.Map(func(r rune) rune {
		if r == '=' || r == ',' || r == '/' {
			return '_'
		}
		return r
	}, strings.Join(append([]string{"main", tags}, env...), "-"))
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin, ".")
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=1"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build -tags %q %v: %v\n%s", tags, env, err, out)
	}
	return bin
}

// MuslCC returns the environment that builds with musl's C compiler driver
// (Debian's musl-tools), the static release build's toolchain; a test or
// benchmark without it is skipped, or fails under NUCLEUS_REQUIRE_ROOT=1
// (CI installs it).
func MuslCC(tb testing.TB) string {
	tb.Helper()
	cc, err := exec.LookPath("musl-gcc")
	if err != nil {
		Missing(tb, "musl-gcc (Debian's musl-tools): %v", err)
	}
	return "CC=" + cc
}

var attachMeanRE = regexp.MustCompile(`attach: mean (\d+) ns`)

// AttachMean runs argv, an example that times attaches in one process and
// prints "attach: mean N ns ...", and returns N and the whole output.
func AttachMean(tb testing.TB, argv ...string) (float64, string) {
	tb.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%v: %v\n%s", argv, err, out)
	}
	m := attachMeanRE.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("%v: no timing in output:\n%s", argv, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v, string(out)
}

// SHA256File returns the hex SHA-256 of the file at path: to prove a file
// (the host binary, for CVE-2019-5736) was not changed.
func SHA256File(tb testing.TB, path string) string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
