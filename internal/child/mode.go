package child

import "syscall"

// Mode is what the grandchild does after the hardening steps.
type Mode uint8

const (
	// ModeExec executes Args[0], looked up in the container's PATH.
	ModeExec Mode = iota
	// ModeHostBinary executes the host binary the parent opened before the
	// join (FdHostBinary) by fd, with Args as its argv.
	ModeHostBinary
	// ModeCopyTo runs the copy-in worker: records on stdin are created
	// beneath the directory Args[1] (copyto.go).
	ModeCopyTo
	// ModeCopyFrom runs the copy-out worker: the tree at Args[1] is sent
	// as records on stdout (copyfrom.go).
	ModeCopyFrom
)

// FdHostBinary is nsenter.FdHostBinary: the host executable's fd.
const FdHostBinary = 5

// Linux syscall numbers and flags the syscall package does not export.
const (
	sysOpenat2      = 437 // the same on every architecture
	atSymlinkNoFoll = 0x100
	atRemoveDir     = 0x200
	resolveNoMagic  = 0x02 // RESOLVE_NO_MAGICLINKS
	resolveNoSyms   = 0x04 // RESOLVE_NO_SYMLINKS
	resolveBeneath  = 0x08 // RESOLVE_BENEATH
	oPath           = 0x200000
)

// runMode runs a copy worker, already hardened by the constructor. It
// never returns.
func runMode(cfg *Config) {
	switch cfg.Mode {
	case ModeCopyTo, ModeCopyFrom:
		// The bootstrap socket's EOF is how the parent learns that the
		// command "executed": closing it starts the parent's side of the
		// exchange. From here on failures travel as error records on
		// stdout, which the parent reads anyway.
		syscall.Close(FdSocket)
		if cfg.Mode == ModeCopyTo {
			syscall.Exit(copyToMain(cfg.Args[1]))
		}
		syscall.Exit(copyFromMain(cfg.Args[1]))
	}
	report("child: not a copy worker", syscall.EINVAL)
}
