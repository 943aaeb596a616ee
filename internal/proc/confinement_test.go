package proc

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// /proc/self/limits, parsed, says what prlimit says for every resource.
func TestParseLimitsMatchesPrlimit(t *testing.T) {
	b, err := os.ReadFile("/proc/self/limits")
	require.NoError(t, err)
	got, err := ParseLimits(b)
	require.NoError(t, err)
	want, err := Rlimits(0)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.Len(t, got, NumRlimits)

	_, err = ParseLimits([]byte("garbage\n"))
	assert.Error(t, err)
	_, err = ParseLimits([]byte("Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              lots                 unlimited            seconds\n"))
	assert.Error(t, err)
}

// The LSM label of this process: none where no LSM provides one, which is
// not an error.
func TestLSMLabelSelf(t *testing.T) {
	label, lsm, err := LSMLabel(os.Getpid())
	require.NoError(t, err)
	if _, err := os.ReadFile("/proc/self/attr/current"); err != nil && lsm == "" {
		assert.Empty(t, label)
		assert.ErrorIs(t, err, unix.EINVAL)
	}
}
