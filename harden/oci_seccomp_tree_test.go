package harden

import (
	"slices"
	"testing"
	"time"

	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/harden/internal/bpfasm"
	"nucleus/harden/internal/bpftest"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// dockerDefaultLike is a profile of the shape and size of Docker's
// default: errno (EPERM) by default, for x86_64 and its 32-bit ABIs, an
// allow-list of every call of the table but those that escape, reach
// the kernel's less namespaced parts or change the host (the floor's
// denied list), then Docker's conditional rules: personality for five
// values, clone without namespace flags, clone3 ENOSYS, socket of any
// family but AF_VSOCK.
func dockerDefaultLike(t testing.TB) *specs.LinuxSeccomp {
	tables, err := nativeTables()
	require.NoError(t, err)
	denied := []string{"mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
		"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
		"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "ptrace",
		"process_vm_readv", "process_vm_writev", "kcmp", "kexec_load", "kexec_file_load",
		"init_module", "finit_module", "delete_module", "create_module", "open_by_handle_at",
		"name_to_handle_at", "userfaultfd", "reboot", "swapon", "swapoff", "acct", "quotactl",
		"quotactl_fd", "sethostname", "setdomainname", "settimeofday", "clock_settime",
		"clock_adjtime", "adjtimex", "syslog", "vhangup", "iopl", "ioperm", "uselib",
		"lookup_dcookie", "nfsservctl", "get_kernel_syms", "query_module", "_sysctl",
		"fanotify_init", "vm86", "vm86old",
		// the conditional ones, below
		"personality", "clone", "clone3", "socket"}
	var allow []string
	for _, s := range tables.syscalls {
		if !slices.Contains(denied, s.name) {
			allow = append(allow, s.name)
		}
	}
	enosys := uint(unix.ENOSYS)
	rules := []specs.LinuxSyscall{{Names: allow, Action: specs.ActAllow}}
	for _, v := range []uint64{0, 8, 0x20000, 0x20008, 0xffffffff} {
		rules = append(rules, specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}})
	}
	rules = append(rules,
		specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_VSOCK, Op: specs.OpNotEqual}}},
	)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      rules,
	}
}

// mixedOCIProfile is a deny-list of every operator, an argument compared
// twice (any of the comparisons applies), two arguments at once, later
// rules of a call that apply only when the earlier ones do not, an
// unconditional rule after conditional ones and kill actions.
func mixedOCIProfile() *specs.LinuxSeccomp {
	eacces := uint(unix.EACCES)
	const v = uint64(0x0000_0001_8000_0000)
	arg := func(i uint, op specs.LinuxSeccompOperator, val, two uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Op: op, Value: val, ValueTwo: two}
	}
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActErrno, ErrnoRet: &eacces, Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, v, 0)}},
			{Names: []string{"openat"}, Action: specs.ActKillProcess, Args: []specs.LinuxSeccompArg{arg(1, specs.OpNotEqual, v, 0)}},
			{Names: []string{"close"}, Action: specs.ActTrap, Args: []specs.LinuxSeccompArg{arg(2, specs.OpLessThan, v, 0)}},
			{Names: []string{"fstat"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{arg(3, specs.OpLessEqual, v, 0)}},
			{Names: []string{"lseek"}, Action: specs.ActKill, Args: []specs.LinuxSeccompArg{arg(4, specs.OpGreaterThan, v, 0)}},
			{Names: []string{"mmap"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{arg(5, specs.OpGreaterEqual, v, 0)}},
			{Names: []string{"mprotect"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{arg(0, specs.OpMaskedEqual, v, v&0x1_0000_0000)}},
			{Names: []string{"getdents64"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, 3, 0), arg(2, specs.OpGreaterThan, 100, 0)}},
			{Names: []string{"pread64"}, Action: specs.ActTrap, Args: []specs.LinuxSeccompArg{arg(1, specs.OpEqualTo, 7, 0), arg(1, specs.OpGreaterEqual, 1<<40, 0)}},
			{Names: []string{"pread64", "mkdirat"}, Action: specs.ActKillProcess},
			{Names: []string{"pread64", "read"}, Action: specs.ActErrno},
			{Names: []string{"mount", "unshare", "no_such_call"}, Action: specs.ActErrno},
		},
	}
}

// ociConsts are the values a profile's conditions compare.
func ociConsts(s *specs.LinuxSeccomp) []uint64 {
	var out []uint64
	for _, sc := range s.Syscalls {
		for _, a := range sc.Args {
			out = append(out, a.Value, a.ValueTwo)
		}
	}
	return out
}

