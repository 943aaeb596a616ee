package hardencore

import (
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// TestHook, when set (by tests only), is called at the start of every step
// with the step's name, so that tests can assert the order.
var TestHook func(step string)

func enter(step string) {
	if TestHook != nil {
		TestHook(step)
	}
}

// Apply hardens the calling OS thread, which must be locked and must call
// execve right after a successful return. It is the implementation of
// nucleus/harden's (*Program).Apply, whose documentation gives the steps
// and their order; every failure is a *StepError naming the step.
func (p *Program) Apply(id Identity, dir string) error {
	if p == nil {
		return stepErr(StepProgram, textError("nil Program"))
	}
	if dir == "" {
		dir = "/"
	}
	c := p.Caps
	if p.Strict && id.UID != 0 && c.Permitted&^c.Ambient != 0 {
		// execve gives a non-zero uid only its ambient capabilities (and
		// file capabilities, ignored under no_new_privs): the strict
		// policy's kept capabilities would silently vanish.
		return stepErr(StepCapset, textError("capabilities "+CapNames(c.Permitted&^c.Ambient)+" can be kept only for uid 0, not uid "+utoa(uint64(id.UID))+": execve drops them for any other uid under no_new_privs"))
	}
	if c.Ambient&^(c.Permitted&c.Inheritable) != 0 || c.Effective&^c.Permitted != 0 || c.Permitted&^c.Bounding != 0 {
		return stepErr(StepCapset, textError("inconsistent capability sets: ambient must be within permitted and inheritable, effective within permitted, permitted within bounding"))
	}
	if err := setIdentity(id); err != nil {
		return err
	}
	enter(StepCapBSet)
	if err := dropBounding(c.Bounding, p.Strict); err != nil {
		return stepErr(StepCapBSet, err)
	}
	enter(StepRlimit)
	if err := setRlimits(p.Rlimits); err != nil {
		return stepErr(StepRlimit, err)
	}
	if !p.NoNewPrivs {
		// Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN, which the
		// thread still has here and the command may not: the filters go
		// in now, as runc does, and every later step must pass them
		// (capset, prctl, open/write of attr/exec, close_range, chdir,
		// getcwd, execve; the floor allows them all).
		enter(StepSeccomp)
		if err := p.installFilters(); err != nil {
			return stepErr(StepSeccomp, err)
		}
	}
	enter(StepAmbient)
	if err := Prctl(prCapAmbient, prCapAmbientClearAll, 0); err != nil && err != syscall.EINVAL {
		// EINVAL: a kernel without ambient capabilities (< 4.3) has none.
		return stepErr(StepAmbient, err)
	}
	enter(StepCapset)
	if err := setInheritable(c.Inheritable); err != nil {
		return stepErr(StepCapset, err)
	}
	if p.LSMExec.Attr != "" {
		// Before no_new_privs, under which AppArmor and SELinux restrict
		// label transitions (runc orders it so too), and before Landlock,
		// which may deny writing to /proc.
		enter(StepLSM)
		if err := writeAttr(p.LSMExec); err != nil {
			return stepErr(StepLSM, err)
		}
	}
	if p.NoNewPrivs {
		enter(StepNoNewPrivs)
		if err := Prctl(prSetNoNewPrivs, 1, 0); err != nil {
			return stepErr(StepNoNewPrivs, err)
		}
	}
	if p.Landlock != nil {
		enter(StepLandlock)
		if err := applyLandlock(p.Landlock, p.LandlockBestEffort); err != nil {
			return stepErr(StepLandlock, err)
		}
	}
	enter(StepCapset)
	if err := setCaps(c.Effective, c.Permitted, c.Inheritable); err != nil {
		return stepErr(StepCapset, wrap("set effective, permitted and inheritable", err))
	}
	for v := uint(0); v < 64; v++ {
		if c.Ambient&(1<<v) != 0 {
			if err := Prctl(prCapAmbient, prCapAmbientRaise, uintptr(v)); err != nil {
				return stepErr(StepCapset, wrap("raise ambient "+CapName(v), err))
			}
		}
	}
	enter(StepCloseRange)
	if err := cloexecFrom3(); err != nil {
		return stepErr(StepCloseRange, err)
	}
	enter(StepChdir)
	if dir[0] != '/' {
		return stepErr(StepChdir, wrap(quote(dir)+" is not an absolute path", syscall.EINVAL))
	}
	if err := syscall.Chdir(dir); err != nil {
		return stepErr(StepChdir, wrap(quote(dir), err))
	}
	enter(StepGetcwd)
	if err := checkCwd(); err != nil {
		return stepErr(StepGetcwd, err)
	}
	enter(StepDumpable)
	if err := Prctl(prSetDumpable, 0, 0); err != nil {
		return stepErr(StepDumpable, err)
	}
	if p.NoNewPrivs {
		enter(StepSeccomp)
		if err := p.installFilters(); err != nil {
			return stepErr(StepSeccomp, err)
		}
	}
	return nil
}

// installFilters installs the floor, then the stacked filters (the floor
// allows seccomp(2); a container profile might not), and verifies that the
// thread is in filter mode.
func (p *Program) installFilters() error {
	if err := installFilter(p.Seccomp); err != nil {
		return wrap("floor filter", err)
	}
	for i, f := range p.SeccompStack {
		if err := installFilter(f); err != nil {
			return wrap("stacked filter "+itoa(i+1), err)
		}
	}
	return verifySeccomp()
}

// setRlimits sets each limit on this thread's process. A hard limit above
// the current one needs CAP_SYS_RESOURCE in the initial user namespace,
// which a caller in a user namespace lacks: the limit is then clamped to
// the current hard limit, which is tighter than the target's, never looser.
func setRlimits(l []Rlimit) error {
	for _, r := range l {
		v := rlimit64{cur: r.Cur, max: r.Max}
		e := prlimit(r.Resource, &v, nil)
		if e == syscall.EPERM {
			var old rlimit64
			if e2 := prlimit(r.Resource, nil, &old); e2 != 0 {
				return wrap("get resource "+utoa(uint64(r.Resource)), e2)
			}
			v.max = min(v.max, old.max)
			v.cur = min(v.cur, v.max)
			e = prlimit(r.Resource, &v, nil)
		}
		if e != 0 {
			return wrap("resource "+utoa(uint64(r.Resource))+" to "+utoa(r.Cur)+"/"+utoa(r.Max), e)
		}
		if r.Resource == syscall.RLIMIT_NOFILE {
			// Go's syscall package raised this process's soft NOFILE
			// limit at init and restores the one it found in
			// syscall.Exec, which would undo this one. Its own
			// Setrlimit tells it not to (the same values again).
			lim := syscall.Rlimit{Cur: v.cur, Max: v.max}
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
				return wrap("resource "+utoa(uint64(r.Resource))+": keep it across execve", err)
			}
		}
	}
	return nil
}

