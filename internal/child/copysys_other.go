//go:build !amd64 && !arm64

package child

// On other architectures the copy workers are not built:
// an invalid syscall number makes them fail with ENOSYS, never guess.
const (
	sysFstatat = ^uintptr(0)
)
