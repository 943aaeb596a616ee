package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzFromOCI feeds arbitrary bytes to FromOCI. It must never panic; an
// error is a "state: from oci:" error and comes without a state; a state has
// the id as ID and Name, a known status, and is never running when the
// status is stopped or paused. Inputs naming a live pid read that process,
// as FromOCI does. The seed corpus is in testdata/fuzz/FuzzFromOCI.
func FuzzFromOCI(f *testing.F) {
	f.Add([]byte(runcState("a", 1, "running")))
	f.Add([]byte(runcState("a", 0, "stopped")))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := FromOCI(strings.NewReader(string(b)))
		if err != nil {
			require.Nil(t, s)
			require.True(t, strings.HasPrefix(err.Error(), "state: from oci: "), err.Error())
			return
		}
		require.NotEmpty(t, s.ID)
		require.Equal(t, s.ID, s.Name)
		require.GreaterOrEqual(t, s.PID, 0)
		switch s.Status {
		case StatusStopped, StatusPaused:
			require.ErrorIs(t, s.CheckRunning(), ErrNotRunning)
		case StatusCreating:
			if s.PID == 0 {
				require.ErrorIs(t, s.CheckRunning(), ErrNotRunning)
				return
			}
			fallthrough
		case StatusCreated, StatusRunning:
			require.NotZero(t, s.StartTicks, "a live pid was read")
			if err := s.CheckRunning(); err != nil {
				// The process may have exited since; it cannot have become
				// another one without a stale error.
				require.True(t, errors.Is(err, ErrNotRunning) || errors.Is(err, ErrStale), err.Error())
			}
		default:
			t.Fatalf("status %q", s.Status)
		}
	})
}
