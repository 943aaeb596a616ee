package child

import "syscall"

// Syscall numbers, named for the shared code.
const (
	sysFstatat = syscall.SYS_FSTATAT
)
