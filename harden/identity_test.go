package harden

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"nucleus/internal/testutil"
	"nucleus/state"
)

// The identity is exactly the one asked for: uid, gid and supplementary
// groups; the caller's groups do not leak.
func TestIdentity(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	out := mustRun(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000, 3000}},
		Groups:   []uint32{0, 4242}, // the caller's
		Argv:     []string{busybox, "sh", "-c", "cat /proc/self/status; echo ID $(id -u) $(id -g) $(id -G)"},
	}, childOpts{})
	st := statusOf(out)
	assert.Equal(t, "1000\t1000\t1000\t1000", st["Uid"])
	assert.Equal(t, "1000\t1000\t1000\t1000", st["Gid"])
	assert.Equal(t, "2000 3000", st["Groups"])
	assert.Contains(t, out, "ID 1000 1000 1000 2000 3000\n")
}

// No additional gids means no supplementary groups at all.
func TestIdentityNoGroups(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	out := mustRun(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000},
		Groups:   []uint32{0, 4242},
		Argv:     []string{busybox, "cat", "/proc/self/status"},
	}, childOpts{})
	assert.Equal(t, "", statusOf(out)["Groups"])
}

// In a user namespace whose setgroups is "deny" (an unprivileged one), the
// setgroups step is skipped when no additional gids are asked for; asking
// for some is an error (steps_error_test.go).
func TestIdentitySetgroupsDenied(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	out := mustRun(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 0, GID: 0},
		Argv:     []string{busybox, "cat", "/proc/self/status", "/proc/self/setgroups"},
	}, childOpts{UserNS: true})
	st := statusOf(out)
	assert.Equal(t, "0\t0\t0\t0", st["Uid"])
	assert.Equal(t, "2", st["Seccomp"])
	assert.Contains(t, out, "deny")
}
