package seccomppolicy

import (
	"slices"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/harden/internal/bpfasm"
	"nucleus/internal/hardencore"
)

const (
	retAllow  = uint32(unix.SECCOMP_RET_ALLOW)
	retEPERM  = bpfasm.RetErrnoEPERM
	retENOSYS = bpfasm.RetErrnoENOSYS
)

func nativeArch(t testing.TB) *arch.Info {
	t.Helper()
	info, err := arch.GetInfo("")
	require.NoError(t, err)
	return info
}

func assemble(t testing.TB, pol *seccomp.Policy) []hardencore.SockFilter {
	t.Helper()
	f, err := Assemble(pol)
	require.NoError(t, err)
	return f
}

// run simulates the filter in golang.org/x/net/bpf's interpreter.
func run(f []hardencore.SockFilter, d bpfasm.SeccompData) (uint32, error) {
	vm, err := bpfasm.NewVM(f)
	if err != nil {
		return 0, err
	}
	return bpfasm.RunVM(vm, d)
}

// simulate simulates the filter on a native call by name.
func simulate(t testing.TB, f []hardencore.SockFilter, info *arch.Info, name string, args ...uint64) uint32 {
	t.Helper()
	nr, ok := info.SyscallNames[name]
	require.True(t, ok, "syscall %s unknown on %s", name, info.Name)
	d := bpfasm.SeccompData{Nr: int32(nr), Arch: uint32(info.ID)}
	copy(d.Args[:], args)
	ret, err := run(f, d)
	require.NoError(t, err)
	return ret
}

// Assemble refuses what go-seccomp-bpf cannot assemble.
func TestAssembleErrors(t *testing.T) {
	_, err := Assemble(&seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: []seccomp.SyscallGroup{{Names: []string{"no_such_call"}, Action: seccomp.ActionErrno}}})
	assert.ErrorContains(t, err, "no_such_call")
	_, err = Assemble(&seccomp.Policy{DefaultAction: seccomp.ActionAllow})
	assert.Error(t, err, "empty policy")
}

// What the default profile answers, call by call, in the BPF interpreter.
func TestDefaultProfileSimulated(t *testing.T) {
	info := nativeArch(t)
	f := assemble(t, Default())

	for _, name := range allowedSyscalls {
		if _, ok := info.SyscallNames[name]; ok {
			assert.Equal(t, retAllow, simulate(t, f, info, name), name)
		}
	}
	for _, name := range deniedSyscalls {
		assert.False(t, slices.Contains(allowedSyscalls, name), "%s is both allowed and denied", name)
		if _, ok := info.SyscallNames[name]; ok {
			assert.Equal(t, retEPERM, simulate(t, f, info, name, unix.CLONE_NEWUSER), name)
		}
	}

	// Everyday calls the predecessor's profile killed.
	for _, name := range []string{"utimensat", "sysinfo", "statx", "faccessat2", "rseq", "getrandom", "prlimit64", "execve", "wait4"} {
		assert.Equal(t, retAllow, simulate(t, f, info, name), name)
	}

	// clone: threads and forks yes, namespaces no; clone3 → ENOSYS.
	goThread := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_SYSVSEM | unix.CLONE_THREAD)
	assert.Equal(t, retAllow, simulate(t, f, info, "clone", goThread))
	assert.Equal(t, retAllow, simulate(t, f, info, "clone", uint64(unix.SIGCHLD)))
	assert.Equal(t, retAllow, simulate(t, f, info, "clone", uint64(unix.CLONE_VM|unix.CLONE_VFORK|unix.SIGCHLD)))
	for _, fl := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET} {
		assert.Equal(t, retEPERM, simulate(t, f, info, "clone", fl|uint64(unix.SIGCHLD)), "clone %#x", fl)
	}
	assert.Equal(t, retENOSYS, simulate(t, f, info, "clone3"))
	assert.Equal(t, retEPERM, simulate(t, f, info, "unshare", 0))

	// personality: only Docker's values.
	assert.Equal(t, retAllow, simulate(t, f, info, "personality", 0xffffffff))
	assert.Equal(t, retEPERM, simulate(t, f, info, "personality", 0x0400000)) // READ_IMPLIES_EXEC

	// ioctl: terminal injection denied even with high bits set, the rest allowed.
	assert.Equal(t, retEPERM, simulate(t, f, info, "ioctl", 1, unix.TIOCSTI))
	assert.Equal(t, retEPERM, simulate(t, f, info, "ioctl", 1, 1<<32|unix.TIOCSTI))
	assert.Equal(t, retEPERM, simulate(t, f, info, "ioctl", 1, unix.TIOCLINUX))
	assert.Equal(t, retAllow, simulate(t, f, info, "ioctl", 1, unix.TCGETS))

	// A syscall newer than go-seccomp-bpf's table: ENOSYS (libc falls back);
	// a known but unlisted one: EPERM.
	ret, err := run(f, bpfasm.SeccompData{Nr: 999, Arch: uint32(info.ID)})
	require.NoError(t, err)
	assert.Equal(t, retENOSYS, ret)
}

