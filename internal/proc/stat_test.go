package proc

import (
	"nucleus/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	tail := " S 10 11 12 0 -1 4194560 208 0 0 0 0 0 0 0 20 0 1 0 46109 2990080 421 18446744073709551615 1 2 3 0 0 0 0 6 0 1 0 0 17 0 0 0 0 0 0 4 5 6 7 8 9 10 0\n"
	tests := []struct {
		name string
		in   string
		want Stat
	}{
		{"plain", "42 (sleep)" + tail, Stat{PID: 42, Comm: "sleep", State: 'S', PPID: 10, PGRP: 11, Session: 12, StartTicks: 46109}},
		{"tricky comm", "42 (a) b (c)" + tail, Stat{PID: 42, Comm: "a) b (c", State: 'S', PPID: 10, PGRP: 11, Session: 12, StartTicks: 46109}},
		{"comm of parens", "7 ())) (()" + tail, Stat{PID: 7, Comm: "))) ((", State: 'S', PPID: 10, PGRP: 11, Session: 12, StartTicks: 46109}},
		{"comm with digits and state-like text", "7 (x) R 1 2 3)" + tail, Stat{PID: 7, Comm: "x) R 1 2 3", State: 'S', PPID: 10, PGRP: 11, Session: 12, StartTicks: 46109}},
		{"empty comm", "7 ()" + tail, Stat{PID: 7, Comm: "", State: 'S', PPID: 10, PGRP: 11, Session: 12, StartTicks: 46109}},
		{"newline in comm", "7 (a\nb)" + tail, Stat{PID: 7, Comm: "a\nb", State: 'S', PPID: 10, PGRP: 11, Session: 12, StartTicks: 46109}},
		{"minimal 22 fields", "1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99", Stat{PID: 1, Comm: "init", State: 'S', PGRP: 1, Session: 1, StartTicks: 99}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	bad := map[string]string{
		"empty":             "",
		"no parens":         "42 sleep S 1 2 3",
		"close before open": "42 )sleep( S" + tail,
		"bad pid":           "x4 (sleep)" + tail,
		"negative pid":      "-4 (sleep)" + tail,
		"too few fields":    "42 (sleep) S 1 2 3 4 5",
		"long state":        "42 (sleep) SS 10 11 12 0 -1 4194560 208 0 0 0 0 0 0 0 20 0 1 0 46109",
		"bad starttime":     "42 (sleep) S 10 11 12 0 -1 4194560 208 0 0 0 0 0 0 0 20 0 1 0 -5",
		"bad ppid":          "42 (sleep) S x 11 12 0 -1 4194560 208 0 0 0 0 0 0 0 20 0 1 0 5",
	}
	for name, in := range bad {
		t.Run("bad/"+name, func(t *testing.T) {
			_, err := ParseStat([]byte(in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "proc: parse stat")
		})
	}
}

func TestParseStatCaptured(t *testing.T) {
	b, err := os.ReadFile("testdata/stat-sleep.txt")
	require.NoError(t, err)
	st, err := ParseStat(b)
	require.NoError(t, err)
	assert.Equal(t, 8586, st.PID)
	assert.Equal(t, "sleep", st.Comm)
	assert.Equal(t, byte('S'), st.State)
	assert.Equal(t, 8584, st.PPID)
	assert.Equal(t, uint64(46319), st.StartTicks)
}

func TestReadStatSelf(t *testing.T) {
	st, err := ReadStat(0)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), st.PID)
	assert.Equal(t, os.Getppid(), st.PPID)
	assert.NotZero(t, st.StartTicks)

	byPID, err := ReadStat(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, st.StartTicks, byPID.StartTicks)

	ticks, err := StartTicks(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, st.StartTicks, ticks)
}

// TestReadStatTrickyComm runs a real process whose comm is "a) b (c" (the
// kernel takes comm from the executable's file name).
func TestReadStatTrickyComm(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	data, err := os.ReadFile(sleep)
	require.NoError(t, err)
	exe := filepath.Join(t.TempDir(), "a) b (c")
	require.NoError(t, os.WriteFile(exe, data, 0o755))
	cmd := testutil.StartChild(t, exec.Command(exe, "60"))

	var st Stat
	require.Eventually(t, func() bool {
		st, err = ReadStat(cmd.Process.Pid)
		return err == nil && st.Comm == "a) b (c"
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, cmd.Process.Pid, st.PID)
	assert.Equal(t, os.Getpid(), st.PPID)
	assert.NotZero(t, st.StartTicks)
}

func TestReadStatGone(t *testing.T) {
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	_, err := ReadStat(cmd.Process.Pid)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = StartTicks(-1)
	require.Error(t, err)
}
