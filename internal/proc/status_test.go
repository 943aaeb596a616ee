package proc

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/status-sleep-pidns.txt was captured from
// `unshare --pid --fork setpriv --reuid=1000 --regid=1000 --groups=5,27,100
// --no-new-privs --bounding-set=-all --inh-caps=-all sleep 30` on Linux 6.18.
func TestParseStatusCaptured(t *testing.T) {
	b, err := os.ReadFile("testdata/status-sleep-pidns.txt")
	require.NoError(t, err)
	s, err := ParseStatus(b)
	require.NoError(t, err)
	assert.Equal(t, "sleep", s.Name)
	assert.Equal(t, "S (sleeping)", s.State)
	assert.Equal(t, 8586, s.Tgid)
	assert.Equal(t, [4]uint32{1000, 1000, 1000, 1000}, s.UID)
	assert.Equal(t, [4]uint32{1000, 1000, 1000, 1000}, s.GID)
	assert.Equal(t, []uint32{5, 27, 100}, s.Groups)
	assert.Zero(t, s.CapInh)
	assert.Zero(t, s.CapPrm)
	assert.Zero(t, s.CapEff)
	assert.Zero(t, s.CapBnd)
	assert.Zero(t, s.CapAmb)
	assert.Equal(t, 1, s.NoNewPrivs)
	assert.Equal(t, 0, s.Seccomp)
	require.Len(t, s.NSpid, 2)
	assert.Equal(t, 1, s.NSpid[1], "PID inside its own namespace")
	assert.Equal(t, 1, s.Threads)
}

func TestParseStatus(t *testing.T) {
	const base = "Name:\tx y\nState:\tR (running)\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t \nThreads:\t3\n"
	s, err := ParseStatus([]byte(base + "CapEff:\t000001ffffffffff\nCapBnd:\t0000000000000400\nSeccomp:\t2\nSeccomp_filters:\t3\nNSpid:\t100\t7\t1\nUnknownKey:\twhatever\nno colon line\n"))
	require.NoError(t, err)
	assert.Equal(t, "x y", s.Name)
	assert.Equal(t, [4]uint32{1, 2, 3, 4}, s.UID)
	assert.Equal(t, [4]uint32{5, 6, 7, 8}, s.GID)
	assert.Empty(t, s.Groups)
	assert.Equal(t, uint64(0x1ffffffffff), s.CapEff)
	assert.Equal(t, uint64(1<<10), s.CapBnd)
	assert.Equal(t, 2, s.Seccomp)
	assert.Equal(t, 3, s.SeccompFilters)
	assert.Equal(t, []int{100, 7, 1}, s.NSpid)
	assert.Equal(t, 3, s.Threads)

	bad := map[string]string{
		"empty":           "",
		"missing Uid":     "Name:\tx\nState:\tR\nGid:\t1 1 1 1\nThreads:\t1\n",
		"short Uid":       "Name:\tx\nState:\tR\nUid:\t1 1 1\nGid:\t1 1 1 1\nThreads:\t1\n",
		"uid overflow":    "Name:\tx\nState:\tR\nUid:\t1 1 1 4294967296\nGid:\t1 1 1 1\nThreads:\t1\n",
		"bad cap":         base + "CapEff:\tzz\n",
		"bad group":       base + "Groups:\t1 -2\n",
		"bad threads":     "Name:\tx\nState:\tR\nUid:\t1 1 1 1\nGid:\t1 1 1 1\nThreads:\tmany\n",
		"negative nspid":  base + "NSpid:\t-1\n",
		"bad no_new_priv": base + "NoNewPrivs:\tyes\n",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseStatus([]byte(in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "proc: parse status")
		})
	}
}

func TestReadStatusSelf(t *testing.T) {
	s, err := ReadStatus(0)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), s.Tgid)
	assert.Equal(t, uint32(os.Getuid()), s.UID[0])
	assert.Equal(t, uint32(os.Geteuid()), s.UID[1])
	assert.Equal(t, uint32(os.Getgid()), s.GID[0])
	assert.GreaterOrEqual(t, s.Threads, 1)
	require.NotEmpty(t, s.NSpid)
	assert.Equal(t, os.Getpid(), s.NSpid[0])
	groups, err := os.Getgroups()
	require.NoError(t, err)
	require.Len(t, s.Groups, len(groups))
	for i, g := range groups {
		assert.Equal(t, uint32(g), s.Groups[i])
	}

	_, err = ReadStatus(-1)
	require.Error(t, err)
}
