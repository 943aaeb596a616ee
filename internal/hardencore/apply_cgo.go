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
	struct nucleus_reader r = {b, n, 1, NULL};
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


// decode_wire decodes a Program record for Go (DecodeProgram): rc 0, or
// -1 with why (NULL: cut short); *used is what the record took.
static int decode_wire(const uint8_t *b, size_t n, struct nucleus_program *p, size_t *used, const char **why)
{
	struct nucleus_reader r = {b, n, 1, NULL};
	int rc = nucleus_decode_program(&r, p);
	*used = n - r.len;
	*why = r.why;
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

// DecodeProgram decodes the Program record at the start of b with the
// constructor's own decoder (apply.c), so that what the parent encodes is
// checked against what the grandchild applies. It returns the Program and
// the bytes the record took; a record cut short is ErrShortProgram.
func DecodeProgram(b []byte) (*Program, int, error) {
	var cp C.struct_nucleus_program
	var used C.size_t
	var why *C.char
	rc := C.decode_wire((*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b)), &cp, &used, &why)
	defer C.nucleus_program_free(&cp)
	if rc != 0 {
		if why != nil {
			return nil, 0, textError(C.GoString(why))
		}
		return nil, 0, ErrShortProgram
	}
	p := &Program{
		Caps:       CapSets{Bounding: uint64(cp.bounding), Permitted: uint64(cp.permitted), Effective: uint64(cp.effective), Inheritable: uint64(cp.inheritable), Ambient: uint64(cp.ambient)},
		NoNewPrivs: cp.no_new_privs != 0, Strict: cp.strict != 0,
		Seccomp:            goFilter(cp.floor),
		LandlockBestEffort: cp.landlock_best_effort != 0,
		LSMExec:            LSMExec{Attr: goStr(cp.lsm_attr), Value: goStr(cp.lsm_value)},
	}
	if cp.nstack > 0 {
		for _, f := range unsafe.Slice(cp.stack, int(cp.nstack)) {
			p.SeccompStack = append(p.SeccompStack, goFilter(f))
		}
	}
	if cp.has_landlock != 0 {
		p.Landlock = []LandlockRule{}
		if cp.nrules > 0 {
			for _, r := range unsafe.Slice(cp.rules, int(cp.nrules)) {
				p.Landlock = append(p.Landlock, LandlockRule{Path: goStr(r.path), Access: uint64(r.access)})
			}
		}
	}
	if cp.nrlimits > 0 {
		for _, r := range unsafe.Slice(cp.rlimits, int(cp.nrlimits)) {
			p.Rlimits = append(p.Rlimits, Rlimit{Resource: uint32(r.resource), Cur: uint64(r.cur), Max: uint64(r.max)})
		}
	}
	return p, int(used), nil
}

func goStr(s C.struct_nucleus_str) string { return C.GoStringN(s.s, C.int(s.len)) }

func goFilter(f C.struct_sock_fprog) []SockFilter {
	if f.len == 0 {
		return nil
	}
	return append([]SockFilter(nil), unsafe.Slice((*SockFilter)(unsafe.Pointer(f.filter)), int(f.len))...)
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
