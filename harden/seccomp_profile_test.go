package harden

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/internal/testutil"
	"nucleus/state"
)

const (
	retAllow  = uint32(unix.SECCOMP_RET_ALLOW)
	retEPERM  = retErrnoEPERM
	retENOSYS = retErrnoENOSYS
)

func nativeArch(t testing.TB) *arch.Info {
	t.Helper()
	info, err := arch.GetInfo("")
	require.NoError(t, err)
	return info
}

// run simulates the filter on a native call by name.
func simulate(t testing.TB, f []SockFilter, info *arch.Info, name string, args ...uint64) uint32 {
	t.Helper()
	nr, ok := info.SyscallNames[name]
	require.True(t, ok, "syscall %s unknown on %s", name, info.Name)
	d := SeccompData{Nr: int32(nr), Arch: uint32(info.ID)}
	copy(d.Args[:], args)
	ret, err := Simulate(f, d)
	require.NoError(t, err)
	return ret
}

// What the default profile answers, call by call, in the BPF interpreter.
func TestDefaultProfileSimulated(t *testing.T) {
	info := nativeArch(t)
	f := compile(t, Policy{}).Seccomp

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
	ret, err := Simulate(f, SeccompData{Nr: 999, Arch: uint32(info.ID)})
	require.NoError(t, err)
	assert.Equal(t, retENOSYS, ret)
}

// Non-native architectures are denied. go-seccomp-bpf itself sends a
// foreign arch to the policy's default action: fine for an allow-list with
// an errno default, but a deny-list (default allow) would let an i386
// int $0x80 call through. Compile's prologue denies it whatever the policy.
func TestForeignArchitectureDenied(t *testing.T) {
	info := nativeArch(t)
	i386 := arch.I386
	denyMount := &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls:      []seccomp.SyscallGroup{{Names: []string{"mount"}, Action: seccomp.ActionErrno}},
	}
	killer := DefaultSeccompPolicy()
	killer.DefaultAction = seccomp.ActionKillProcess
	for _, tc := range []struct {
		name string
		pol  *seccomp.Policy
		want uint32
	}{
		{"default", nil, retEPERM},
		{"deny-list", denyMount, retEPERM},
		{"kill default", killer, uint32(seccomp.ActionKillProcess)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := compile(t, Policy{Seccomp: tc.pol}).Seccomp
			for _, name := range []string{"unshare", "execve", "read", "mount"} {
				nr := i386.SyscallNames[name]
				ret, err := Simulate(f, SeccompData{Nr: int32(nr), Arch: uint32(i386.ID), Args: [6]uint64{unix.CLONE_NEWUSER}})
				require.NoError(t, err)
				assert.Equal(t, tc.want, ret, "i386 %s", name)
			}
			if info.ID == arch.X86_64.ID {
				// x32: same arch value, bit 30 in the number.
				ret, err := Simulate(f, SeccompData{Nr: int32(0x40000000 | arch.X32.SyscallNames["unshare"]), Arch: uint32(info.ID)})
				require.NoError(t, err)
				assert.Equal(t, uint32(unix.SECCOMP_RET_ERRNO), ret&unix.SECCOMP_RET_ACTION_FULL, "x32 unshare")
				assert.NotEqual(t, retAllow, ret)
			}
		})
	}
	// The deny-list still allows what it does not deny, natively.
	f := compile(t, Policy{Seccomp: denyMount}).Seccomp
	assert.Equal(t, retAllow, simulate(t, f, info, "unshare"))
	assert.Equal(t, retEPERM, simulate(t, f, info, "mount"))
}

func TestCompileSeccomp(t *testing.T) {
	// The default filter is assembled once and shared.
	a, b := compile(t, Policy{}), compile(t, Policy{LandlockBestEffort: true})
	require.NotEmpty(t, a.Seccomp)
	assert.Same(t, &a.Seccomp[0], &b.Seccomp[0])
	assert.LessOrEqual(t, len(a.Seccomp), bpfMaxInsns)

	// A policy that denies execve could never start the command.
	noExec := DefaultSeccompPolicy()
	for i := range noExec.Syscalls {
		noExec.Syscalls[i].Names = slices.DeleteFunc(noExec.Syscalls[i].Names, func(n string) bool { return n == "execve" })
	}
	_, err := Compile(Policy{Strict: true, Seccomp: noExec})
	assert.ErrorContains(t, err, "execve")

	_, err = Compile(Policy{Strict: true, Seccomp: &seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: []seccomp.SyscallGroup{{Names: []string{"no_such_call"}, Action: seccomp.ActionErrno}}}})
	assert.ErrorContains(t, err, "no_such_call")
	_, err = Compile(Policy{Strict: true, Seccomp: &seccomp.Policy{DefaultAction: seccomp.ActionAllow}})
	assert.Error(t, err, "empty policy")

	// Compile may be called concurrently, with a shared policy.
	shared := DefaultSeccompPolicy()
	done := make(chan error)
	for range 4 {
		go func() {
			_, err := Compile(Policy{Strict: true, Seccomp: shared})
			done <- err
		}()
	}
	for range 4 {
		assert.NoError(t, <-done)
	}

	// The Program survives JSON unchanged (parent → child).
	blob, err := json.Marshal(a)
	require.NoError(t, err)
	var back Program
	require.NoError(t, json.Unmarshal(blob, &back))
	assert.Equal(t, *a, back)
}

