//go:build !linux || !cgo

package nsenter

// Available reports whether this binary carries the namespace constructor.
// Without cgo it does not, and nucleus refuses to start anything: running the
// command without the join would run it on the host.
func Available() bool { return false }

// Joined reports whether the constructor ran in this process; never without
// cgo.
func Joined() bool { return false }
