//go:build linux && cgo

package nsenter

/*
#include <stdlib.h>
#include "child.h"

static int resolve(const char *spec, size_t n, const char *pw, const char *gr, uint32_t *uid, uint32_t *gid,
		   uint32_t **gids, uint32_t *ngids, char *home, size_t homesize, char *err, size_t errsize)
{
	struct nucleus_identity id;
	int rc = nucleus_resolve_user(spec, n, pw, gr, &id, home, homesize, err, errsize);
	if (rc == 0) {
		*uid = id.uid;
		*gid = id.gid;
		*gids = id.gids;
		*ngids = id.ngids;
	}
	return rc;
}

static char *look(const char *name, size_t n, struct nucleus_str *env, uint32_t nenv)
{
	struct nucleus_str s = {(char *)name, (uint32_t)n};
	return nucleus_look_path(&s, env, nenv);
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// The constructor's lookups (child.c) reached from Go, for the tests that
// prove them on real files: the grandchild itself calls them from C only.

// resolveUser resolves spec against the files passwd and group as the
// grandchild does (nucleus_resolve_user).
func resolveUser(spec, passwd, group string) (uid, gid uint32, gids []uint32, home string, err error) {
	cs, cp, cg := C.CString(spec), C.CString(passwd), C.CString(group)
	defer C.free(unsafe.Pointer(cs))
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cg))
	var h [4096]C.char
	var e [600]C.char
	var cuid, cgid, n C.uint32_t
	var list *C.uint32_t
	if C.resolve(cs, C.size_t(len(spec)), cp, cg, &cuid, &cgid, &list, &n, &h[0], C.size_t(len(h)), &e[0], C.size_t(len(e))) != 0 {
		return 0, 0, nil, "", errors.New(C.GoString(&e[0]))
	}
	if n > 0 {
		gids = append(gids, unsafe.Slice((*uint32)(unsafe.Pointer(list)), int(n))...)
	}
	C.free(unsafe.Pointer(list))
	return uint32(cuid), uint32(cgid), gids, C.GoString(&h[0]), nil
}

// homeOf is the grandchild's HOME lookup (nucleus_home_of).
func homeOf(uid uint32, passwd string) (string, error) {
	cp := C.CString(passwd)
	defer C.free(unsafe.Pointer(cp))
	var h [4096]C.char
	var e [600]C.char
	if C.nucleus_home_of(C.uint32_t(uid), cp, &h[0], C.size_t(len(h)), &e[0], C.size_t(len(e))) != 0 {
		return "", errors.New(C.GoString(&e[0]))
	}
	return C.GoString(&h[0]), nil
}

// lookPath is the grandchild's PATH lookup (nucleus_look_path); ok is
// false when the command is not found.
func lookPath(name string, env []string) (path string, ok bool) {
	cenv := make([]C.struct_nucleus_str, len(env)+1)
	for i, v := range env {
		cenv[i] = C.struct_nucleus_str{s: C.CString(v), len: C.uint32_t(len(v))}
		defer C.free(unsafe.Pointer(cenv[i].s))
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	p := C.look(cn, C.size_t(len(name)), &cenv[0], C.uint32_t(len(env)))
	if p == nil {
		return "", false
	}
	path = C.GoString(p)
	if p != cn {
		C.free(unsafe.Pointer(p))
	}
	return path, true
}
