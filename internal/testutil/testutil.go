// Package testutil holds the few helpers that nucleus's tests in several
// packages share: the root rule and what the kernel says about this test
// process (its fds, children, threads). It imports nothing of nucleus, so
// any package's tests, even a leaf's internal ones, can use it.
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireRoot skips the test when the process is not root: real containers,
// namespaces and cgroups need it. With NUCLEUS_REQUIRE_ROOT=1 (set by CI) it
// fails instead, so that a misconfigured CI cannot pass by skipping.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("NUCLEUS_REQUIRE_ROOT") == "1" {
		t.Fatalf("test needs root (euid is %d) and NUCLEUS_REQUIRE_ROOT=1", os.Geteuid())
	}
	t.Skipf("test needs root (euid is %d); run as root, or set NUCLEUS_REQUIRE_ROOT=1 to fail instead", os.Geteuid())
}

// Missing skips the test because something it needs from the machine (a
// tool, a writable cgroup) is not there — or, with NUCLEUS_REQUIRE_ROOT=1,
// fails it: CI installs everything the tests need, so there a missing piece
// is a broken CI, not a reason to pass.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("NUCLEUS_REQUIRE_ROOT") == "1" {
		t.Fatalf(format+" (NUCLEUS_REQUIRE_ROOT=1: CI must provide it)", args...)
	}
	t.Skipf(format, args...)
}

// StartChild starts cmd and registers a cleanup that kills and reaps it.
func StartChild(t testing.TB, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// FDCount is the number of fds this process holds.
func FDCount(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Proc is one line of /proc/PID/stat, the fields tests look at.
type Proc struct {
	PID, PPID int
	Comm      string
	State     byte
}

// Procs lists every process on the machine. Processes that exit while the
// list is made are left out.
func Procs(t testing.TB) []Proc {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, Proc{PID: pid, PPID: ppid, Comm: s[open+1 : closing], State: f[0][0]})
	}
	return out
}

// Children lists this process's children, zombies included: a leaked or
// unreaped child shows here.
func Children(t testing.TB) []int {
	t.Helper()
	var kids []int
	for _, p := range Procs(t) {
		if p.PPID == os.Getpid() {
			kids = append(kids, p.PID)
		}
	}
	return kids
}

// ZombieChildren lists "pid comm" of this process's children that are
// zombies.
func ZombieChildren(t testing.TB) []string {
	t.Helper()
	var z []string
	for _, p := range Procs(t) {
		if p.PPID == os.Getpid() && p.State == 'Z' {
			z = append(z, strconv.Itoa(p.PID)+" "+p.Comm)
		}
	}
	return z
}

// InPIDNamespace lists "pid comm state" of the processes that share the
// PID namespace of pid (pid itself excluded) and whose comm starts with
// prefix.
func InPIDNamespace(t testing.TB, pid int, prefix string) []string {
	t.Helper()
	want, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range Procs(t) {
		if p.PID == pid || !strings.HasPrefix(p.Comm, prefix) {
			continue
		}
		if ns, err := os.Readlink("/proc/" + strconv.Itoa(p.PID) + "/ns/pid"); err != nil || ns != want {
			continue
		}
		found = append(found, strconv.Itoa(p.PID)+" "+p.Comm+" "+string(p.State))
	}
	return found
}

// ThreadsOutsideNetNS lists "tid=net:[N]" for the threads of this process
// whose network namespace is not want (a "net:[N]" link).
func ThreadsOutsideNetNS(t testing.TB, want string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, e := range ents {
		s, err := os.Readlink("/proc/self/task/" + e.Name() + "/ns/net")
		if err != nil {
			continue // the thread exited meanwhile
		}
		if s != want {
			bad = append(bad, e.Name()+"="+s)
		}
	}
	return bad
}

// RunWithBinary builds the main package in the current directory (with cgo,
// which nucleus needs) into a temporary directory, sets *bin to its path,
// runs the tests and removes the binary: the TestMain of a CLI's tests.
func RunWithBinary(m *testing.M, name string, bin *string) int {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, name)
	// go test puts its own go first in PATH.
	cmd := exec.Command("go", "build", "-o", *bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", name, err, out)
		return 1
	}
	return m.Run()
}

// Within polls cond every 10 ms until it holds (true) or d passes (false).
// For checks of asynchronous kernel work: a SIGKILLed process disappears
// only once its parent has reaped it.
func Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NetNS is this process's network namespace link ("net:[N]"). It is the
// main thread's: compare threads with ThreadsOutsideNetNS.
func NetNS(t testing.TB) string {
	t.Helper()
	s, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SyncBuffer is a bytes.Buffer that a test may read while a command's
// copying goroutine writes to it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// AcceptAndClose listens on 127.0.0.1 of the caller's namespace, accepts
// and closes every connection until the test ends, and returns the address.
func AcceptAndClose(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}
