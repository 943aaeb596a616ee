//go:build linux && amd64

package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Subcommands that make one system call a hardened process must not be able
// to make, and print its outcome on stdout: "ok", or the errno's name
// ("EPERM"). They exit 0 either way; the tests assert on the text. Run
// without hardening they show what the kernel answers when no seccomp
// filter is in the way (the control of each test).
func init() {
	commands["int80-unshare"] = int80Unshare
	commands["keyctl"] = keyctl
	commands["bpf"] = bpfMapCreate
	commands["unshare-user"] = unshareUser
	commands["mount"] = mountTmpfs
	commands["ptrace"] = ptracePeek
	commands["open-exe"] = openExe
	commands["clone3"] = clone3
}

// int80 is in int80_amd64.s.
func int80(trap, a1, a2, a3 uintptr) (r uintptr)

// i386 system call numbers (arch/x86/entry/syscalls/syscall_32.tbl).
const i386Unshare = 310

func report(r uintptr, e syscall.Errno) int {
	if e != 0 {
		fmt.Println(unix.ErrnoName(e))
	} else {
		fmt.Println("ok")
	}
	return 0
}

// int80Unshare calls unshare(CLONE_NEWUSER) through the i386 entry point. A
// seccomp filter that does not check the architecture would compare 310
// with x86_64 numbers (310 is process_vm_readv there).
func int80Unshare(args []string) int {
	r := int80(i386Unshare, unix.CLONE_NEWUSER, 0, 0)
	if e := -int64(r); e > 0 && e < 4096 {
		return report(0, syscall.Errno(e))
	}
	return report(r, 0)
}

// keyctl asks for the session keyring's id (KEYCTL_GET_KEYRING_ID).
func keyctl(args []string) int {
	r, _, e := unix.RawSyscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd) /* KEY_SPEC_SESSION_KEYRING */, 0)
	return report(r, e)
}

// bpfMapCreate calls bpf(BPF_MAP_CREATE) with an all-zero attribute: EINVAL
// from the kernel, EPERM from a filter (or without CAP_BPF).
func bpfMapCreate(args []string) int {
	var attr [72]byte
	r, _, e := unix.RawSyscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
	return report(r, e)
}

// unshareUser calls unshare(CLONE_NEWUSER). This program is multi-threaded,
// so the kernel itself answers EINVAL; a filter answers EPERM first.
func unshareUser(args []string) int {
	r, _, e := unix.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0)
	return report(r, e)
}

// mountTmpfs mounts a tmpfs on args[0] (default: a path that does not
// exist, so that an unfiltered root gets ENOENT and nothing is mounted).
func mountTmpfs(args []string) int {
	target := "/nonexistent/nucleus-testhelper-mount"
	if len(args) > 0 {
		target = args[0]
	}
	err := unix.Mount("none", target, "tmpfs", 0, "")
	e, _ := err.(syscall.Errno)
	return report(0, e)
}

// ptracePeek calls ptrace(PTRACE_PEEKDATA) on itself, which it does not
// trace: ESRCH from the kernel, EPERM from a filter.
func ptracePeek(args []string) int {
	var word uintptr
	r, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, uintptr(os.Getpid()), 0, uintptr(unsafe.Pointer(&word)), 0, 0)
	return report(r, e)
}

// openExe opens args[0] (default /proc/self/exe) for writing, as an attack
// on the binary that started the process would (CVE-2019-5736).
func openExe(args []string) int {
	path := "/proc/self/exe"
	if len(args) > 0 {
		path = args[0]
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	e, _ := err.(syscall.Errno)
	return report(0, e)
}

// clone3 calls clone3 with a NULL argument: EFAULT or EINVAL from the
// kernel, ENOSYS from the default filter (so that libc falls back to clone).
func clone3(args []string) int {
	r, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
	return report(r, e)
}
