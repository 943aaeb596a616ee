package harden

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/state"
)

// testHook, when set (by tests only), is called at the start of every step
// with the step's name, so that tests can assert the order.
var testHook func(step string)

func enter(step string) {
	if testHook != nil {
		testHook(step)
	}
}

// Apply hardens the calling OS thread, which must be locked
// (runtime.LockOSThread) and must call execve right after a successful
// return: the exec'd image inherits this thread's credentials, capability
// sets, no_new_privs bit, Landlock domain and seccomp filter. Only this
// thread is changed: every call is a raw single-thread syscall (no psx, no
// syscall.AllThreadsSyscall, no Landlock or seccomp TSYNC); the other
// threads of the Go runtime keep their credentials and die at execve.
//
// id is the identity inside the container's user namespace; dir is the
// working directory inside the container ("" means "/"; it must be
// absolute). The steps, in order (see the package documentation for why
// this order):
//
//  1. setgroups(id.AdditionalGIDs) — tolerated to fail only when the
//     kernel refuses it with EPERM, /proc/self/setgroups says "deny" and no
//     additional gids were asked for; setresgid(id.GID);
//     setresuid(id.UID), with PR_SET_KEEPCAPS held around it so that the
//     permitted set survives long enough to drop the bounding set;
//  2. drop every capability not kept from the bounding set, clear the
//     ambient set, clear the inheritable set;
//  3. PR_SET_NO_NEW_PRIVS;
//  4. Landlock: the rule paths are opened now (O_PATH, inside the
//     container's mount namespace), the rights masked to what the kernel's
//     Landlock ABI supports, and the ruleset enforced on this thread;
//  5. clear effective and permitted except the kept capabilities;
//  6. close_range(3, ~0U, CLOSE_RANGE_CLOEXEC): no fd but 0, 1, 2 survives
//     execve;
//  7. chdir(dir), then getcwd must be an absolute path (the kernel prefixes
//     "(unreachable)" to a cwd outside the process root);
//  8. PR_SET_DUMPABLE 0 again;
//  9. seccomp(SECCOMP_SET_MODE_FILTER) last, then verified with
//     PR_GET_SECCOMP (or /proc/thread-self/status when the filter denies
//     prctl).
//
// Kept capabilities (Program.KeepCaps) with a non-zero id.UID are refused
// before any step, as a StepCapset error: execve would drop them anyway.
//
// Every failure is a *StepError naming the step. After a failure the thread
// is partially hardened: the caller must not exec anything and should exit.
func (p *Program) Apply(id state.ProcessIdentity, dir string) error {
	if p == nil {
		return stepErr(StepProgram, errors.New("nil Program"))
	}
	if dir == "" {
		dir = "/"
	}
	if p.KeepCaps != 0 && id.UID != 0 {
		// Without file capabilities (ignored under no_new_privs) and
		// without ambient capabilities (cleared), execve gives a non-zero
		// uid an empty permitted set: keeping them cannot work.
		return stepErr(StepCapset, fmt.Errorf("capabilities %s can be kept only for uid 0, not uid %d: execve drops them for any other uid under no_new_privs", capNames(p.KeepCaps), id.UID))
	}

	if err := setIdentity(id); err != nil {
		return err
	}

	enter(StepCapBSet)
	if err := dropBounding(p.KeepCaps); err != nil {
		return stepErr(StepCapBSet, err)
	}
	enter(StepAmbient)
	if err := prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil && err != unix.EINVAL {
		// EINVAL: a kernel without ambient capabilities (< 4.3) has none.
		return stepErr(StepAmbient, err)
	}
	enter(StepCapset)
	if err := clearInheritable(); err != nil {
		return stepErr(StepCapset, err)
	}

	enter(StepNoNewPrivs)
	if err := prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return stepErr(StepNoNewPrivs, err)
	}

	enter(StepLandlock)
	if err := applyLandlock(p.Landlock, p.LandlockBestEffort); err != nil {
		return stepErr(StepLandlock, err)
	}

	enter(StepCapset)
	if err := setCaps(p.KeepCaps, p.KeepCaps, 0); err != nil {
		return stepErr(StepCapset, fmt.Errorf("clear effective and permitted: %w", err))
	}

	enter(StepCloseRange)
	if err := cloexecFrom3(); err != nil {
		return stepErr(StepCloseRange, err)
	}

	enter(StepChdir)
	if dir[0] != '/' {
		return stepErr(StepChdir, fmt.Errorf("%q is not an absolute path: %w", dir, unix.EINVAL))
	}
	if err := unix.Chdir(dir); err != nil {
		return stepErr(StepChdir, fmt.Errorf("%q: %w", dir, err))
	}
	enter(StepGetcwd)
	if err := checkCwd(); err != nil {
		return stepErr(StepGetcwd, err)
	}

	enter(StepDumpable)
	if err := prctl(unix.PR_SET_DUMPABLE, 0, 0); err != nil {
		return stepErr(StepDumpable, err)
	}

	enter(StepSeccomp)
	if err := installSeccomp(p.Seccomp); err != nil {
		return stepErr(StepSeccomp, err)
	}
	return nil
}

