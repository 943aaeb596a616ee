package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLoadState feeds arbitrary bytes to LoadFile. It must never panic; when
// a file loads, saving and loading it again must give the same state (compared
// through its JSON encoding, which is what a state file is).
// The seed corpus is in testdata/fuzz/FuzzLoadState.
func FuzzLoadState(f *testing.F) {
	full, err := json.Marshal(fullState())
	require.NoError(f, err)
	f.Add(full)
	f.Add([]byte(`{"id":"x"}`))
	// Save fsyncs; on tmpfs that is free, which keeps the fuzzer fast.
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir, err := os.MkdirTemp(base, "nucleus-fuzz-state-")
		require.NoError(t, err)
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "in.json")
		require.NoError(t, os.WriteFile(p, b, 0o600))
		s, err := LoadFile(p)
		if err != nil {
			require.Nil(t, s)
			return
		}
		require.NotEqual(t, Status(""), s.Status)
		want, err := json.Marshal(s)
		require.NoError(t, err)

		out := filepath.Join(dir, "out")
		require.NoError(t, s.Save(out))
		again, err := Load(out, s.ID)
		require.NoError(t, err)
		got, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got))
		require.Equal(t, string(want), string(got))
	})
}