// Non-native architectures are denied. go-seccomp-bpf itself sends a
// foreign arch to the policy's default action: fine for an allow-list with
// an errno default, but a deny-list (default allow) would let an i386
// int $0x80 call through. Assemble's prologue denies it whatever the policy.
func TestForeignArchitectureDenied(t *testing.T) {
	info := nativeArch(t)
	i386 := arch.I386
	denyMount := &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls:      []seccomp.SyscallGroup{{Names: []string{"mount"}, Action: seccomp.ActionErrno}},
	}
	killer := Default()
	killer.DefaultAction = seccomp.ActionKillProcess
	for _, tc := range []struct {
		name string
		pol  *seccomp.Policy
		want uint32
	}{
		{"default", Default(), retEPERM},
		{"deny-list", denyMount, retEPERM},
		{"kill default", killer, uint32(seccomp.ActionKillProcess)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := assemble(t, tc.pol)
			for _, name := range []string{"unshare", "execve", "read", "mount"} {
				nr := i386.SyscallNames[name]
				ret, err := run(f, bpfasm.SeccompData{Nr: int32(nr), Arch: uint32(i386.ID), Args: [6]uint64{unix.CLONE_NEWUSER}})
				require.NoError(t, err)
				assert.Equal(t, tc.want, ret, "i386 %s", name)
			}
			if info.ID == arch.X86_64.ID {
				// x32: same arch value, bit 30 in the number.
				ret, err := run(f, bpfasm.SeccompData{Nr: int32(0x40000000 | arch.X32.SyscallNames["unshare"]), Arch: uint32(info.ID)})
				require.NoError(t, err)
				assert.Equal(t, uint32(unix.SECCOMP_RET_ERRNO), ret&unix.SECCOMP_RET_ACTION_FULL, "x32 unshare")
				assert.NotEqual(t, retAllow, ret)
			}
		})
	}
	// The deny-list still allows what it does not deny, natively.
	f := assemble(t, denyMount)
	assert.Equal(t, retAllow, simulate(t, f, info, "unshare"))
	assert.Equal(t, retEPERM, simulate(t, f, info, "mount"))
}

// The floor's additions for issue #9: socket(AF_VSOCK) (vsock ignores
// network namespaces) and ioctl TIOCSETD (line disciplines) are denied,
// on the low 32 bits as the kernel reads them; other socket families and
// terminal ioctls stay allowed.
func TestFloorDeniesVsockAndTIOCSETD(t *testing.T) {
	info := nativeArch(t)
	f := assemble(t, Default())
	assert.Equal(t, retEPERM, simulate(t, f, info, "socket", unix.AF_VSOCK, unix.SOCK_STREAM))
	assert.Equal(t, retEPERM, simulate(t, f, info, "socket", 1<<32|unix.AF_VSOCK, unix.SOCK_STREAM))
	for _, family := range []uint64{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET} {
		assert.Equal(t, retAllow, simulate(t, f, info, "socket", family, unix.SOCK_STREAM), "family %d", family)
	}
	assert.Equal(t, retEPERM, simulate(t, f, info, "ioctl", 0, unix.TIOCSETD))
	assert.Equal(t, retEPERM, simulate(t, f, info, "ioctl", 0, 1<<32|unix.TIOCSETD))
	for _, req := range []uint64{unix.TCGETS, unix.TCSETS, unix.TIOCGWINSZ, unix.TIOCSWINSZ, unix.TIOCGPGRP, unix.TIOCSPGRP, unix.TIOCGETD, unix.TIOCINQ} {
		assert.Equal(t, retAllow, simulate(t, f, info, "ioctl", 0, req), "ioctl %#x", req)
	}
}
