//go:build linux && cgo

package nsenter

/*
#include "oneshot.h"
*/
import "C"

import (
	"fmt"
	"syscall"
)

// ReleaseOneshotStart gives every thread the CPU affinity the program
// started with back, once its Go runtime has read it: the constructor of a
// program that links nucleus/attach/oneshot holds the main thread on one
// CPU until then, so that the runtime starts with one P (oneshot.c). It
// does nothing in any other program, and the second time. The error says
// that /proc/self/task could not be read (a /proc of another PID
// namespace): then only the calling thread got its affinity back.
func ReleaseOneshotStart() error {
	if errno := C.nucleus_oneshot_release(); errno != 0 {
		return fmt.Errorf("oneshot: release the start CPU: /proc/self/task: %w", syscall.Errno(errno))
	}
	return nil
}
