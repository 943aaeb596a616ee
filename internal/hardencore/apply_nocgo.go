//go:build !linux || !cgo

package hardencore

import "syscall"

// Without cgo there is no C side (apply.c): nothing can be hardened, and
// nucleus refuses to run anything (nucleus/nsenter has no constructor
// either).

func applyProgram([]byte, Identity, string) error {
	return stepErr(StepProgram, wrap("hardening needs cgo (the steps are in C)", syscall.ENOSYS))
}

// InstallSeccomp needs cgo; it reports ENOSYS.
func InstallSeccomp([]SockFilter) error { return syscall.ENOSYS }

// CapName returns capability v's number in decimal: the names are in C.
func CapName(v uint) string { return utoa(uint64(v)) }

// HandledFSRights is 0 without cgo: no Landlock.
func HandledFSRights(int) uint64 { return 0 }

// RuleRights is 0 without cgo: no Landlock.
func RuleRights(uint64, bool, uint64) uint64 { return 0 }

// LandlockUnavailable always refuses without cgo.
func LandlockUnavailable(err error, _ bool) error {
	return wrap("the kernel has no usable Landlock (not built in, or disabled at boot)", err)
}

// LandlockABIs is 0 without cgo.
var LandlockABIs = 0

// DecodeProgram needs the C decoder; it reports ENOSYS.
func DecodeProgram([]byte) (*Program, int, error) { return nil, 0, syscall.ENOSYS }
