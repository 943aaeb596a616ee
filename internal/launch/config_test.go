package launch

import (
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/harden"
	"nucleus/internal/child"
	"nucleus/internal/hardencore"
	"nucleus/state"
)

// The default and the strict policy, compiled for this process as the
// target, survive the trip unchanged: the child applies exactly what the
// parent compiled.
func TestConfigCarriesDefaultProgram(t *testing.T) {
	self, err := state.FromPID(os.Getpid())
	require.NoError(t, err)
	strict := harden.StrictPolicy("/work")
	for _, pol := range []*harden.Policy{nil, &strict} {
		prog, progBytes, err := program(pol, self)
		require.NoError(t, err)
		c := &child.Config{Args: []string{"true"}, Dir: "/", Program: (*hardencore.Program)(prog)}
		got, err := child.DecodeConfig(child.AppendConfig(nil, c, progBytes))
		require.NoError(t, err)
		assert.Equal(t, (*hardencore.Program)(prog), got.Program)
	}
}

// The codec knows every field of the types it carries: a field added to
// harden.Program (a new hardening knob), to state.ProcessIdentity or to the
// config must be added to the codec too, or the child would silently run
// without it.
func TestConfigCodecKnowsEveryField(t *testing.T) {
	fields := func(v any) []string {
		var names []string
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			names = append(names, ty.Field(i).Name)
		}
		return names
	}
	assert.Equal(t, []string{"Args", "Env", "NeedHome", "Dir", "Identity", "Mode", "User", "Program"}, fields(child.Config{}))
	assert.Equal(t, []string{"UID", "GID", "AdditionalGIDs"}, fields(state.ProcessIdentity{}))
	assert.Equal(t, []string{"UID", "GID", "AdditionalGIDs"}, fields(hardencore.Identity{}))
	assert.Equal(t, []string{"Caps", "NoNewPrivs", "Strict", "Seccomp", "SeccompStack", "Landlock", "LandlockBestEffort", "Rlimits", "LSMExec"}, fields(harden.Program{}))
	assert.Equal(t, []string{"Bounding", "Permitted", "Effective", "Inheritable", "Ambient"}, fields(harden.CapSets{}))
	assert.Equal(t, []string{"Resource", "Cur", "Max"}, fields(harden.Rlimit{}))
	assert.Equal(t, []string{"Attr", "Value"}, fields(harden.LSMExec{}))
	assert.Equal(t, []string{"Code", "Jt", "Jf", "K"}, fields(harden.SockFilter{}))
	assert.Equal(t, []string{"Path", "Access"}, fields(harden.LandlockRule{}))
}

// The identity the parent sends is the one asked for.
func TestIdentityConversion(t *testing.T) {
	id := state.ProcessIdentity{UID: 1, GID: 2, AdditionalGIDs: []uint32{3, 4}}
	assert.Equal(t, hardencore.Identity{UID: 1, GID: 2, AdditionalGIDs: []uint32{3, 4}}, harden.Identity(id))
}
