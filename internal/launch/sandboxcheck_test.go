package launch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/state"
)

// resetVerified empties the cache of verified sandboxes.
func resetVerified() {
	verified.Lock()
	verified.m = nil
	verified.Unlock()
}

func cachedVerifications() int {
	verified.Lock()
	defer verified.Unlock()
	return len(verified.m)
}

// verifyWith runs verifySandbox on st with the runsc binary bin.
func verifyWith(t *testing.T, st *state.ContainerState, bin string) (sandboxFacts, error) {
	t.Helper()
	target, err := openPidfd(st)
	require.NoError(t, err)
	defer target.Close()
	return verifySandbox(context.Background(), st, bin, target)
}

// Each check of a gVisor claim, against real sandboxes: the genuine one
// passes and yields process.user of its bundle; another runsc binary than
// the one the PID executes, an untrusted runsc root, or another sandbox's id are
// refused with ErrPermission, and only a success is cached.
func TestVerifySandbox(t *testing.T) {
	a := testcontainer.StartRunsc(t, testcontainer.RunscOptions{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{2000}})
	b := testcontainer.StartRunsc(t, testcontainer.RunscOptions{})
	resetVerified()
	t.Cleanup(resetVerified)

	// By bare PID: the identity is not in the state (FromPID reads no
	// bundle a command line names) but comes from runsc state's bundle.
	st, err := state.FromPID(a.PID)
	require.NoError(t, err)
	require.Equal(t, a.ID, st.ID)
	facts, err := verifyWith(t, st, a.Runsc)
	require.NoError(t, err)
	require.NotNil(t, facts.identity)
	assert.Equal(t, state.ProcessIdentity{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{2000}}, *facts.identity)
	assert.Equal(t, a.Bundle, facts.bundle)
	assert.Equal(t, 1, cachedVerifications())
	// Cached: the same answer without runsc.
	again, err := verifyWith(t, st, a.Runsc)
	require.NoError(t, err)
	assert.Equal(t, facts, again)

	t.Run("another binary", func(t *testing.T) {
		// The runsc nucleus would run is not the file the PID executes.
		self, err := os.Executable()
		require.NoError(t, err)
		_, err = verifyWith(t, st, self)
		assert.ErrorIs(t, err, state.ErrPermission)
		assert.ErrorContains(t, err, "/exe")
	})
	t.Run("untrusted root", func(t *testing.T) {
		open := filepath.Join(t.TempDir(), "open")
		require.NoError(t, os.Mkdir(open, 0o700))
		require.NoError(t, os.Chmod(open, 0o777))
		bad := *st
		bad.RuntimeRoot = open
		_, err := verifyWith(t, &bad, a.Runsc)
		assert.ErrorIs(t, err, state.ErrPermission)
		assert.ErrorContains(t, err, "writable by group or others")
	})
	t.Run("another sandbox's id", func(t *testing.T) {
		// a's supervisor, claiming b's container (the same root layout,
		// b's root): runsc state reports b's pid.
		bad := *st
		bad.ID, bad.RuntimeRoot = b.ID, b.Root
		_, err := verifyWith(t, &bad, a.Runsc)
		assert.ErrorIs(t, err, state.ErrPermission)
		assert.ErrorContains(t, err, "not pid")
	})
	t.Run("unknown id", func(t *testing.T) {
		bad := *st
		bad.ID = "no-such-container"
		_, err := verifyWith(t, &bad, a.Runsc)
		assert.ErrorIs(t, err, state.ErrPermission)
		assert.ErrorContains(t, err, "runsc does not know")
	})
	assert.Equal(t, 1, cachedVerifications(), "only the genuine sandbox was cached")

	// Exported form: opens its own pidfd; a gone sandbox is ErrNotRunning.
	require.NoError(t, VerifySandbox(context.Background(), st, a.Runsc))
	bst, err := b.State()
	require.NoError(t, err)
	_, err = b.Run("delete", "--force", b.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return bst.CheckRunning() != nil }, 10*time.Second, 10*time.Millisecond)
	assert.ErrorIs(t, VerifySandbox(context.Background(), bst, b.Runsc), state.ErrNotRunning)
}

// BenchmarkVerifySandbox: the cost of the checks of a gVisor claim, cold
// (runsc state run; what a one-shot CLI pays) and warm (cached: stats and
// the pidfd check only; what a long-lived embedder pays from the second
// attach on), beside `runsc exec <id> true`, the baseline the attach pays
// anyway; ratios as x-exec.
func BenchmarkVerifySandbox(b *testing.B) {
	c := testcontainer.StartRunsc(b, testcontainer.RunscOptions{})
	st, err := c.State()
	if err != nil {
		b.Fatal(err)
	}
	target, err := openPidfd(st)
	if err != nil {
		b.Fatal(err)
	}
	defer target.Close()
	defer resetVerified()
	var cold, warm, execT time.Duration
	for b.Loop() {
		resetVerified()
		t0 := time.Now()
		if _, err := verifySandbox(context.Background(), st, c.Runsc, target); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := verifySandbox(context.Background(), st, c.Runsc, target); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, code, err := c.Exec("true"); err != nil || code != 0 {
			b.Fatalf("runsc exec true: %d %v", code, err)
		}
		cold += t1.Sub(t0)
		warm += t2.Sub(t1)
		execT += time.Since(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(cold.Microseconds())/n, "cold-µs/op")
	b.ReportMetric(float64(warm.Nanoseconds())/n/1e3, "warm-µs/op")
	b.ReportMetric(float64(execT.Microseconds())/n, "runsc-exec-µs/op")
	b.ReportMetric(float64(cold)/float64(execT), "cold-x-exec")
	b.ReportMetric(float64(warm)/float64(execT), "warm-x-exec")
}