// writeAttr writes the LSM label to /proc/thread-self/<attr>: the kernel
// applies it to this thread's next execve.
func writeAttr(l LSMExec) error {
	path := "/proc/thread-self/" + l.Attr
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err != nil {
		return wrap("open "+path, err)
	}
	defer syscall.Close(fd)
	n, err := syscall.Write(fd, []byte(l.Value))
	if err != nil {
		return wrap("write "+quote(l.Value)+" to "+path, err)
	}
	if n != len(l.Value) {
		return wrap("write "+quote(l.Value)+" to "+path+": short write", syscall.EIO)
	}
	return nil
}

func setIdentity(id Identity) error {
	enter(StepSetgroups)
	if err := Setgroups(id.AdditionalGIDs); err != nil {
		if err != syscall.EPERM {
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
			return stepErr(StepSetgroups, wrap("the user namespace denies setgroups (/proc/self/setgroups is \"deny\") but additional gids "+uintList(id.AdditionalGIDs)+" were asked for", err))
		}
	}
	enter(StepSetresgid)
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(id.GID), uintptr(id.GID), uintptr(id.GID)); e != 0 {
		return stepErr(StepSetresgid, wrap("gid "+utoa(uint64(id.GID)), e))
	}
	enter(StepSetresuid)
	// Going from uid 0 to a non-zero uid clears the permitted and effective
	// sets unless keep-caps is on. CAP_SETPCAP is still needed to drop the
	// bounding set, so keep-caps is held across the switch and released
	// right after (execve would reset it anyway); the effective set,
	// cleared by the switch regardless, is restored from permitted.
	if err := Prctl(prSetKeepCaps, 1, 0); err != nil {
		return stepErr(StepSetresuid, wrap("PR_SET_KEEPCAPS", err))
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(id.UID), uintptr(id.UID), uintptr(id.UID)); e != 0 {
		return stepErr(StepSetresuid, wrap("uid "+utoa(uint64(id.UID)), e))
	}
	if err := Prctl(prSetKeepCaps, 0, 0); err != nil {
		return stepErr(StepSetresuid, wrap("PR_SET_KEEPCAPS", err))
	}
	return nil
}

