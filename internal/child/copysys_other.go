//go:build !amd64 && !arm64

package child

// On other architectures the host binary and copy workers are not built:
// an invalid syscall number makes them fail with ENOSYS, never guess.
const (
	sysExecveat = ^uintptr(0)
	sysFstatat  = ^uintptr(0)
)
