package child

import "syscall"

// Syscall numbers, named for the shared code.
const (
	sysExecveat = syscall.SYS_EXECVEAT
	sysFstatat  = syscall.SYS_FSTATAT
)
