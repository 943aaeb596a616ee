//go:build linux && cgo

package hardencore

/*
#cgo CFLAGS: -Wall -Wextra -O2
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "apply.h"

// apply_wire decodes a Program record and applies it: the Go API's way
// into the one implementation of the steps.
static int apply_wire(const uint8_t *b, size_t n, uint32_t uid, uint32_t gid,
		      uint32_t *gids, uint32_t ngids, char *dir, uint32_t dirlen,
		      struct nucleus_result *res)
{
	struct nucleus_reader r = {b, n, 1};
	struct nucleus_program p;
	struct nucleus_identity id = {uid, gid, ngids, gids};
	struct nucleus_str d = {dir, dirlen};
	int rc;

	if (nucleus_decode_program(&r, &p) < 0 || r.len != 0) {
		nucleus_program_free(&p);
		memset(res, 0, sizeof(*res));
		res->step = "program";
		res->err = EINVAL;
		snprintf(res->text, sizeof(res->text), "malformed program record");
		return -1;
	}
	rc = nucleus_apply(&p, &id, &d, res);
	nucleus_program_free(&p);
	return rc;
}

*/
import "C"

import (
	"syscall"
	"unsafe"
)

// applyProgram runs apply.c's steps on this thread for the encoded Program.
func applyProgram(prog []byte, id Identity, dir string) error {
	var res C.struct_nucleus_result
	var gids *C.uint32_t
	if len(id.AdditionalGIDs) > 0 {
		gids = (*C.uint32_t)(unsafe.Pointer(&id.AdditionalGIDs[0]))
	}
	// A NUL-terminated copy of dir: the C side reads it as a path.
	d := C.CString(dir)
	defer C.free(unsafe.Pointer(d))
	rc := C.apply_wire((*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(prog))), C.size_t(len(prog)),
		C.uint32_t(id.UID), C.uint32_t(id.GID), gids, C.uint32_t(len(id.AdditionalGIDs)),
		d, C.uint32_t(len(dir)), &res)
	steps := make([]string, int(res.ntrace))
	for i := range steps {
		steps[i] = C.GoString(res.trace[i])
	}
	replayTrace(steps)
	if rc == 0 {
		return nil
	}
	return resultError(C.GoString(res.step), C.GoString(&res.text[0]), syscall.Errno(res.err))
}

// InstallSeccomp installs filter on this thread only (no TSYNC) and
// verifies that the thread is in filter mode.
func InstallSeccomp(filter []SockFilter) error {
	if len(filter) == 0 || len(filter) > BPFMaxInsns {
		return wrap("filter of "+itoa(len(filter))+" instructions (1 to "+itoa(BPFMaxInsns)+" allowed)", syscall.EINVAL)
	}
	// SockFilter has struct sock_filter's layout (u16, u8, u8, u32).
	raw := C.malloc(C.size_t(8 * len(filter)))
	defer C.free(raw)
	copy(unsafe.Slice((*SockFilter)(raw), len(filter)), filter)
	prog := C.struct_sock_fprog{len: C.ushort(len(filter)), filter: (*C.struct_sock_filter)(raw)}
	var res C.struct_nucleus_result
	if C.nucleus_install_seccomp(&prog, &res) == 0 {
		return nil
	}
	return resultError("", C.GoString(&res.text[0]), syscall.Errno(res.err)).(*StepError).Err
}

// CapName returns the name of capability v ("cap_sys_admin"), or its
// number in decimal for one without a name.
func CapName(v uint) string {
	if v < uint(C.nucleus_cap_count()) {
		return C.GoString(C.nucleus_cap_name(C.uint(v)))
	}
	return utoa(uint64(v))
}

// LandlockABIs is the number of Landlock ABI versions HandledFSRights knows.
var LandlockABIs = int(C.nucleus_landlock_abis())

// HandledFSRights returns the file system rights a kernel of the given
// Landlock ABI version can restrict (0 for no Landlock). A kernel newer than
// the table in apply.c is treated as the newest ABI it knows.
func HandledFSRights(abi int) uint64 {
	return uint64(C.nucleus_landlock_handled(C.int(abi)))
}

// RuleRights returns the rights to grant for a rule on a directory or on a
// single file, masked to what the ruleset handles. Rights that apply only to
// directories are dropped for a file, which landlock_add_rule would reject.
func RuleRights(access uint64, isDir bool, handled uint64) uint64 {
	d := C.int(0)
	if isDir {
		d = 1
	}
	return uint64(C.nucleus_rule_rights(C.uint64_t(access), d, C.uint64_t(handled)))
}

// LandlockUnavailable decides what a failed ABI probe means: nil (skip
// Landlock) only in best-effort mode and only when the kernel lacks Landlock
// (ENOSYS: not built in; EOPNOTSUPP: disabled at boot). Anything else, e.g.
// EPERM from a seccomp filter, is an error.
func LandlockUnavailable(err error, bestEffort bool) error {
	errno, _ := err.(syscall.Errno)
	be := C.int(0)
	if bestEffort {
		be = 1
	}
	if errno != 0 && C.nucleus_landlock_tolerated(C.int(errno), be) != 0 {
		return nil
	}
	return wrap("the kernel has no usable Landlock (not built in, or disabled at boot)", err)
}