// allCaps keeps every capability this process may keep (those in its
// bounding set), so that an EPERM in the kernel tests can only come from
// the seccomp filter.
func allCaps(t testing.TB) []cap.Value {
	var vs []cap.Value
	for v := cap.Value(0); v < cap.MaxBits(); v++ {
		if in, err := cap.GetBound(v); err == nil && in {
			vs = append(vs, v)
		}
	}
	for _, v := range []cap.Value{cap.SYS_ADMIN, cap.BPF, cap.SYS_PTRACE} {
		if !slices.Contains(vs, v) {
			t.Skipf("%s is not in this process's bounding set", v)
		}
	}
	return vs
}

// The filter in the kernel: each dangerous call made by the static helper
// gets EPERM (clone3: ENOSYS), where the same call without the filter
// reaches the kernel (the control). Every capability is kept and the
// identity is root, so nothing but seccomp can refuse.
func TestDefaultProfileInKernel(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	requireLandlock(t)
	h, hdir := helperBinary(t)
	cmds := []string{"int80-unshare", "keyctl", "bpf", "unshare-user", "mount", "ptrace", "clone3", "vsock", "vsock hi", "tiocsetd"}
	control := map[string]string{}
	for _, c := range cmds {
		out, err := exec.Command(h, strings.Fields(c)...).Output()
		require.NoError(t, err, c)
		control[c] = strings.TrimSpace(string(out))
		assert.NotEqual(t, "EPERM", control[c], "control %s: without the filter the kernel must not refuse with EPERM", c)
	}
	var script strings.Builder
	for _, c := range cmds {
		script.WriteString("echo '" + c + "'=$(" + h + " " + c + ")\n")
	}
	script.WriteString(busybox + " unshare -U true; echo busybox-unshare=$?\n")
	out := mustRun(t, childSpec{
		Program: compile(t, Policy{
			Capabilities: allCaps(t),
			Landlock:     append(DefaultLandlockRules(), PathRule{Path: hdir, Access: ReadExec}),
		}),
		Identity: state.ProcessIdentity{UID: 0, GID: 0},
		Argv:     []string{busybox, "sh", "-c", script.String()},
	}, childOpts{})
	want := map[string]string{"clone3": "ENOSYS"}
	for _, c := range cmds {
		w := want[c]
		if w == "" {
			w = "EPERM"
		}
		assert.Contains(t, out, c+"="+w+"\n", "%s (control without the filter: %s)", c, control[c])
	}
	assert.Contains(t, out, "busybox-unshare=1\n")
}

