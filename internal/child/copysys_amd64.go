package child

// Syscall numbers the syscall package does not export for amd64.
const (
	sysFstatat = 262 // newfstatat
)
