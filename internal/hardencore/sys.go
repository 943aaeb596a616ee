package hardencore

import (
	"runtime"
	"syscall"
	"unsafe"
)

// Kernel constants package syscall does not carry (uapi values, the same on
// every architecture nucleus builds for).
const (
	prSetDumpable         = 4  // PR_SET_DUMPABLE
	prSetKeepCaps         = 8  // PR_SET_KEEPCAPS
	prGetSeccomp          = 21 // PR_GET_SECCOMP
	prCapBSetRead         = 23 // PR_CAPBSET_READ
	prCapBSetDrop         = 24 // PR_CAPBSET_DROP
	prSetNoNewPrivs       = 38 // PR_SET_NO_NEW_PRIVS
	prCapAmbient          = 47 // PR_CAP_AMBIENT
	prCapAmbientRaise     = 2  // PR_CAP_AMBIENT_RAISE
	prCapAmbientClearAll  = 4  // PR_CAP_AMBIENT_CLEAR_ALL
	seccompSetModeFilter  = 1  // SECCOMP_SET_MODE_FILTER
	seccompModeFilter     = 2  // SECCOMP_MODE_FILTER
	closeRangeCloexec     = 1 << 2
	capabilityVersion3    = 0x20080522 // _LINUX_CAPABILITY_VERSION_3
	oPath                 = 0x200000   // O_PATH
	pathMax               = 4096       // PATH_MAX
	landlockRulePathBelow = 1          // LANDLOCK_RULE_PATH_BENEATH
	landlockVersionFlag   = 1          // LANDLOCK_CREATE_RULESET_VERSION
)

// Generic system call numbers (include/uapi/asm-generic/unistd.h, shared by
// every architecture since they were added).
const (
	sysCloseRange            = 436
	sysLandlockCreateRuleset = 444
	sysLandlockAddRule       = 445
	sysLandlockRestrictSelf  = 446
)

// errnoErr returns nil for 0, else the Errno.
func errnoErr(e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// Prctl is a single-thread prctl(2) returning only the error.
func Prctl(option, arg2, arg3 uintptr) error {
	_, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg2, arg3, 0, 0, 0)
	return errnoErr(e)
}

// Setgroups sets this thread's supplementary groups (setgroups(2) on one
// thread, unlike syscall.Setgroups, which applies to all threads).
func Setgroups(gids []uint32) error {
	var ptr uintptr
	if len(gids) > 0 {
		ptr = uintptr(unsafe.Pointer(&gids[0]))
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(gids)), ptr, 0)
	runtime.KeepAlive(gids)
	return errnoErr(e)
}

// capHeader and capData are struct __user_cap_header_struct and
// __user_cap_data_struct.
type capHeader struct {
	version uint32
	pid     int32
}

type capData struct {
	effective   uint32
	permitted   uint32
	inheritable uint32
}

func capget() ([2]capData, error) {
	hdr := capHeader{version: capabilityVersion3}
	var data [2]capData
	_, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	return data, errnoErr(e)
}

func capsetRaw(data *[2]capData) error {
	hdr := capHeader{version: capabilityVersion3}
	_, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	return errnoErr(e)
}

// RaiseInheritable adds the capabilities of mask to this thread's
// inheritable set and raises them in its ambient set. Tests use it to give
// the sequence something to drop.
func RaiseInheritable(mask uint64) error {
	data, err := capget()
	if err != nil {
		return wrap("capget", err)
	}
	data[0].inheritable |= uint32(mask)
	data[1].inheritable |= uint32(mask >> 32)
	if err := capsetRaw(&data); err != nil {
		return wrap("capset", err)
	}
	for v := uintptr(0); v < 64; v++ {
		if mask&(1<<v) != 0 {
			if err := Prctl(prCapAmbient, prCapAmbientRaise, v); err != nil {
				return wrap("ambient raise", err)
			}
		}
	}
	return nil
}

// openRead opens path read-only for a small read, never blocking on a FIFO
// nor taking a controlling terminal.
func openRead(path string) (int, error) {
	return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
}

// ReadSmall reads a small file (a /proc file, /etc/passwd) with plain
// syscalls on this thread, up to limit bytes.
func ReadSmall(path string, limit int) ([]byte, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	return ReadFD(fd, limit)
}

// ReadFD reads fd to its end, up to limit bytes, with plain syscalls.
func ReadFD(fd, limit int) ([]byte, error) {
	var out []byte
	var chunk [4096]byte
	for len(out) < limit {
		n, err := syscall.Read(fd, chunk[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		out = append(out, chunk[:n]...)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
