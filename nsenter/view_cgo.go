//go:build linux && cgo

package nsenter

/*
#include "view.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// OverlayView opens the running program through a read-only overlayfs mount
// of its own directory that is attached to no mount tree (view.c): the
// executable nucleus runs its children from (nucleus/internal/launch,
// ExeOverlay). The first call of a program that imports
// nucleus/attach/oneshot returns the view made while its runtime started;
// every other call makes one. The error names the step that failed.
func OverlayView() (*os.File, error) {
	var v C.struct_nucleus_view
	if C.nucleus_view_take_prefetched(&v) == 0 {
		C.nucleus_view_make(&v)
	}
	if v.fd < 0 {
		step := C.GoString(&v.step[0])
		if v.err == 0 {
			return nil, errors.New(step)
		}
		return nil, fmt.Errorf("%s: %w", step, syscall.Errno(v.err))
	}
	return os.NewFile(uintptr(v.fd), "nucleus-overlay:"+C.GoString(&v.name[0])), nil
}
