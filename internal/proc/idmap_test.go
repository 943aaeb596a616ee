package proc

import (
	"nucleus/internal/testutil"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseIDMap(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []IDMapping
	}{
		{"init namespace", "         0          0 4294967295\n", []IDMapping{{0, 0, 4294967295}}},
		{"rootless", "0 1234 1\n1 100000 65536\n", []IDMapping{{0, 1234, 1}, {1, 100000, 65536}}},
		{"no trailing newline, blank lines", "\n0 1000 1\n\n", []IDMapping{{0, 1000, 1}}},
		{"empty (map not written yet)", "", nil},
		{"full 32-bit range", "0 0 4294967295\n", []IDMapping{{0, 0, 4294967295}}},
		{"last id", "4294967294 4294967294 1\n", []IDMapping{{4294967294, 4294967294, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIDMap([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	bad := map[string]string{
		"two fields":       "0 1000\n",
		"four fields":      "0 1000 1 2\n",
		"negative":         "-1 1000 1\n",
		"not a number":     "0 x 1\n",
		"too large":        "0 4294967296 1\n",
		"size zero":        "0 1000 0\n",
		"inside overflow":  "4294967295 0 2\n",
		"outside overflow": "0 4294967295 2\n",
		"inside overlap":   "0 1000 10\n5 2000 10\n",
		"outside overlap":  "0 1000 10\n100 1005 10\n",
	}
	for name, in := range bad {
		t.Run("bad/"+name, func(t *testing.T) {
			_, err := ParseIDMap([]byte(in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "proc: parse id map")
		})
	}
}

func TestToInsideToOutside(t *testing.T) {
	m := []IDMapping{{Inside: 0, Outside: 1234, Size: 1}, {Inside: 1, Outside: 100000, Size: 65536}}
	tests := []struct {
		outside, inside uint32
		ok              bool
	}{
		{1234, 0, true},
		{100000, 1, true},
		{100999, 1000, true},
		{165535, 65536, true},
		{165536, 0, false}, // one past the end
		{99999, 0, false},  // one before the start
		{0, 0, false},      // host root is not mapped
		{1235, 0, false},
		{4294967295, 0, false},
	}
	for _, tc := range tests {
		in, ok := ToInside(m, tc.outside)
		assert.Equal(t, tc.ok, ok, "ToInside(%d)", tc.outside)
		if !tc.ok {
			continue
		}
		assert.Equal(t, tc.inside, in, "ToInside(%d)", tc.outside)
		out, ok := ToOutside(m, tc.inside)
		require.True(t, ok, "ToOutside(%d)", tc.inside)
		assert.Equal(t, tc.outside, out, "ToOutside(%d)", tc.inside)
	}
	for _, inside := range []uint32{65537, 70000, 4294967295} {
		_, ok := ToOutside(m, inside)
		assert.False(t, ok, "ToOutside(%d)", inside)
	}

	// The identity map covers every id but 2^32-1 (the kernel's invalid id).
	ident := []IDMapping{{0, 0, 4294967295}}
	for _, id := range []uint32{0, 1, 65534, 4294967294} {
		in, ok := ToInside(ident, id)
		assert.True(t, ok)
		assert.Equal(t, id, in)
	}
	_, ok := ToInside(ident, 4294967295)
	assert.False(t, ok)
	_, ok = ToInside(nil, 0)
	assert.False(t, ok, "an empty map maps nothing")
}

func TestReadIDMap(t *testing.T) {
	self, err := ReadIDMap(0, "uid_map")
	require.NoError(t, err)
	require.NotEmpty(t, self)
	_, err = ReadIDMap(0, "passwd")
	require.Error(t, err)

	testutil.RequireRoot(t)
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 1000}},
	}
	testutil.StartChild(t, cmd)
	pid := cmd.Process.Pid
	var um []IDMapping
	require.Eventually(t, func() bool {
		um, err = ReadIDMap(pid, "uid_map")
		return err == nil && len(um) > 0
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, []IDMapping{{0, 100000, 65536}}, um)
	gm, err := ReadIDMap(pid, "gid_map")
	require.NoError(t, err)
	assert.Equal(t, []IDMapping{{0, 200000, 1000}}, gm)
}
