package launch

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/harden"
	"nucleus/state"
)

func fullConfig() *childConfig {
	return &childConfig{
		Args:     []string{"sh", "-c", "echo ü; exit 3", ""},
		Env:      []string{"PATH=/bin", "HOME=/root", "EMPTY="},
		NeedHome: true,
		Dir:      "/tmp/a b",
		Identity: state.ProcessIdentity{UID: 1000, GID: 1001, AdditionalGIDs: []uint32{1, 2, 4294967295}},
		Program: &harden.Program{
			KeepCaps:           1<<21 | 1<<63,
			Seccomp:            []harden.SockFilter{{Code: 0x20, Jt: 1, Jf: 2, K: 4}, {Code: 0x6, K: 0x7fff0000}},
			Landlock:           []harden.LandlockRule{{Path: "/usr", Access: 7}, {Path: "/tmp", Access: 1 << 40}},
			LandlockBestEffort: true,
		},
	}
}

func TestConfigRoundTrip(t *testing.T) {
	for _, c := range []*childConfig{
		fullConfig(),
		{Args: []string{"true"}, Dir: "/", Program: &harden.Program{Seccomp: []harden.SockFilter{{Code: 6}}}},
	} {
		b := encodeConfig(nil, c, programBytes(c.Program))
		got, err := decodeConfig(b)
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
}

// The default policy, compiled, survives the trip unchanged: the child
// applies exactly what the parent compiled.
func TestConfigCarriesDefaultProgram(t *testing.T) {
	prog, progBytes, err := program(nil)
	require.NoError(t, err)
	c := &childConfig{Args: []string{"true"}, Dir: "/", Program: prog}
	got, err := decodeConfig(encodeConfig(nil, c, progBytes))
	require.NoError(t, err)
	assert.Equal(t, prog, got.Program)
}

// The codec knows every field of the types it carries: a field added to
// harden.Program (a new hardening knob) or to the config must be added to
// the codec too, or the child would silently run without it.
func TestConfigCodecKnowsEveryField(t *testing.T) {
	fields := func(v any) []string {
		var names []string
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			names = append(names, ty.Field(i).Name)
		}
		return names
	}
	assert.Equal(t, []string{"Args", "Env", "NeedHome", "Dir", "Identity", "Program"}, fields(childConfig{}))
	assert.Equal(t, []string{"UID", "GID", "AdditionalGIDs"}, fields(state.ProcessIdentity{}))
	assert.Equal(t, []string{"KeepCaps", "Seccomp", "Landlock", "LandlockBestEffort"}, fields(harden.Program{}))
	assert.Equal(t, []string{"Code", "Jt", "Jf", "K"}, fields(harden.SockFilter{}))
	assert.Equal(t, []string{"Path", "Access"}, fields(harden.LandlockRule{}))
}

// A record that is cut short, too long, of another version, or whose
// counts promise more than it holds is refused, never half-applied.
func TestConfigRefusesBadRecords(t *testing.T) {
	c := fullConfig()
	b := encodeConfig(nil, c, programBytes(c.Program))
	for n := 0; n < len(b); n++ {
		_, err := decodeConfig(b[:n])
		require.Error(t, err, "truncated to %d of %d bytes", n, len(b))
	}
	_, err := decodeConfig(append(append([]byte(nil), b...), 0))
	assert.ErrorContains(t, err, "after the record")

	bad := append([]byte(nil), b...)
	binary.NativeEndian.PutUint32(bad, configVersion+1)
	_, err = decodeConfig(bad)
	assert.ErrorContains(t, err, "version")

	// A huge argument count: refused before any allocation of that size.
	huge := binary.NativeEndian.AppendUint32(nil, configVersion)
	huge = binary.NativeEndian.AppendUint32(huge, 1<<31)
	_, err = decodeConfig(huge)
	assert.ErrorIs(t, err, errShortConfig)

	// A boolean that is neither 0 nor 1.
	small := &childConfig{Args: []string{"x"}, Program: &harden.Program{}}
	sb := encodeConfig(nil, small, programBytes(small.Program))
	sb[len(sb)-1] = 2
	_, err = decodeConfig(sb)
	assert.ErrorContains(t, err, "boolean")
}
