package child

// Syscall numbers the syscall package does not export for amd64.
const (
	sysExecveat = 322
	sysFstatat  = 262 // newfstatat
)