// StepProgram names the failure of a nil Program; no step ran.
const StepProgram = "program"

func setIdentity(id state.ProcessIdentity) error {
	enter(StepSetgroups)
	if err := setgroups(id.AdditionalGIDs); err != nil {
		if err != unix.EPERM {
			return stepErr(StepSetgroups, err)
		}
		// An unprivileged user namespace may forbid setgroups; only then,
		// and only when no groups were asked for, is this acceptable. The
		// file is consulted only after the kernel refused, so a fake /proc
		// cannot make us skip a setgroups that would have worked.
		if !setgroupsDenied() {
			return stepErr(StepSetgroups, err)
		}
		if len(id.AdditionalGIDs) > 0 {
			return stepErr(StepSetgroups, fmt.Errorf("the user namespace denies setgroups (/proc/self/setgroups is \"deny\") but additional gids %v were asked for: %w", id.AdditionalGIDs, err))
		}
	}
	enter(StepSetresgid)
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(id.GID), uintptr(id.GID), uintptr(id.GID)); e != 0 {
		return stepErr(StepSetresgid, fmt.Errorf("gid %d: %w", id.GID, e))
	}
	enter(StepSetresuid)
	// Going from uid 0 to a non-zero uid clears the permitted and effective
	// sets unless keep-caps is on. CAP_SETPCAP is still needed to drop the
	// bounding set, so keep-caps is held across the switch and released
	// right after (execve would reset it anyway); the effective set,
	// cleared by the switch regardless, is restored from permitted.
	if err := prctl(unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
		return stepErr(StepSetresuid, fmt.Errorf("PR_SET_KEEPCAPS: %w", err))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(id.UID), uintptr(id.UID), uintptr(id.UID)); e != 0 {
		return stepErr(StepSetresuid, fmt.Errorf("uid %d: %w", id.UID, e))
	}
	if err := prctl(unix.PR_SET_KEEPCAPS, 0, 0); err != nil {
		return stepErr(StepSetresuid, fmt.Errorf("PR_SET_KEEPCAPS: %w", err))
	}
	return nil
}

func setgroups(gids []uint32) error {
	var ptr uintptr
	if len(gids) > 0 {
		ptr = uintptr(unsafe.Pointer(&gids[0]))
	}
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), ptr, 0)
	runtime.KeepAlive(gids)
	if e != 0 {
		return e
	}
	return nil
}

func setgroupsDenied() bool {
	b, err := readSmall("/proc/self/setgroups")
	return err == nil && bytes.HasPrefix(b, []byte("deny"))
}

// prctl is a single-thread prctl(2) returning only the error.
func prctl(option, arg2, arg3 uintptr) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PRCTL, option, arg2, arg3, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func capget() ([2]unix.CapUserData, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	_, _, e := unix.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e != 0 {
		return data, e
	}
	return data, nil
}

func capsetRaw(data *[2]unix.CapUserData) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	_, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}

// setCaps sets this thread's effective, permitted and inheritable sets.
func setCaps(eff, perm, inh uint64) error {
	data := [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(perm), Inheritable: uint32(inh)},
		{Effective: uint32(eff >> 32), Permitted: uint32(perm >> 32), Inheritable: uint32(inh >> 32)},
	}
	return capsetRaw(&data)
}

func clearInheritable() error {
	data, err := capget()
	if err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := capsetRaw(&data); err != nil {
		return fmt.Errorf("clear inheritable: %w", err)
	}
	return nil
}

