package proc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEnviron(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"kernel shape", "PATH=/bin\x00HOME=/root\x00", []string{"PATH=/bin", "HOME=/root"}},
		{"unterminated last", "A=1\x00B=2", []string{"A=1", "B=2"}},
		{"no equals dropped", "JUNK\x00A=1\x00", []string{"A=1"}},
		{"empty key dropped", "=x\x00A=1\x00", []string{"A=1"}},
		{"empty value kept", "A=\x00", []string{"A="}},
		{"value with equals", "A=b=c\x00", []string{"A=b=c"}},
		{"first of duplicates wins", "A=1\x00A=2\x00B=3\x00", []string{"A=1", "B=3"}},
		{"empty entries", "\x00\x00A=1\x00\x00", []string{"A=1"}},
		{"newline in value", "A=x\ny\x00", []string{"A=x\ny"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnviron([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseEnvironBounds(t *testing.T) {
	_, err := ParseEnviron(bytes.Repeat([]byte("A"), MaxEnvironBytes+1))
	assert.True(t, errors.Is(err, ErrEnvironTooLarge), "%v", err)

	var b strings.Builder
	for i := 0; i <= MaxEnvironEntries; i++ {
		b.WriteString("K" + strconv.Itoa(i) + "=\x00")
	}
	_, err = ParseEnviron([]byte(b.String()))
	assert.True(t, errors.Is(err, ErrEnvironTooLarge), "%v", err)

	// Duplicates do not count against the entry bound.
	dup := strings.Repeat("K=v\x00", MaxEnvironEntries+10)
	env, err := ParseEnviron([]byte(dup))
	require.NoError(t, err)
	assert.Equal(t, []string{"K=v"}, env)
}

// ReadEnviron and ReadCwd of a real process: what it was executed with,
// where it runs.
func TestReadEnvironAndCwd(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("env", "-i", "NUCLEUS_A=1", "PATH=/usr/bin:/bin", "sleep", "30")
	cmd.Dir = dir
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool {
		st, err := ReadStat(cmd.Process.Pid)
		return err == nil && st.Comm == "sleep"
	}, 10*time.Second, time.Millisecond, "sleep never executed")

	env, err := ReadEnviron(cmd.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, []string{"NUCLEUS_A=1", "PATH=/usr/bin:/bin"}, env)

	cwd, err := ReadCwd(cmd.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, dir, cwd)

	require.NoError(t, os.Remove(dir))
	cwd, err = ReadCwd(cmd.Process.Pid)
	require.NoError(t, err)
	assert.Equal(t, "", cwd, "a deleted cwd")

	_, err = ReadEnviron(-1)
	assert.Error(t, err)
}

func FuzzParseEnviron(f *testing.F) {
	f.Add([]byte("PATH=/usr/bin\x00HOME=/\x00"))
	f.Add([]byte("A=1\x00A=2\x00=x\x00junk\x00B"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnviron(b)
		if err != nil {
			require.True(t, errors.Is(err, ErrEnvironTooLarge), "%v", err)
			return
		}
		require.LessOrEqual(t, len(env), MaxEnvironEntries)
		seen := map[string]bool{}
		for _, e := range env {
			require.NotContains(t, e, "\x00")
			k, _, ok := strings.Cut(e, "=")
			require.True(t, ok, "%q has no '='", e)
			require.NotEmpty(t, k, "%q has an empty key", e)
			require.False(t, seen[k], "key %q twice", k)
			seen[k] = true
			// Every entry is one of the input's NUL-separated pieces.
			require.True(t, bytes.Contains(append(append([]byte{0}, b...), 0), append(append([]byte{0}, e...), 0)), "%q not a piece of the input", e)
		}
	})
}
