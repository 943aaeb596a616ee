package attach_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/attach"
	"nucleus/harden"
	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
)

// WithPolicy replaces the default: a kept capability is in the bounding,
// permitted and effective sets of the command, and nothing else is.
func TestWithPolicyKeepsCapability(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	code, out := run(t, st, []string{"cat", "/proc/self/status"},
		attach.WithPolicy(harden.Policy{Capabilities: []cap.Value{cap.NET_BIND_SERVICE}}))
	require.Equal(t, 0, code, out)
	s, err := proc.ParseStatus([]byte(out))
	require.NoError(t, err)
	const bit = uint64(1) << cap.NET_BIND_SERVICE
	assert.Equal(t, bit, s.CapEff)
	assert.Equal(t, bit, s.CapPrm)
	assert.Equal(t, bit, s.CapBnd)
	assert.Zero(t, s.CapInh)
	assert.Zero(t, s.CapAmb)
	assert.Equal(t, 2, s.Seccomp)
}

// A policy that cannot be compiled is refused before anything starts.
func TestWithPolicyInvalid(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	_, err := attach.Attach(st, []string{"true"}, attach.WithStdio(nil, nil, nil),
		attach.WithPolicy(harden.Policy{Landlock: []harden.PathRule{}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "attach: policy:")
}
