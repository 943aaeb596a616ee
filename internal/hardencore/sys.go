package hardencore

import (
	"runtime"
	"syscall"
	"unsafe"
)

// Kernel constants package syscall does not carry (uapi values, the same on
// every architecture nucleus builds for): what the Go helpers below and
// LandlockABI use; the hardening steps have theirs in apply.c.
const (
	prCapAmbient        = 47         // PR_CAP_AMBIENT
	prCapAmbientRaise   = 2          // PR_CAP_AMBIENT_RAISE
	capabilityVersion3  = 0x20080522 // _LINUX_CAPABILITY_VERSION_3
	landlockVersionFlag = 1          // LANDLOCK_CREATE_RULESET_VERSION
)

// sysLandlockCreateRuleset is the generic system call number
// (include/uapi/asm-generic/unistd.h, shared by every architecture).
const sysLandlockCreateRuleset = 444

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
