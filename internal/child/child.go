package child

import (
	"syscall"
)

// The wire constants of nucleus/nsenter that the child uses.
const (
	// FdSocket is the bootstrap socket's fd number in the child.
	FdSocket = 3
	// MsgError carries a failed step and its errno.
	MsgError = 2
	// MsgExecError says the command could not be executed.
	MsgExecError = 3
	// MessageSize is the size of one message on the wire.
	MessageSize = 256
)

// Main runs a copy worker in the grandchild, during package
// initialisation: the constructor (nucleus/nsenter, child.c) has read the
// config record, resolved the user, applied the Program and left the
// record in rec. Commands never get here: the constructor executes them
// itself, before any Go runtime starts in the container. Main never
// returns: a failure is reported to the parent and the process exits.
//
// Because the Program was applied before the runtime started, every
// thread of this process has the identity, capability sets, no_new_privs,
// Landlock domain and seccomp filters of the worker; nothing is applied
// again here.
func Main(rec []byte) {
	cfg, err := DecodeConfig(rec)
	if err != nil {
		report("read config: "+err.Error(), 0)
	}
	runMode(cfg)
}

// ExecRefusedByLandlock is or'ed into the errno of an exec report when
// Landlock, not the file's mode, refused the execve: errnos stay below it
// (NUCLEUS_EXEC_REFUSED_BY_LANDLOCK in nsenter's child.h, which sets it).
const ExecRefusedByLandlock = 1 << 16

// NotJoined reports, in a process started as a nucleus child whose
// constructor did not run or did not join, that nothing will be run, and
// exits. Running the command now would run it on the host.
func NotJoined() {
	report("nsenter: the namespace constructor did not run (binary built without cgo?)", 0)
}

// report sends a failure to the parent and exits.
func report(text string, errno syscall.Errno) {
	writeMessage(MsgError, int32(errno), text)
	syscall.Exit(1)
}

// writeMessage sends one message in nsenter's layout: u32 type, i32 value,
// text NUL-terminated in the rest.
func writeMessage(typ uint32, value int32, text string) {
	var b [MessageSize]byte
	putU32(b[0:], typ)
	putU32(b[4:], uint32(value))
	copy(b[8:MessageSize-1], text)
	for off := 0; off < len(b); {
		n, err := syscall.Write(FdSocket, b[off:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		off += n
	}
}
