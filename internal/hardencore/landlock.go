package hardencore

import "syscall"

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

// KnownFSRights are all file system rights this package knows about.
const KnownFSRights = 0x1ffff

// LandlockABI returns the Landlock ABI version of the running kernel, or an
// error (ENOSYS: not built in; EOPNOTSUPP: disabled at boot).
func LandlockABI() (int, error) {
	v, _, e := syscall.RawSyscall(sysLandlockCreateRuleset, 0, 0, landlockVersionFlag)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}
