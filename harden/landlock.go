package harden

import "nucleus/internal/hardencore"

// LandlockRule is a compiled PathRule: the path and the Landlock file system
// access rights (LANDLOCK_ACCESS_FS_* bits) it grants.
type LandlockRule = hardencore.LandlockRule

// LandlockABI returns the Landlock ABI version of the running kernel, or an
// error (ENOSYS: not built in; EOPNOTSUPP: disabled at boot). Callers that
// set LandlockBestEffort use it to log that Landlock was skipped.
func LandlockABI() (int, error) {
	return hardencore.LandlockABI()
}
