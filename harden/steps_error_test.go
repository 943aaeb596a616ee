package harden

import (
	"os"
	"path/filepath"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/harden/seccomppolicy"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// refuse returns a seccomp filter, installed by the child before Apply,
// under which the kernel refuses one system call (with EPERM), optionally
// only for a given first argument. It breaks a step whose call the kernel
// would otherwise never refuse, for real: Apply's own code is not changed.
func refuse(t testing.TB, name string, arg0 ...uint64) []SockFilter {
	t.Helper()
	g := seccomp.SyscallGroup{Action: seccomp.ActionErrno}
	if len(arg0) == 0 {
		g.Names = []string{name}
	}
	for _, v := range arg0 {
		g.NamesWithCondtions = append(g.NamesWithCondtions, seccomp.NameWithConditions{
			Name: name, Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.Equal, Value: v}},
		})
	}
	return assembleFloor(t, &seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: []seccomp.SyscallGroup{g}})
}

// Every step can fail, and each failure is a *StepError naming the step,
// with nothing executed afterwards.
func TestStepErrors(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	requireLandlock(t)

	def := compile(t, Policy{})
	with := func(mod func(p *Program)) *Program {
		p := *def
		mod(&p)
		return &p
	}
	root := state.ProcessIdentity{UID: 0, GID: 0}
	chroot := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(chroot, "proc"), 0o755))

	invalidBPF, err := bpf.Assemble([]bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: 4}}) // no return: the kernel's checker refuses it
	require.NoError(t, err)

	for _, tc := range []struct {
		name  string
		spec  childSpec
		opts  childOpts
		step  string
		errIn string
	}{
		{
			name: "setgroups denied by the user namespace but gids asked",
			spec: childSpec{Identity: state.ProcessIdentity{UID: 0, GID: 0, AdditionalGIDs: []uint32{0}}},
			opts: childOpts{UserNS: true}, step: StepSetgroups, errIn: `"deny"`,
		},
		{
			name: "setresgid to a gid unmapped in the user namespace",
			spec: childSpec{Identity: state.ProcessIdentity{UID: 0, GID: 4000}},
			opts: childOpts{UserNS: true}, step: StepSetresgid, errIn: "invalid argument",
		},
		{
			name: "setresuid to a uid unmapped in the user namespace",
			spec: childSpec{Identity: state.ProcessIdentity{UID: 4000, GID: 0}},
			opts: childOpts{UserNS: true}, step: StepSetresuid, errIn: "invalid argument",
		},
		{
			name: "kept capability that is not a capability",
			spec: childSpec{Program: with(func(p *Program) { p.Caps.Bounding = 1 << 60 }), Identity: root},
			step: StepCapBSet, errIn: "not a capability of this kernel",
		},
		{
			name: "bounding set drop refused",
			spec: childSpec{Identity: root, PreFilter: refuse(t, "prctl", unix.PR_CAPBSET_DROP)},
			step: StepCapBSet, errIn: "operation not permitted",
		},
		{
			name: "ambient clear refused",
			spec: childSpec{Identity: root, PreFilter: refuse(t, "prctl", unix.PR_CAP_AMBIENT)},
			step: StepAmbient, errIn: "operation not permitted",
		},
		{
			name: "capability kept for a non-zero uid",
			spec: childSpec{Program: compile(t, Policy{Capabilities: []cap.Value{cap.CHOWN}}), Identity: state.ProcessIdentity{UID: 1000, GID: 1000}},
			step: StepCapset, errIn: "only for uid 0",
		},
		{
			name: "capset refused",
			spec: childSpec{Identity: root, PreFilter: refuse(t, "capset")},
			step: StepCapset, errIn: "operation not permitted",
		},
		{
			name: "no_new_privs refused",
			spec: childSpec{Identity: root, PreFilter: refuse(t, "prctl", unix.PR_SET_NO_NEW_PRIVS)},
			step: StepNoNewPrivs, errIn: "operation not permitted",
		},
		{
			name: "landlock rule with an invalid access mask",
			spec: childSpec{Program: with(func(p *Program) { p.Landlock = []LandlockRule{{Path: "/", Access: 1 << 40}} }), Identity: root},
			step: StepLandlock, errIn: "invalid access mask",
		},
		{
			name: "landlock refused by the kernel, best effort or not",
			spec: childSpec{Program: with(func(p *Program) { p.LandlockBestEffort = true }), Identity: root, PreFilter: refuse(t, "landlock_create_ruleset")},
			step: StepLandlock, errIn: "operation not permitted",
		},
		{
			name: "close_range refused",
			spec: childSpec{Identity: root, PreFilter: refuse(t, "close_range")},
			step: StepCloseRange, errIn: "operation not permitted",
		},
		{
			name: "dir does not exist",
			spec: childSpec{Identity: root, Dir: "/nonexistent/nucleus-harden"},
			step: StepChdir, errIn: "no such file or directory",
		},
		{
			name: "relative dir",
			spec: childSpec{Identity: root, Dir: "tmp"},
			step: StepChdir, errIn: "not an absolute path",
		},
		{
			name: "dir outside the root (CVE-2024-21626)",
			spec: childSpec{Identity: root, Chroot: &chrootSpec{Root: chroot, Outside: t.TempDir()}, Dir: "/proc/self/fd/{fd}"},
			step: StepGetcwd, errIn: "(unreachable)",
		},
		{
			name: "dumpable refused",
			spec: childSpec{Identity: root, PreFilter: refuse(t, "prctl", unix.PR_SET_DUMPABLE)},
			step: StepDumpable, errIn: "operation not permitted",
		},
		{
			name: "invalid BPF program",
			spec: childSpec{Program: with(func(p *Program) { p.Seccomp = []SockFilter{{Code: invalidBPF[0].Op, K: invalidBPF[0].K}} }), Identity: root},
			step: StepSeccomp, errIn: "invalid argument",
		},
		{
			name: "LSM attribute the kernel does not have",
			spec: childSpec{Program: with(func(p *Program) { p.LSMExec = LSMExec{Attr: "attr/nucleus-none/exec", Value: "x"} }), Identity: root},
			step: StepLSM, errIn: "/proc/thread-self/attr/nucleus-none/exec",
		},
		{
			name: "rlimit with soft above hard",
			spec: childSpec{Program: with(func(p *Program) { p.Rlimits = []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 10, Max: 5}} }), Identity: root},
			step: StepRlimit, errIn: "invalid argument",
		},
		{
			name: "ambient capability outside permitted",
			spec: childSpec{Program: with(func(p *Program) { p.Caps = CapSets{Ambient: 1 << unix.CAP_KILL} }), Identity: root},
			step: StepCapset, errIn: "inconsistent capability sets",
		},
		{
			name: "empty BPF program",
			spec: childSpec{Program: with(func(p *Program) { p.Seccomp = nil }), Identity: root},
			step: StepSeccomp, errIn: "filter of 0 instructions",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if spec.Program == nil {
				spec.Program = def
			}
			spec.Argv = []string{busybox, "echo", "executed"}
			r := runChild(t, spec, tc.opts)
			assert.Equal(t, exitApplyFailed, r.Code, "stdout: %s\nstderr: %s", r.Stdout, r.Stderr)
			assert.Equal(t, tc.step, r.Step(), r.Stderr)
			assert.Contains(t, r.Stderr, "ERR=harden: "+tc.step+": ")
			assert.Contains(t, r.Stderr, tc.errIn)
			assert.NotContains(t, r.Stdout, "executed")
		})
	}
}

func TestStepErrorUnwrap(t *testing.T) {
	err := error(&StepError{Step: StepChdir, Err: unix.ENOENT})
	assert.Equal(t, "harden: chdir: no such file or directory", err.Error())
	assert.ErrorIs(t, err, unix.ENOENT)
	var errno unix.Errno
	require.ErrorAs(t, err, &errno)
	assert.Equal(t, unix.ENOENT, errno)

	var p *Program
	var se *StepError
	require.ErrorAs(t, p.Apply(state.ProcessIdentity{}, "/"), &se)
	assert.Equal(t, StepProgram, se.Step)
}

// assembleFloor assembles a go-seccomp-bpf policy with seccomppolicy.
func assembleFloor(t testing.TB, pol *seccomp.Policy) []SockFilter {
	t.Helper()
	f, err := seccomppolicy.Assemble(pol)
	require.NoError(t, err)
	return f
}
