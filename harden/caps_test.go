package harden

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/internal/testutil"
	"nucleus/state"
)

// Every capability set is empty in the exec'd command, for root and for
// another uid, even when the caller had inheritable and ambient capabilities
// (CVE-2022-29162 / CVE-2022-27650: an inheritable set leaked into the
// container's processes); no_new_privs is set and the seccomp filter is on.
func TestCapabilitiesCleared(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	leaked := uint64(1)<<cap.NET_BIND_SERVICE | uint64(1)<<cap.SYS_ADMIN
	for _, id := range []state.ProcessIdentity{{UID: 0, GID: 0}, {UID: 1000, GID: 1000}} {
		t.Run(fmt.Sprintf("uid%d", id.UID), func(t *testing.T) {
			out := mustRun(t, childSpec{
				Program:     compile(t, Policy{}),
				Identity:    id,
				Inheritable: leaked,
				Argv:        []string{busybox, "cat", "/proc/self/status"},
			}, childOpts{})
			st := statusOf(out)
			for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
				assert.Equal(t, "0000000000000000", st[k], k)
			}
			assert.Equal(t, "1", st["NoNewPrivs"])
			assert.Equal(t, "2", st["Seccomp"])
		})
	}
}

// A kept capability stays in bounding, permitted and effective for uid 0 and
// only there: inheritable and ambient stay empty.
func TestKeptCapabilityRoot(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	out := mustRun(t, childSpec{
		Program:     compile(t, Policy{Capabilities: []cap.Value{cap.NET_BIND_SERVICE}}),
		Identity:    state.ProcessIdentity{UID: 0, GID: 0},
		Inheritable: uint64(1) << cap.NET_BIND_SERVICE,
		Argv:        []string{busybox, "cat", "/proc/self/status"},
	}, childOpts{})
	st := statusOf(out)
	want := fmt.Sprintf("%016x", uint64(1)<<cap.NET_BIND_SERVICE)
	assert.Equal(t, want, st["CapBnd"])
	assert.Equal(t, want, st["CapPrm"])
	assert.Equal(t, want, st["CapEff"])
	assert.Equal(t, "0000000000000000", st["CapInh"])
	assert.Equal(t, "0000000000000000", st["CapAmb"])
}

// Keeping a capability for a non-zero uid cannot survive execve (no file
// capabilities under no_new_privs, no ambient set): Apply refuses before
// changing anything.
func TestKeptCapabilityNonRootRefused(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	r := runChild(t, childSpec{
		Program:  compile(t, Policy{Capabilities: []cap.Value{cap.NET_BIND_SERVICE}}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000},
		Argv:     []string{busybox, "echo", "executed"},
		Trace:    true,
	}, childOpts{})
	assert.Equal(t, exitApplyFailed, r.Code)
	assert.Equal(t, StepCapset, r.Step())
	assert.NotContains(t, r.Stderr, "STEP setgroups", "refused before any step")
	assert.Contains(t, r.Stderr, "cap_net_bind_service")
	assert.Empty(t, r.Stdout)
}

// Compile takes capabilities as libcap values and refuses what the kernel
// does not have.
func TestCompileCapabilities(t *testing.T) {
	p, err := Compile(Policy{Strict: true, Capabilities: []cap.Value{cap.CHOWN, cap.NET_RAW, cap.CHOWN}})
	require.NoError(t, err)
	assert.Equal(t, uint64(1)<<cap.CHOWN|uint64(1)<<cap.NET_RAW, p.Caps.Bounding)

	v, err := cap.FromName("cap_sys_ptrace")
	require.NoError(t, err)
	p, err = Compile(Policy{Strict: true, Capabilities: []cap.Value{v}})
	require.NoError(t, err)
	assert.Equal(t, uint64(1)<<cap.SYS_PTRACE, p.Caps.Bounding)

	_, err = Compile(Policy{Strict: true, Capabilities: []cap.Value{cap.MaxBits()}})
	assert.ErrorContains(t, err, "not a capability of this kernel")
	_, err = Compile(Policy{Strict: true, Capabilities: []cap.Value{63}})
	assert.Error(t, err)
}
