package hardencore

import (
	"runtime"
	"syscall"
	"unsafe"
)

// Landlock file system rights (LANDLOCK_ACCESS_FS_*, linux/landlock.h).
const (
	AccessFSExecute     = 1 << 0
	AccessFSWriteFile   = 1 << 1
	AccessFSReadFile    = 1 << 2
	AccessFSReadDir     = 1 << 3
	AccessFSRemoveDir   = 1 << 4
	AccessFSRemoveFile  = 1 << 5
	AccessFSMakeChar    = 1 << 6
	AccessFSMakeDir     = 1 << 7
	AccessFSMakeReg     = 1 << 8
	AccessFSMakeSock    = 1 << 9
	AccessFSMakeFifo    = 1 << 10
	AccessFSMakeBlock   = 1 << 11
	AccessFSMakeSym     = 1 << 12
	AccessFSRefer       = 1 << 13 // ABI 2
	AccessFSTruncate    = 1 << 14 // ABI 3
	AccessFSIoctlDev    = 1 << 15 // ABI 5
	AccessFSResolveUnix = 1 << 16 // ABI 9

	// FileRights are the rights that apply to a single (non-directory)
	// file; landlock_add_rule rejects any other right on one (EINVAL).
	FileRights = AccessFSExecute | AccessFSWriteFile | AccessFSReadFile |
		AccessFSTruncate | AccessFSIoctlDev
)

// handledPerABI are the file system rights each Landlock ABI version can
// restrict (index 0 is ABI 1): what go-landlock's V1 … V11 configurations
// handle, which nucleus/harden's tests check. The child computes the
// handled set from this table and the kernel's answer instead of importing
// go-landlock, whose package initialisation it must not wait for.
var handledPerABI = [...]uint64{
	0x1fff,  // 1
	0x3fff,  // 2: refer
	0x7fff,  // 3: truncate
	0x7fff,  // 4: network rights only
	0xffff,  // 5: ioctl on devices
	0xffff,  // 6: scopes only
	0xffff,  // 7: logging only
	0xffff,  // 8
	0x1ffff, // 9: resolve unix
	0x1ffff, // 10
	0x1ffff, // 11
}

// KnownFSRights are all file system rights this package knows about.
const KnownFSRights = 0x1ffff

// LandlockABIs is the number of Landlock ABI versions HandledFSRights knows.
const LandlockABIs = len(handledPerABI)

// HandledFSRights returns the file system rights a kernel of the given
// Landlock ABI version can restrict (0 for no Landlock). A kernel newer than
// this table is treated as the newest ABI it knows.
func HandledFSRights(abi int) uint64 {
	if abi <= 0 {
		return 0
	}
	if abi > len(handledPerABI) {
		abi = len(handledPerABI)
	}
	return handledPerABI[abi-1]
}

// LandlockABI returns the Landlock ABI version of the running kernel, or an
// error (ENOSYS: not built in; EOPNOTSUPP: disabled at boot).
func LandlockABI() (int, error) {
	v, _, e := syscall.RawSyscall(sysLandlockCreateRuleset, 0, 0, landlockVersionFlag)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// RuleRights returns the rights to grant for a rule on a directory or on a
// single file, masked to what the ruleset handles. Rights that apply only to
// directories are dropped for a file, which landlock_add_rule would reject.
func RuleRights(access uint64, isDir bool, handled uint64) uint64 {
	if !isDir {
		access &= FileRights
	}
	return access & handled
}

// rulesetAttr is struct landlock_ruleset_attr up to handled_access_fs, the
// part every ABI version accepts.
type rulesetAttr struct {
	handledAccessFS uint64
}

// pathBeneathAttr is struct landlock_path_beneath_attr, which the kernel
// declares packed: 12 bytes, the padding Go adds at the end is not read.
type pathBeneathAttr struct {
	allowedAccess uint64
	parentFd      int32
}

// applyLandlock builds a ruleset that handles every file system right of the
// kernel's ABI, grants the rules' rights on the paths as they resolve now
// (in the caller's mount namespace and root), and enforces it on this
// thread only (no TSYNC flag). no_new_privs must already be set.
func applyLandlock(rules []LandlockRule, bestEffort bool) error {
	for _, r := range rules {
		if r.Access&^KnownFSRights != 0 {
			return wrap("rule "+quote(r.Path)+": invalid access mask "+hex(r.Access)+" (unknown rights "+hex(r.Access&^KnownFSRights)+")", syscall.EINVAL)
		}
		if r.Path == "" || r.Path[0] != '/' {
			return wrap("rule "+quote(r.Path)+": path is not absolute", syscall.EINVAL)
		}
	}
	abi, err := LandlockABI()
	if err == nil && abi < 1 {
		err = syscall.EOPNOTSUPP
	}
	if err != nil {
		return LandlockUnavailable(err, bestEffort)
	}
	handled := HandledFSRights(abi)
	attr := rulesetAttr{handledAccessFS: handled}
	r0, _, e := syscall.RawSyscall(sysLandlockCreateRuleset, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if e != 0 {
		return wrap("landlock_create_ruleset (ABI "+itoa(abi)+", handled "+hex(handled)+")", e)
	}
	rfd := int(r0)
	defer syscall.Close(rfd)
	for _, r := range rules {
		if err := addRule(rfd, r, handled); err != nil {
			return err
		}
	}
	if _, _, e := syscall.RawSyscall(sysLandlockRestrictSelf, uintptr(rfd), 0, 0); e != 0 {
		return wrap("landlock_restrict_self", e)
	}
	return nil
}

// LandlockUnavailable decides what a failed ABI probe means: nil (skip
// Landlock) only in best-effort mode and only when the kernel lacks Landlock
// (ENOSYS: not built in; EOPNOTSUPP: disabled at boot). Anything else, e.g.
// EPERM from a seccomp filter, is an error.
func LandlockUnavailable(err error, bestEffort bool) error {
	if bestEffort && (err == syscall.ENOSYS || err == syscall.EOPNOTSUPP) {
		return nil
	}
	return wrap("the kernel has no usable Landlock (not built in, or disabled at boot)", err)
}

func addRule(rfd int, r LandlockRule, handled uint64) error {
	fd, err := syscall.Open(r.Path, oPath|syscall.O_CLOEXEC, 0)
	if err != nil {
		switch err {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.EACCES:
			// Missing in this container, or not reachable by the
			// identity: nothing to grant.
			return nil
		}
		return wrap("open "+quote(r.Path), err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return wrap("stat "+quote(r.Path), err)
	}
	access := RuleRights(r.Access, st.Mode&syscall.S_IFMT == syscall.S_IFDIR, handled)
	if access == 0 {
		return nil // landlock_add_rule refuses an empty grant (ENOMSG)
	}
	attr := pathBeneathAttr{allowedAccess: access, parentFd: int32(fd)}
	_, _, e := syscall.RawSyscall6(sysLandlockAddRule, uintptr(rfd), landlockRulePathBelow, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	runtime.KeepAlive(&attr)
	if e != 0 {
		return wrap("landlock_add_rule "+quote(r.Path)+" (access "+hex(access)+")", e)
	}
	return nil
}
