//go:build linux && cgo

package child

/*
extern int nucleus_nsenter_joined;
static int nucleus_child_joined(void) { return nucleus_nsenter_joined; }
*/
import "C"

// init runs the grandchild: only when the nsenter constructor joined the
// target's namespaces in this process (the flag is defined in nsenter.c,
// so a binary with this package links nucleus/nsenter too; launch imports
// both). Main never returns.
func init() {
	if C.nucleus_child_joined() == 1 {
		Main()
	}
}