// dropBounding removes from the bounding set every capability the kernel
// knows, except the kept ones, which must exist and be in the set.
func dropBounding(keep uint64) error {
	// Make the permitted set effective again (the uid switch clears the
	// effective set): PR_CAPBSET_DROP needs CAP_SETPCAP.
	data, err := capget()
	if err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[0].Effective != data[0].Permitted || data[1].Effective != data[1].Permitted {
		data[0].Effective, data[1].Effective = data[0].Permitted, data[1].Permitted
		if err := capsetRaw(&data); err != nil {
			return fmt.Errorf("raise effective: %w", err)
		}
	}
	for v := uint(0); v < 64; v++ {
		if keep&(1<<v) == 0 {
			continue
		}
		in, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, uintptr(v), 0, 0, 0, 0)
		if e == unix.EINVAL {
			return fmt.Errorf("capability %d cannot be kept: not a capability of this kernel: %w", v, e)
		}
		if e != 0 {
			return fmt.Errorf("PR_CAPBSET_READ %d: %w", v, e)
		}
		if in == 0 {
			return fmt.Errorf("capability %s cannot be kept: not in the bounding set: %w", cap.Value(v), unix.EPERM)
		}
	}
	// The kernel's last capability comes from /proc/sys/kernel/cap_last_cap,
	// but the loop stops only where the kernel itself says EINVAL, so a
	// container's /proc that under-reports cannot leave a capability in the
	// set.
	last := capLastCap()
	for v := uint(0); v < 64; v++ {
		if keep&(1<<v) != 0 {
			continue
		}
		_, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(v), 0, 0, 0, 0)
		switch {
		case e == 0:
		case e == unix.EINVAL:
			if int(v) <= last {
				return fmt.Errorf("PR_CAPBSET_DROP %s (cap_last_cap %d): %w", cap.Value(v), last, e)
			}
			return nil
		case e == unix.EPERM && !inBounding(v):
			// Without CAP_SETPCAP nothing can be dropped, but a
			// capability that is not in the set needs no dropping.
		default:
			return fmt.Errorf("PR_CAPBSET_DROP %s: %w", cap.Value(v), e)
		}
	}
	return nil
}

func inBounding(v uint) bool {
	in, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, uintptr(v), 0, 0, 0, 0)
	return e != 0 || in != 0
}

// capLastCap reads /proc/sys/kernel/cap_last_cap; -1 when it cannot.
func capLastCap() int {
	b, err := readSmall("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		return -1
	}
	return n
}

// cloexecFrom3 marks every fd >= 3 close-on-exec (CVE-2024-21626: a leaked
// host fd must not reach the command). Marking rather than closing leaves
// the Go runtime's own fds working until execve.
func cloexecFrom3() error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE_RANGE, 3, uintptr(^uint32(0)), unix.CLOSE_RANGE_CLOEXEC)
	if e == 0 {
		return nil
	}
	if e != unix.ENOSYS && e != unix.EINVAL {
		return e
	}
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: mark each open fd.
	fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("close_range: %v; fallback: open /proc/self/fd: %w", e, err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return fmt.Errorf("fallback: getdents /proc/self/fd: %w", err)
		}
		if n <= 0 {
			return nil
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			v, err := strconv.Atoi(name)
			if err != nil || v < 3 || v == fd {
				continue
			}
			if _, err := unix.FcntlInt(uintptr(v), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
				return fmt.Errorf("fallback: F_SETFD %d: %w", v, err)
			}
		}
	}
}

// checkCwd verifies that the working directory is reachable from the
// process root. For a cwd outside it (a directory fd opened on the host and
// reached through /proc/self/fd/N, CVE-2024-21626) the getcwd system call
// returns a path starting with "(unreachable)" instead of "/".
func checkCwd() error {
	var buf [unix.PathMax]byte
	n, err := unix.Getcwd(buf[:])
	if err != nil {
		return err
	}
	cwd := string(buf[:n])
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		cwd = string(buf[:i])
	}
	if len(cwd) == 0 || cwd[0] != '/' {
		return fmt.Errorf("working directory %q is outside the container's root: %w", cwd, unix.EACCES)
	}
	return nil
}

func installSeccomp(filter []SockFilter) error {
	if len(filter) == 0 || len(filter) > bpfMaxInsns {
		return fmt.Errorf("filter of %d instructions (1 to %d allowed): %w", len(filter), bpfMaxInsns, unix.EINVAL)
	}
	raw := make([]unix.SockFilter, len(filter))
	for i, f := range filter {
		raw[i] = unix.SockFilter{Code: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	prog := unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(raw)
	if e != 0 {
		return e
	}
	// Verify: PR_GET_SECCOMP answers for this thread from the kernel,
	// without depending on the container's /proc. If the filter itself
	// refuses prctl, fall back to /proc/thread-self/status.
	mode, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_GET_SECCOMP, 0, 0, 0, 0, 0)
	if e == 0 {
		if mode != unix.SECCOMP_MODE_FILTER {
			return fmt.Errorf("after install PR_GET_SECCOMP says mode %d, not 2 (filter)", mode)
		}
		return nil
	}
	b, err := readSmall("/proc/thread-self/status")
	if err != nil {
		return fmt.Errorf("verify: PR_GET_SECCOMP: %v; /proc/thread-self/status: %w", e, err)
	}
	if !bytes.Contains(b, []byte("\nSeccomp:\t2\n")) {
		return errors.New("verify: /proc/thread-self/status does not show Seccomp: 2")
	}
	return nil
}

// readSmall reads a small /proc file with plain syscalls on this thread.
func readSmall(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []byte
	var chunk [4096]byte
	for len(out) < 64<<10 {
		n, err := unix.Read(fd, chunk[:])
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		out = append(out, chunk[:n]...)
	}
	return out, nil
}
