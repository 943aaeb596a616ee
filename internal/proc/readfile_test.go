package proc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ReadFile reads what os.ReadFile reads, across buffer growth, and fails
// as it does.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 1023, 1024, 1025, 70000} {
		p := filepath.Join(dir, "f")
		want := []byte(strings.Repeat("x", n))
		require.NoError(t, os.WriteFile(p, want, 0o600))
		got, err := ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%d bytes", n)
	}

	// A /proc file (size 0 in stat) reads whole.
	got, err := ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.Contains(t, string(got), " / / ")

	_, err = ReadFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "open "+filepath.Join(dir, "missing"))
	var pe *fs.PathError
	assert.True(t, errors.As(err, &pe))

	_, err = ReadFile(dir) // a directory: read fails with EISDIR
	assert.ErrorIs(t, err, syscall.EISDIR)

	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxFileSize+1), 0o600))
	_, err = ReadFile(big)
	assert.ErrorContains(t, err, "larger than")
}

// readUpTo stops at its limit, returns a shorter file whole, and reports
// open errors as *fs.PathError.
func TestReadUpTo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	content := bytes.Repeat([]byte("0123456789"), 300) // 3000 bytes: more than one first buffer
	require.NoError(t, os.WriteFile(p, content, 0o600))
	for _, limit := range []int{1, 1024, 1025, 2999, 3000, 3001, 1 << 20} {
		b, err := readUpTo(p, limit, 0)
		require.NoError(t, err, limit)
		assert.Equal(t, content[:min(limit, len(content))], b, limit)
	}
	_, err := readUpTo(filepath.Join(t.TempDir(), "missing"), 10, 0)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "open", pe.Op)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
