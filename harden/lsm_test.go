package harden

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/proc"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// With an active LSM the command runs under the label written to the
// thread's attr/exec: this process's own, a transition every policy
// allows. The refusal of the step is TestStepErrors'; this half needs an
// LSM that labels processes, which this kernel may not have (a kernel
// layout skip).
func TestLSMExecLabel(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	label, lsm, err := proc.LSMLabel(os.Getpid())
	require.NoError(t, err)
	if label == "" {
		t.Skipf("no LSM labels this process (lsm %q): /proc/self/attr is served by no module on this kernel", lsm)
	}
	attr, value := "attr/exec", label
	if lsm == proc.AppArmor {
		attr, value = "attr/apparmor/exec", "exec "+label
	}
	prog := compile(t, Policy{})
	prog.LSMExec = LSMExec{Attr: attr, Value: value}
	out := mustRun(t, childSpec{
		Program:  prog,
		Identity: state.ProcessIdentity{},
		Argv:     []string{busybox, "cat", "/proc/self/attr/current"},
	}, childOpts{})
	assert.Equal(t, label, strings.Fields(strings.TrimRight(out, "\x00\n"))[0])
}
