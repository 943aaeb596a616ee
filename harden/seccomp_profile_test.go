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

	"nucleus/harden/seccomppolicy"
	"nucleus/internal/testutil"
	"nucleus/state"
)

func nativeArch(t testing.TB) *arch.Info {
	t.Helper()
	info, err := arch.GetInfo("")
	require.NoError(t, err)
	return info
}

// The floor installed by default is seccomppolicy.Default as Assemble
// assembles it today, and so are the strict additions: the generated
// tables (or, off amd64, the run-time assembly) hold nothing else.
func TestDefaultFloorIsAssembledDefault(t *testing.T) {
	want, err := seccomppolicy.Assemble(seccomppolicy.Default())
	require.NoError(t, err)
	assert.Equal(t, want, compile(t, Policy{}).Seccomp)
	strict, err := seccomppolicy.Assemble(seccomppolicy.StrictAdditions())
	require.NoError(t, err)
	s := compile(t, StrictPolicy()).SeccompStack
	require.NotEmpty(t, s)
	assert.Equal(t, strict, s[len(s)-1])

	// The syscall table is go-seccomp-bpf's, name for name.
	info := nativeArch(t)
	tables, err := nativeTables()
	require.NoError(t, err)
	assert.Len(t, tables.syscalls, len(info.SyscallNames))
	for name, nr := range info.SyscallNames {
		got, ok := tables.number(name)
		assert.True(t, ok && got == nr, "%s: %d, want %d", name, got, nr)
	}
	_, ok := tables.number("no_such_call")
	assert.False(t, ok)
	assert.Equal(t, uint32(info.ID), tables.audit)
}

func TestCompileSeccomp(t *testing.T) {
	// The default filter is shared, not copied or assembled per call.
	a, b := compile(t, Policy{}), compile(t, Policy{LandlockBestEffort: true})
	require.NotEmpty(t, a.Seccomp)
	assert.Same(t, &a.Seccomp[0], &b.Seccomp[0])
	assert.LessOrEqual(t, len(a.Seccomp), bpfMaxInsns)

	// A floor that denies execve could never start the command.
	noExec := seccomppolicy.Default()
	for i := range noExec.Syscalls {
		noExec.Syscalls[i].Names = slices.DeleteFunc(noExec.Syscalls[i].Names, func(n string) bool { return n == "execve" })
	}
	f, err := seccomppolicy.Assemble(noExec)
	require.NoError(t, err)
	_, err = Compile(Policy{Strict: true, Seccomp: f})
	assert.ErrorContains(t, err, "does not allow execve")

	// A raw floor that allows everything, foreign architectures included,
	// is refused: an i386 int $0x80 would bypass it.
	allowAll := []SockFilter{{Code: 0x06, K: unix.SECCOMP_RET_ALLOW}}
	_, err = Compile(Policy{Strict: true, Seccomp: allowAll})
	assert.ErrorContains(t, err, "foreign architecture")
	_, err = Compile(Policy{Strict: true, Seccomp: []SockFilter{}})
	assert.ErrorContains(t, err, "empty floor")
	_, err = Compile(Policy{Strict: true, Seccomp: make([]SockFilter, bpfMaxInsns+1)})
	assert.ErrorContains(t, err, "exceeds")
	_, err = Compile(Policy{Strict: true, Seccomp: []SockFilter{{Code: 0xffff}}})
	assert.ErrorContains(t, err, "interpreter does not know")

	// A custom floor from seccomppolicy is taken as it is.
	deny, err := seccomppolicy.Assemble(&seccomp.Policy{DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{{Names: []string{"mount"}, Action: seccomp.ActionErrno}}})
	require.NoError(t, err)
	c, err := Compile(Policy{Strict: true, Seccomp: deny})
	require.NoError(t, err)
	assert.Equal(t, deny, c.Seccomp)

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