func setgroupsDenied() bool {
	b, err := ReadSmall("/proc/self/setgroups", 64<<10)
	return err == nil && hasPrefix(string(b), "deny")
}

func setInheritable(inh uint64) error {
	data, err := capget()
	if err != nil {
		return wrap("capget", err)
	}
	data[0].inheritable, data[1].inheritable = uint32(inh), uint32(inh>>32)
	if err := capsetRaw(&data); err != nil {
		return wrap("set inheritable to "+hex(inh), err)
	}
	return nil
}

// dropBounding removes from the bounding set every capability the kernel
// knows, except the kept ones. Strict: each kept one must exist and be in
// the set (it was asked for by name); otherwise one the caller's thread
// lacks stays missing, which is tighter than the target, never looser.
func dropBounding(keep uint64, strict bool) error {
	// Make the permitted set effective again (the uid switch clears the
	// effective set): PR_CAPBSET_DROP needs CAP_SETPCAP.
	data, err := capget()
	if err != nil {
		return wrap("capget", err)
	}
	if data[0].effective != data[0].permitted || data[1].effective != data[1].permitted {
		data[0].effective, data[1].effective = data[0].permitted, data[1].permitted
		if err := capsetRaw(&data); err != nil {
			return wrap("raise effective", err)
		}
	}
	for v := uint(0); v < 64 && strict; v++ {
		if keep&(1<<v) == 0 {
			continue
		}
		in, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapBSetRead, uintptr(v), 0, 0, 0, 0)
		if e == syscall.EINVAL {
			return wrap("capability "+utoa(uint64(v))+" cannot be kept: not a capability of this kernel", e)
		}
		if e != 0 {
			return wrap("PR_CAPBSET_READ "+utoa(uint64(v)), e)
		}
		if in == 0 {
			return wrap("capability "+CapName(v)+" cannot be kept: not in the bounding set", syscall.EPERM)
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
		_, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapBSetDrop, uintptr(v), 0, 0, 0, 0)
		switch {
		case e == 0:
		case e == syscall.EINVAL:
			if int(v) <= last {
				return wrap("PR_CAPBSET_DROP "+CapName(v)+" (cap_last_cap "+itoa(last)+")", e)
			}
			return nil
		case e == syscall.EPERM && !inBounding(v):
			// Without CAP_SETPCAP nothing can be dropped, but a
			// capability that is not in the set needs no dropping.
		default:
			return wrap("PR_CAPBSET_DROP "+CapName(v), e)
		}
	}
	return nil
}

func inBounding(v uint) bool {
	in, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapBSetRead, uintptr(v), 0, 0, 0, 0)
	return e != 0 || in != 0
}

// capLastCap reads /proc/sys/kernel/cap_last_cap; -1 when it cannot.
func capLastCap() int {
	b, err := ReadSmall("/proc/sys/kernel/cap_last_cap", 64<<10)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(trimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

// cloexecFrom3 marks every fd >= 3 close-on-exec (CVE-2024-21626: a leaked
// host fd must not reach the command). Marking rather than closing leaves
// the Go runtime's own fds working until execve.
func cloexecFrom3() error {
	_, _, e := syscall.RawSyscall(sysCloseRange, 3, uintptr(^uint32(0)), closeRangeCloexec)
	if e == 0 {
		return nil
	}
	if e != syscall.ENOSYS && e != syscall.EINVAL {
		return e
	}
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: mark each open fd.
	fd, err := syscall.Open("/proc/self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return wrap("close_range: "+e.Error()+"; fallback: open /proc/self/fd", err)
	}
	defer syscall.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err != nil {
			return wrap("fallback: getdents /proc/self/fd", err)
		}
		if n <= 0 {
			return nil
		}
		_, _, names := syscall.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			v, err := strconv.Atoi(name)
			if err != nil || v < 3 || v == fd {
				continue
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(v), syscall.F_SETFD, syscall.FD_CLOEXEC); e != 0 && e != syscall.EBADF {
				return wrap("fallback: F_SETFD "+itoa(v), e)
			}
		}
	}
}

