package harden

import (
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/internal/testutil"
	"nucleus/state"
)

// dockerCaps are Docker's 14 default capabilities.
const dockerCaps = uint64(1)<<unix.CAP_CHOWN | 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_FSETID |
	1<<unix.CAP_FOWNER | 1<<unix.CAP_MKNOD | 1<<unix.CAP_NET_RAW | 1<<unix.CAP_SETGID |
	1<<unix.CAP_SETUID | 1<<unix.CAP_SETFCAP | 1<<unix.CAP_SETPCAP | 1<<unix.CAP_NET_BIND_SERVICE |
	1<<unix.CAP_SYS_CHROOT | 1<<unix.CAP_KILL | 1<<unix.CAP_AUDIT_WRITE

// The container policy gives the command the target's capability sets, no
// no_new_privs when the target has none (so the filters are installed
// before the capability drop, while CAP_SYS_ADMIN is still held), the
// target's rlimits, and the container's own seccomp profile stacked on the
// floor: mkdir, which the profile denies with EACCES, fails.
func TestContainerPolicyWithoutNoNewPrivs(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	errno := uint(unix.EACCES)
	oci, err := CompileOCISeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64, specs.ArchX86},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno}},
	})
	require.NoError(t, err)
	conf := &Confinement{
		Caps:    CapSets{Bounding: dockerCaps, Permitted: dockerCaps, Effective: dockerCaps},
		Seccomp: [][]SockFilter{oci},
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 123, Max: 456}},
	}
	prog, err := CompileFor(ContainerPolicy(), conf)
	require.NoError(t, err)
	assert.False(t, prog.NoNewPrivs)
	assert.Nil(t, prog.Landlock)

	r := runChild(t, childSpec{
		Program:  prog,
		Identity: state.ProcessIdentity{},
		Dir:      "/tmp",
		Argv:     []string{busybox, "sh", "-c", "cat /proc/self/status; ulimit -n; ulimit -Hn; mkdir /tmp/nucleus-denied-$$ 2>&1; echo rc=$?"},
		Trace:    true,
	}, childOpts{})
	require.Equal(t, 0, r.Code, r.Stderr)
	st := statusOf(r.Stdout)
	assert.Equal(t, "0", st["NoNewPrivs"])
	assert.Equal(t, "2", st["Seccomp"])
	assert.Equal(t, "2", st["Seccomp_filters"], "the floor and the container's profile")
	want := hexMask(dockerCaps)
	assert.Equal(t, want, st["CapBnd"])
	assert.Equal(t, want, st["CapPrm"])
	assert.Equal(t, want, st["CapEff"])
	assert.Equal(t, "0000000000000000", st["CapInh"])
	assert.Equal(t, "0000000000000000", st["CapAmb"])
	assert.Contains(t, r.Stdout, "\n123\n456\n")
	assert.Contains(t, r.Stdout, "Permission denied")
	assert.Contains(t, r.Stdout, "rc=1")

	// Without no_new_privs the filters go in before the capability drop.
	var steps []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "STEP "); ok {
			steps = append(steps, s)
		}
	}
	assert.Equal(t, []string{
		StepSetgroups, StepSetresgid, StepSetresuid, StepCapBSet, StepRlimit, StepSeccomp,
		StepAmbient, StepCapset, StepCapset, StepCloseRange, StepChdir, StepGetcwd, StepDumpable,
	}, steps)
}

// Never looser: the container policy masks the target's sets to the
// capabilities asked for, and the strict policy refuses one the target
// lacks.
func TestCompileForNeverLooser(t *testing.T) {
	conf := &Confinement{Caps: CapSets{Bounding: dockerCaps, Permitted: dockerCaps, Effective: dockerCaps}}
	p, err := CompileFor(Policy{Capabilities: []cap.Value{cap.NET_RAW, cap.SYS_ADMIN}}, conf)
	require.NoError(t, err)
	bit := uint64(1) << unix.CAP_NET_RAW
	assert.Equal(t, CapSets{Bounding: bit, Permitted: bit, Effective: bit}, p.Caps)

	_, err = CompileFor(Policy{Strict: true, Capabilities: []cap.Value{cap.SYS_ADMIN}}, conf)
	assert.ErrorContains(t, err, "cap_sys_admin")

	s, err := CompileFor(StrictPolicy("/work"), &Confinement{Caps: conf.Caps, NoNewPrivs: false, Rlimits: []Rlimit{{Resource: 7, Cur: 1, Max: 2}}})
	require.NoError(t, err)
	assert.Zero(t, s.Caps)
	assert.True(t, s.NoNewPrivs)
	assert.Equal(t, []Rlimit{{Resource: 7, Cur: 1, Max: 2}}, s.Rlimits)
	assert.Contains(t, s.Landlock, LandlockRule{Path: "/work", Access: landlockRights(Read | Write | Exec)})

	_, err = CompileFor(ContainerPolicy(), nil)
	assert.ErrorContains(t, err, "confinement")
}

func hexMask(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// The target's NOFILE limit survives execve: Go's syscall package raises
// the soft limit at init and syscall.Exec restores the one it found, which
// would hand the command the caller's soft limit instead of the target's.
func TestRlimitNofileSurvivesExec(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	// The child must start with a soft limit below the hard one, as under
	// most shells, for its Go runtime to raise it and remember the old one.
	low := lim
	low.Cur = min(lim.Max-2, 512)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &low))
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) })
	prog, err := CompileFor(ContainerPolicy(), &Confinement{
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: lim.Max, Max: lim.Max}},
	})
	require.NoError(t, err)
	out := mustRun(t, childSpec{
		Program:  prog,
		Identity: state.ProcessIdentity{},
		Argv:     []string{busybox, "sh", "-c", "ulimit -n; ulimit -Hn"},
	}, childOpts{})
	want := strconv.FormatUint(lim.Max, 10)
	assert.Equal(t, want+"\n"+want+"\n", out)
}

// A non-root target's capabilities reach the command through the ambient
// set, as they reach the target's own children: the container policy
// keeps the five sets for uid 1000, where the old rule (kept capabilities
// only for uid 0) refused them.
func TestContainerPolicyAmbientForNonRoot(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	bit := uint64(1) << unix.CAP_NET_BIND_SERVICE
	prog, err := CompileFor(ContainerPolicy(), &Confinement{
		Caps:       CapSets{Bounding: dockerCaps, Permitted: bit, Effective: bit, Inheritable: bit, Ambient: bit},
		NoNewPrivs: true,
	})
	require.NoError(t, err)
	out := mustRun(t, childSpec{
		Program:  prog,
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000},
		Dir:      "/tmp",
		Argv:     []string{busybox, "cat", "/proc/self/status"},
	}, childOpts{})
	st := statusOf(out)
	assert.Equal(t, "1000\t1000\t1000\t1000", st["Uid"])
	assert.Equal(t, hexMask(dockerCaps), st["CapBnd"])
	for _, set := range []string{"CapPrm", "CapEff", "CapInh", "CapAmb"} {
		assert.Equal(t, hexMask(bit), st[set], set)
	}
	assert.Equal(t, "1", st["NoNewPrivs"])

	// The strict policy stacks the container's filters too, under its own.
	s, err := CompileFor(StrictPolicy(), &Confinement{Seccomp: [][]SockFilter{{{Code: 6, K: unix.SECCOMP_RET_ALLOW}}}})
	require.NoError(t, err)
	require.Len(t, s.SeccompStack, 2)
	assert.Equal(t, []SockFilter{{Code: 6, K: unix.SECCOMP_RET_ALLOW}}, s.SeccompStack[0])
}
