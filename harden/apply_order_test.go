package harden

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/harden/seccomppolicy"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// The steps run in the documented order: identity first (the Rust
// predecessor dropped capabilities and loaded a kill filter before setuid,
// so every non-root exec failed), seccomp last.
func TestApplyOrder(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	r := runChild(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}},
		Argv:     []string{busybox, "echo", "executed"},
		Trace:    true,
	}, childOpts{})
	require.Equal(t, 0, r.Code, r.Stderr)
	assert.Equal(t, "executed\n", r.Stdout)
	var steps []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "STEP "); ok {
			steps = append(steps, s)
		}
	}
	assert.Equal(t, []string{
		StepSetgroups, StepSetresgid, StepSetresuid,
		StepCapBSet, StepRlimit, StepAmbient, StepCapset,
		StepNoNewPrivs, StepLandlock, StepCapset,
		StepCloseRange, StepChdir, StepGetcwd, StepDumpable, StepSeccomp,
	}, steps)
}

// Seccomp goes last: a filter that denies every system call the earlier
// steps make still lets Apply succeed, because it is installed after them.
// (The verification then falls back to /proc/thread-self/status, as the
// filter also denies prctl.)
func TestSeccompInstalledLast(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	used := []string{
		"setgroups", "setresgid", "setresuid", "capget", "capset", "prctl",
		"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
		"close_range", "chdir", "getcwd",
	}
	pol := seccomppolicy.Default()
	for i := range pol.Syscalls {
		pol.Syscalls[i].Names = slices.DeleteFunc(pol.Syscalls[i].Names, func(n string) bool { return slices.Contains(used, n) })
	}
	out := mustRun(t, childSpec{
		Program:  compile(t, Policy{Seccomp: assembleFloor(t, pol)}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000},
		Dir:      "/tmp",
		Argv:     []string{busybox, "cat", "/proc/self/status"},
	}, childOpts{})
	st := statusOf(out)
	assert.Equal(t, "2", st["Seccomp"])
	assert.Equal(t, "1", st["NoNewPrivs"])
	assert.Equal(t, "1000\t1000\t1000\t1000", st["Uid"])
}
