package oneshot

/*
// The marker that nucleus/nsenter's constructor looks for (a weak symbol
// there).
const int nucleus_oneshot = 1;
*/
import "C"

import "nucleus/nsenter"

func init() {
	// The runtime has read the affinity: give it back before main, and
	// before a child could inherit it. Should /proc/self/task be
	// unreadable, the runtime's other threads stay on the one CPU: slower,
	// not less safe (a command's grandchild resets its own affinity to the
	// container's CPUs, nsenter.c).
	_ = nsenter.ReleaseOneshotStart()
}