// CompileOCISeccomp's search tree answers, for every syscall number, both
// architecture values and the x32 bit, and arguments around every value
// the profile compares, exactly what the previous encoding (the rules in
// a row, in ranges behind bpfasm.Dispatch) answers, for a profile like
// Docker's default and for one of every operator and rule shape, which
// also answers what the profile means (ociReference); and it is shorter.
func TestOCITreeEquivalent(t *testing.T) {
	info := nativeArch(t)
	tables, err := nativeTables()
	require.NoError(t, err)
	for name, s := range map[string]*specs.LinuxSeccomp{"docker": dockerDefaultLike(t), "mixed": mixedOCIProfile()} {
		t.Run(name, func(t *testing.T) {
			tree, err := CompileOCISeccomp(s)
			require.NoError(t, err)
			old, err := compileOCISeccompBuckets(s)
			require.NoError(t, err)
			t.Logf("%s: %d instructions, %d before", name, len(tree), len(old))
			assert.Less(t, len(tree), len(old))
			inputs := bpftest.Inputs(tables.audit, []uint32{uint32(arch.I386.ID), 0}, tables.maxNr, ociConsts(s))
			require.NoError(t, bpftest.Equivalent(tree, old, inputs))
			if name != "mixed" {
				return
			}
			vm, err := bpfasm.NewVM(tree)
			require.NoError(t, err)
			def, err := ociAction(s.DefaultAction, s.DefaultErrnoRet)
			require.NoError(t, err)
			for _, d := range inputs {
				got, err := bpfasm.RunVM(vm, d)
				require.NoError(t, err)
				want := def
				if name, ok := info.SyscallNumbers[int(d.Nr)]; ok && d.Arch == tables.audit && d.Nr >= 0 {
					want = ociReference(t, s, name, d.Args)
				}
				if got != want {
					t.Fatalf("arch %#x nr %d args %#x: %#x, the profile says %#x", d.Arch, d.Nr, d.Args, got, want)
				}
			}
		})
	}
}

// BenchmarkCompileOCISeccomp is what the parent pays per attach to a
// container with a profile like Docker's default, as the tree and as the
// previous encoding, in turns in the same run; and the time to install
// each on a fresh thread (the child's cost before exec).
func BenchmarkCompileOCISeccomp(b *testing.B) {
	s := dockerDefaultLike(b)
	tree, err := CompileOCISeccomp(s)
	require.NoError(b, err)
	old, err := compileOCISeccompBuckets(s)
	require.NoError(b, err)
	var tTree, tOld time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if _, err := CompileOCISeccomp(s); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := compileOCISeccompBuckets(s); err != nil {
			b.Fatal(err)
		}
		tTree += mid.Sub(start)
		tOld += time.Since(mid)
		n++
	}
	reportOCI(b, tTree, tOld, n, tree, old)
}

// reportOCI reports an OCI profile benchmark: the times (ReportNewOld) and
// the instructions of each encoding.
func reportOCI(b *testing.B, tTree, tOld time.Duration, n int, tree, old []SockFilter) {
	bpftest.ReportNewOld(b, tTree, tOld, n)
	b.ReportMetric(float64(len(tree)), "new-insns")
	b.ReportMetric(float64(len(old)), "old-insns")
}

// BenchmarkInstallOCISeccomp installs a profile like Docker's default on
// a fresh thread, as the child of an attach to a Docker container does
// (on top of the floor, BenchmarkInstallFloor in seccomppolicy), compiled
// as the tree and as the previous encoding, in turns: new-µs and old-µs
// are the seccomp(2) calls alone.
func BenchmarkInstallOCISeccomp(b *testing.B) {
	testutil.RequireRoot(b)
	s := dockerDefaultLike(b)
	tree, err := CompileOCISeccomp(s)
	require.NoError(b, err)
	old, err := compileOCISeccompBuckets(s)
	require.NoError(b, err)
	var tTree, tOld time.Duration
	n := 0
	for b.Loop() {
		d, err := bpftest.InstallFresh(nil, tree)
		require.NoError(b, err)
		tTree += d
		d, err = bpftest.InstallFresh(nil, old)
		require.NoError(b, err)
		tOld += d
		n++
	}
	reportOCI(b, tTree, tOld, n, tree, old)
}

// In the kernel: a profile like Docker's default, compiled as the tree,
// stacked on the floor under the container policy, lets a shell's
// everyday commands run, and its conditional rule is what the kernel
// applies: kill(pid, 0) fails with the rule's EACCES, kill(pid, SIGCONT)
// goes through.
func TestOCITreeInKernel(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	s := dockerDefaultLike(t)
	eacces := uint(unix.EACCES)
	s.Syscalls = append([]specs.LinuxSyscall{{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: &eacces,
		Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0, Op: specs.OpEqualTo}}}}, s.Syscalls...)
	oci, err := CompileOCISeccomp(s)
	require.NoError(t, err)
	prog, err := CompileFor(ContainerPolicy(), &Confinement{
		Caps:    CapSets{Bounding: dockerCaps, Permitted: dockerCaps, Effective: dockerCaps},
		Seccomp: [][]SockFilter{oci},
	})
	require.NoError(t, err)
	script := `
kill -0 $$ 2>&1; echo kill0=$?
kill -s CONT $$; echo cont=$?
ls / >/dev/null && echo ls-ok
echo b a | tr ' ' '\n' | sort | head -1
(sleep 0) & wait $! && echo fork-ok
grep Seccomp_filters /proc/self/status
`
	r := runChild(t, childSpec{
		Program:  prog,
		Identity: state.ProcessIdentity{},
		Dir:      "/tmp",
		Argv:     []string{busybox, "sh", "-c", script},
	}, childOpts{})
	require.Equal(t, 0, r.Code, r.Stderr)
	for _, want := range []string{"kill0=1\n", "cont=0\n", "ls-ok\n", "a\n", "fork-ok\n", "Seccomp_filters:\t2\n"} {
		assert.Contains(t, r.Stdout, want)
	}
	assert.Contains(t, r.Stdout, "Permission denied")
}
