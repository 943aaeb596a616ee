//go:build linux && cgo

package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -O2 -I${SRCDIR}/../internal/hardencore
#include "nsenter.h"
extern int nucleus_nsenter_joined;
*/
import "C"

// The hardening steps the constructor runs are hardencore's C side
// (apply.c): importing the package links them.
import _ "nucleus/internal/hardencore"

// Available reports whether this binary carries the namespace constructor
// (it is built with cgo).
func Available() bool { return true }

// Joined reports whether the constructor ran in this process and joined the
// namespaces it was asked to join. Only a nucleus grandchild sees true.
func Joined() bool { return C.nucleus_nsenter_joined == 1 }

// headerConstants returns the values nsenter.h defines, for the test that
// keeps wire.go in step with the header.
func headerConstants() map[string]int {
	return map[string]int{
		"FdSocket":       C.NUCLEUS_FD_SOCK,
		"FdPidfd":        C.NUCLEUS_FD_PIDFD,
		"FdHostBinary":   C.NUCLEUS_FD_HOSTBIN,
		"FdCgroup":       C.NUCLEUS_FD_CGROUP,
		"MaxCgroups":     C.NUCLEUS_MAX_CGROUPS,
		"magic":          C.NUCLEUS_MAGIC,
		"version":        C.NUCLEUS_VERSION,
		"FlagTTY":        C.NUCLEUS_REQ_TTY,
		"FlagHostBinary": C.NUCLEUS_REQ_HOSTBIN,
		"Go":             C.NUCLEUS_GO,
		"MsgPID":         C.NUCLEUS_MSG_PID,
		"MsgError":       C.NUCLEUS_MSG_ERROR,
		"MsgExecError":   C.NUCLEUS_MSG_EXEC_ERROR,
		"MessageSize":    C.sizeof_struct_nucleus_msg,
		"RequestSize":    C.sizeof_struct_nucleus_request,
	}
}
