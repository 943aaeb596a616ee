package child

import (
	"errors"
	"syscall"
	"unsafe"

	"nucleus/internal/hardencore"
)

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
	atEmptyPath     = 0x1000
	atSymlinkNoFoll = 0x100
	atRemoveDir     = 0x200
	resolveNoMagic  = 0x02 // RESOLVE_NO_MAGICLINKS
	resolveNoSyms   = 0x04 // RESOLVE_NO_SYMLINKS
	resolveBeneath  = 0x08 // RESOLVE_BENEATH
	oPath           = 0x200000
)

// runMode hardens the thread like a command's, then executes the host
// binary or runs a copy worker. It never returns.
func runMode(cfg *Config, env []string) {
	switch cfg.Mode {
	case ModeHostBinary:
		execHostBinary(cfg, env)
	case ModeCopyTo, ModeCopyFrom:
		if len(cfg.Args) != 2 || cfg.Args[1] == "" || cfg.Args[1][0] != '/' {
			report("copy: bad worker arguments", syscall.EINVAL)
		}
		apply(cfg)
		if err := cfg.Program.AsAfterExec(cfg.Identity); err != nil {
			var errno syscall.Errno
			errors.As(err, &errno)
			report(err.Error(), errno)
		}
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
	report("child: unknown mode", syscall.EINVAL)
}

// apply runs the hardening steps, reporting a failure like Main does.
func apply(cfg *Config) {
	if err := cfg.Program.Apply(cfg.Identity, cfg.Dir); err != nil {
		var errno syscall.Errno
		errors.As(err, &errno)
		report(err.Error(), errno)
	}
}

// execHostBinary executes the host binary by its fd with
// execveat(fd, "", argv, envp, AT_EMPTY_PATH): no path is looked up inside
// the container (which may have no /proc for /proc/self/fd/N), and the
// file is the one the parent checked on the host before the join. The fd
// is close-on-exec after Apply (CVE-2024-21626), so the executed program
// does not inherit it; that is also why scripts are refused by the parent:
// their interpreter would have to reopen the closed /dev/fd/N.
func execHostBinary(cfg *Config, env []string) {
	if len(cfg.Program.Landlock) > 0 {
		// Landlock checks execute (and read) on the file when execveat
		// opens it; the host file is beneath none of the container's
		// paths, so it gets a rule of its own, on itself. The rule is
		// opened through the fd's /proc link: where the container has no
		// /proc the rule is skipped and Landlock refuses the exec
		// (EACCES), which the parent reports.
		cfg.Program.Landlock = append(cfg.Program.Landlock, hardencore.LandlockRule{
			Path: "/proc/self/fd/5", Access: hardencore.AccessFSExecute | hardencore.AccessFSReadFile,
		})
	}
	apply(cfg)
	argv, err := syscall.SlicePtrFromStrings(cfg.Args)
	if err != nil {
		reportExec(cfg.Args[0], syscall.EINVAL)
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		reportExec(cfg.Args[0], syscall.EINVAL)
	}
	var empty [1]byte
	_, _, e := syscall.Syscall6(sysExecveat, FdHostBinary, uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), atEmptyPath, 0)
	reportExec("host binary "+cfg.Args[0], e)
}
