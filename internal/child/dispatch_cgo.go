//go:build linux && cgo

package child

/*
#include <stdint.h>
extern int nucleus_nsenter_joined;
extern uint8_t *nucleus_child_config;
extern uint32_t nucleus_child_config_len;
static int nucleus_child_joined(void) { return nucleus_nsenter_joined; }
*/
import "C"

import "unsafe"

// init runs a copy worker: only when the nsenter constructor joined the
// target's namespaces in this process and hardened it (the flag and the
// record are defined in nucleus/nsenter's C, so a binary with this
// package links nucleus/nsenter too; launch imports both). A command never
// gets here: the constructor executes it. Main never returns.
func init() {
	if C.nucleus_child_joined() == 1 {
		Main(C.GoBytes(unsafe.Pointer(C.nucleus_child_config), C.int(C.nucleus_child_config_len)))
	}
}
