package probe

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
)

// fakeSandboxEnv makes the test binary pose as a gVisor sandbox.
const fakeSandboxEnv = "NUCLEUS_PROBE_FAKE_SANDBOX"

// TestMain closes the containers the benchmarks started.
func TestMain(m *testing.M) {
	if os.Getenv(fakeSandboxEnv) == "1" {
		// A stand-in for a gVisor sandbox supervisor: only its command
		// line matters. Sleep until killed.
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	code := m.Run()
	closeBenchContainers()
	os.Exit(code)
}

// ownNetNS is this process's network namespace link ("net:[N]").
func ownNetNS(t testing.TB) string {
	t.Helper()
	s, err := os.Readlink("/proc/self/ns/net")
	require.NoError(t, err)
	return s
}

// threadsOutside lists this process's threads whose network namespace is not
// want.
func threadsOutside(t testing.TB, want string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	var bad []string
	for _, e := range ents {
		s, err := os.Readlink("/proc/self/task/" + e.Name() + "/ns/net")
		if err != nil {
			continue
		}
		if s != want {
			bad = append(bad, e.Name()+"="+s)
		}
	}
	return bad
}

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
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

// procsInPIDNS lists "pid comm state" of the processes in the pid namespace
// of pid whose comm has the given prefix.
func procsInPIDNS(t testing.TB, pid int, commPrefix string) []string {
	t.Helper()
	want, err := proc.NamespaceID(pid, "pid")
	require.NoError(t, err)
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var found []string
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := proc.ReadStat(p)
		if err != nil || !strings.HasPrefix(st.Comm, commPrefix) {
			continue
		}
		ns, err := proc.NamespaceID(p, "pid")
		if err != nil || ns != want {
			continue
		}
		found = append(found, e.Name()+" "+st.Comm+" "+string(st.State))
	}
	return found
}

// zombieChildren lists this process's children that are zombies.
func zombieChildren(t testing.TB) []string {
	t.Helper()
	me := os.Getpid()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var found []string
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := proc.ReadStat(p)
		if err == nil && st.PPID == me && st.State == 'Z' {
			found = append(found, e.Name()+" "+st.Comm)
		}
	}
	return found
}
