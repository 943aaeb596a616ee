//go:build !linux || !cgo

package nsenter

import (
	"errors"
	"os"
)

// Available reports whether this binary carries the namespace constructor.
// Without cgo it does not, and nucleus refuses to start anything: running the
// command without the join would run it on the host.
func Available() bool { return false }

// Joined reports whether the constructor ran in this process; never without
// cgo.
func Joined() bool { return false }

// OverlayView needs the C side of this package; without cgo nothing is
// started, so nothing needs it.
func OverlayView() (*os.File, error) {
	return nil, errors.New("overlay view: built without cgo")
}

// ReleaseOneshotStart has nothing to release without cgo: no constructor
// held anything.
func ReleaseOneshotStart() error { return nil }
