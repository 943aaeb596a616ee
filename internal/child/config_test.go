package child

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/hardencore"
)

func fullConfig() *Config {
	return &Config{
		Args:     []string{"sh", "-c", "echo ü; exit 3", ""},
		Env:      []string{"PATH=/bin", "HOME=/root", "EMPTY="},
		NeedHome: true,
		Dir:      "/tmp/a b",
		Identity: hardencore.Identity{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{1, 2, 4294967295}},
		Mode:     ModeCopyFrom,
		User:     "app:staff",
		Program: &hardencore.Program{
			Caps:               hardencore.CapSets{Bounding: 1<<21 | 1<<63, Permitted: 1 << 21, Effective: 1 << 21, Inheritable: 1 << 5, Ambient: 1 << 7},
			NoNewPrivs:         true,
			Strict:             true,
			Seccomp:            []hardencore.SockFilter{{Code: 0x20, Jt: 1, Jf: 2, K: 4}, {Code: 0x6, K: 0x7fff0000}},
			SeccompStack:       [][]hardencore.SockFilter{{{Code: 0x6, K: 0x50001}}, {{Code: 0x6, K: 0x7fff0000}, {Code: 0x6}}},
			Landlock:           []hardencore.LandlockRule{{Path: "/usr", Access: 7}, {Path: "/tmp", Access: 1 << 40}},
			LandlockBestEffort: true,
			Rlimits:            []hardencore.Rlimit{{Resource: 7, Cur: 1024, Max: 1 << 20}, {Resource: 3, Cur: ^uint64(0), Max: ^uint64(0)}},
			LSMExec:            hardencore.LSMExec{Attr: "attr/apparmor/exec", Value: "exec docker-default"},
		},
	}
}

func TestConfigRoundTrip(t *testing.T) {
	for _, c := range []*Config{
		fullConfig(),
		{Args: []string{"true"}, Dir: "/", Program: &hardencore.Program{Seccomp: []hardencore.SockFilter{{Code: 6}}}},
		// An empty, non-nil rule list (Landlock with nothing granted) stays
		// distinct from none.
		{Args: []string{"true"}, Dir: "/", Program: &hardencore.Program{Seccomp: []hardencore.SockFilter{{Code: 6}}, Landlock: []hardencore.LandlockRule{}}},
	} {
		b := AppendConfig(nil, c, ProgramBytes(c.Program))
		got, err := DecodeConfig(b)
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
}

// The record is in native byte order, as the parent's encoding/binary
// NativeEndian wrote it before the codec moved here.
func TestConfigNativeEndian(t *testing.T) {
	b := AppendConfig(nil, &Config{Args: []string{"x"}, Program: &hardencore.Program{Caps: hardencore.CapSets{Bounding: 0x0102030405060708}}}, nil)
	require.GreaterOrEqual(t, len(b), 4)
	v := getU32(b)
	assert.Equal(t, uint32(ConfigVersion), v)
	var w [4]byte
	putU32(w[:], 0x01020304)
	if littleEndian {
		assert.Equal(t, [4]byte{4, 3, 2, 1}, w)
	} else {
		assert.Equal(t, [4]byte{1, 2, 3, 4}, w)
	}
	p := ProgramBytes(&hardencore.Program{Caps: hardencore.CapSets{Bounding: 0x0102030405060708}})
	if littleEndian {
		assert.Equal(t, []byte{8, 7, 6, 5, 4, 3, 2, 1}, p[:8])
	} else {
		assert.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, p[:8])
	}
}

// A record that is cut short, too long, of another version, or whose
// counts promise more than it holds is refused, never half-applied.
func TestConfigRefusesBadRecords(t *testing.T) {
	c := fullConfig()
	b := AppendConfig(nil, c, ProgramBytes(c.Program))
	for n := 0; n < len(b); n++ {
		_, err := DecodeConfig(b[:n])
		require.Error(t, err, "truncated to %d of %d bytes", n, len(b))
	}
	_, err := DecodeConfig(append(append([]byte(nil), b...), 0))
	assert.ErrorContains(t, err, "after the record")

	bad := append([]byte(nil), b...)
	putU32(bad, ConfigVersion+1)
	_, err = DecodeConfig(bad)
	assert.ErrorContains(t, err, "version")

	// A huge argument count: refused before any allocation of that size.
	huge := appendU32(nil, ConfigVersion)
	huge = appendU32(huge, 1<<31)
	_, err = DecodeConfig(huge)
	assert.ErrorIs(t, err, ErrShortConfig)

	// A boolean that is neither 0 nor 1.
	small := &Config{Args: []string{"x"}, Program: &hardencore.Program{}}
	sb := AppendConfig(nil, small, ProgramBytes(small.Program))
	sb[len(sb)-1-4-4-4] = 2 // landlock_best_effort, before the rlimit count and the two LSM strings
	_, err = DecodeConfig(sb)
	assert.ErrorContains(t, err, "boolean")
}