// Everyday tools keep working under the default profile as a non-root
// user: touch (utimensat), free (sysinfo), a pipeline, a background job
// (clone without namespace flags), date, ps, a dynamically linked glibc
// binary. unshare is refused with EPERM.
func TestEverydayToolsWork(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	dir, err := os.MkdirTemp("/tmp", "nucleus-harden-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o1777))
	script := `
set -e
touch ` + dir + `/stamp && echo touch-ok
touch -d '2020-01-01 00:00' ` + dir + `/stamp && echo utimensat-ok
free >/dev/null && echo free-ok
echo b a | tr ' ' '\n' | sort | head -1
(sleep 0) & wait $! && echo fork-ok
date +%Y >/dev/null && echo date-ok
ps >/dev/null && echo ps-ok
uname -r >/dev/null && echo uname-ok
set +e
unshare -U true 2>&1; echo unshare=$?
`
	if _, err := os.Stat("/usr/bin/sort"); err == nil {
		script += "printf 'y\\nx\\n' | /usr/bin/sort | head -1 | sed s/^/glibc-sort-/\n"
	}
	out := mustRun(t, childSpec{
		Program:  compile(t, Policy{}),
		Identity: state.ProcessIdentity{UID: 1000, GID: 1000},
		Argv:     []string{busybox, "sh", "-c", script},
	}, childOpts{})
	for _, s := range []string{"touch-ok", "utimensat-ok", "free-ok", "a", "fork-ok", "date-ok", "ps-ok", "uname-ok", "unshare=1"} {
		assert.Contains(t, out, s+"\n")
	}
	assert.Contains(t, out, "Operation not permitted")
	if _, err := os.Stat("/usr/bin/sort"); err == nil {
		assert.Contains(t, out, "glibc-sort-x\n")
	}
}

// Splitting the policy into syscall-number ranges (to make attaching the
// filter cheap) changes nothing: for every number, architecture and the
// arguments the policies look at, the split filter answers what
// go-seccomp-bpf's single program answers.
func TestBucketedFilterEquivalent(t *testing.T) {
	info := nativeArch(t)
	maxNr := 0
	for nr := range info.SyscallNumbers {
		maxNr = max(maxNr, nr)
	}
	mixed := &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: []string{"mount", "bpf", "keyctl"}, Action: seccomp.ActionErrno},
			{NamesWithCondtions: []seccomp.NameWithConditions{
				{Name: "clone", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.BitsSet, Value: unix.CLONE_NEWUSER}}},
				{Name: "personality", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.NotEqual, Value: 0}}},
			}, Action: seccomp.ActionKillProcess},
			{Names: []string{"clone3", "unshare"}, Action: actionENOSYS},
		},
	}
	killer := DefaultSeccompPolicy()
	killer.DefaultAction = seccomp.ActionKillThread
	argSets := [][6]uint64{
		{},
		{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)},
		{uint64(unix.SIGCHLD), unix.TIOCSTI},
		{0xffffffff, 1<<32 | unix.TIOCLINUX},
		{8, unix.TCGETS},
		{0x20008},
	}
	for name, pol := range map[string]*seccomp.Policy{"default": DefaultSeccompPolicy(), "mixed": mixed, "kill": killer} {
		t.Run(name, func(t *testing.T) {
			f, err := assembleWith(pol, bucketSize)
			require.NoError(t, err)
			split, err := newFilterVM(f)
			require.NoError(t, err)
			f, err = assembleWith(pol, 0)
			require.NoError(t, err)
			whole, err := newFilterVM(f)
			require.NoError(t, err)
			var nrs []int32
			for nr := 0; nr <= maxNr+bucketSize+2; nr++ {
				nrs = append(nrs, int32(nr))
			}
			nrs = append(nrs, 0x40000000, 0x40000000|16, -1, 0x7fffffff)
			for _, a := range []uint32{uint32(info.ID), uint32(arch.I386.ID), 0} {
				for _, nr := range nrs {
					for _, args := range argSets {
						d := SeccompData{Nr: nr, Arch: a, Args: args}
						want, err := runFilterVM(whole, d)
						require.NoError(t, err)
						got, err := runFilterVM(split, d)
						require.NoError(t, err)
						if want != got {
							t.Fatalf("arch %#x nr %d args %x: split %#x, unsplit %#x", a, nr, args, got, want)
						}
					}
				}
			}
		})
	}
}

// The floor's additions for issue #9: socket(AF_VSOCK) (vsock ignores
// network namespaces) and ioctl TIOCSETD (line disciplines) are denied,
// on the low 32 bits as the kernel reads them; other socket families and
// terminal ioctls stay allowed.
func TestFloorDeniesVsockAndTIOCSETD(t *testing.T) {
	info := nativeArch(t)
	f := compile(t, Policy{}).Seccomp
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

// The strict policy denies exec of anonymous files (issue #9 item 4):
// Landlock does not see a memfd, so a file copied into one and executed by
// execveat(AT_EMPTY_PATH) or through /proc/self/fd/N would run although the
// policy grants exec nowhere but the image. In the kernel: memfd_create is
// refused, and so is execveat of any fd; without the filter (the control)
// the copy runs.
func TestStrictDeniesAnonymousExec(t *testing.T) {
	testutil.RequireRoot(t)
	requireBusybox(t)
	requireLandlock(t)
	h, hdir := helperBinary(t)
	for _, mode := range []string{"execveat", "proc", "file"} {
		out, err := exec.Command(h, "memfd-exec", mode).Output()
		require.NoError(t, err, mode)
		assert.Equal(t, "memfd-ran\n", string(out), "control %s: without the strict policy the copy runs", mode)
	}
	out := mustRun(t, childSpec{
		Program:  compile(t, StrictPolicy(hdir)),
		Identity: state.ProcessIdentity{}, // the helper directory is root's, 0700
		Dir:      "/tmp",
		Argv:     []string{busybox, "sh", "-c", "for m in execveat proc file; do echo $m=$(" + h + " memfd-exec $m 2>&1); done"},
	}, childOpts{})
	assert.Contains(t, out, "execveat=memfd_create: EPERM\n")
	assert.Contains(t, out, "proc=memfd_create: EPERM\n")
	assert.Contains(t, out, "file=execveat: EPERM\n")
	assert.NotContains(t, out, "memfd-ran")
}