// checkCwd verifies that the working directory is reachable from the
// process root. For a cwd outside it (a directory fd opened on the host and
// reached through /proc/self/fd/N, CVE-2024-21626) the getcwd system call
// returns a path starting with "(unreachable)" instead of "/".
func checkCwd() error {
	var buf [pathMax]byte
	n, err := syscall.Getcwd(buf[:])
	if err != nil {
		return err
	}
	cwd := string(buf[:n])
	for i, c := range buf[:n] {
		if c == 0 {
			cwd = string(buf[:i])
			break
		}
	}
	if len(cwd) == 0 || cwd[0] != '/' {
		return wrap("working directory "+quote(cwd)+" is outside the container's root", syscall.EACCES)
	}
	return nil
}

// InstallSeccomp installs filter on this thread only (no TSYNC) and
// verifies that the thread is in filter mode.
func InstallSeccomp(filter []SockFilter) error {
	if err := installFilter(filter); err != nil {
		return err
	}
	return verifySeccomp()
}

// installFilter is seccomp(SECCOMP_SET_MODE_FILTER) of one filter on this
// thread.
func installFilter(filter []SockFilter) error {
	if len(filter) == 0 || len(filter) > BPFMaxInsns {
		return wrap("filter of "+itoa(len(filter))+" instructions (1 to "+itoa(BPFMaxInsns)+" allowed)", syscall.EINVAL)
	}
	raw := make([]syscall.SockFilter, len(filter))
	for i, f := range filter {
		raw[i] = syscall.SockFilter{Code: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	prog := syscall.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
	_, _, e := syscall.RawSyscall(sysSeccomp, seccompSetModeFilter, 0, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(raw)
	return errnoErr(e)
}

// verifySeccomp checks that this thread is in seccomp filter mode.
func verifySeccomp() error {
	// Verify: PR_GET_SECCOMP answers for this thread from the kernel,
	// without depending on the container's /proc. If the filter itself
	// refuses prctl, fall back to /proc/thread-self/status.
	mode, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prGetSeccomp, 0, 0, 0, 0, 0)
	if e == 0 {
		if mode != seccompModeFilter {
			return textError("after install PR_GET_SECCOMP says mode " + utoa(uint64(mode)) + ", not 2 (filter)")
		}
		return nil
	}
	b, err := ReadSmall("/proc/thread-self/status", 64<<10)
	if err != nil {
		return wrap("verify: PR_GET_SECCOMP: "+e.Error()+"; /proc/thread-self/status", err)
	}
	if !contains(string(b), "\nSeccomp:\t2\n") {
		return textError("verify: /proc/thread-self/status does not show Seccomp: 2")
	}
	return nil
}

// AsAfterExec leaves the calling thread, hardened by Apply for identity id,
// with the capabilities a command would hold after execve, for work that a
// nucleus child does itself instead of executing a command (the copy
// workers). For uid 0 Apply's sets are already what execve gives. For any
// other uid, execve of a file without file capabilities makes the
// permitted and effective sets the ambient set (capabilities(7)): a worker
// acting as uid 1000 must not keep, say, CAP_DAC_OVERRIDE, or it would
// read and write what the container's permissions deny that user.
func (p *Program) AsAfterExec(id Identity) error {
	if p == nil || id.UID == 0 {
		return nil
	}
	c := p.Caps
	if err := setCaps(c.Ambient, c.Ambient, c.Inheritable); err != nil {
		return stepErr(StepCapset, wrap("drop to the capabilities execve would leave uid "+utoa(uint64(id.UID)), err))
	}
	return nil
}
