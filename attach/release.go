package attach

import "nucleus/internal/launch"

// ReleaseExecutable closes the read-only view of this program that every
// attach's helper child is executed from (made once per process, the
// protection against CVE-2019-5736); the next Start makes it again.
//
// Why: the view is a detached overlayfs mount, and the kernel waits for an
// RCU grace period when the last file in it closes (50–300 µs on a small
// VM). A program that attaches once and exits — a CLI — pays that in its
// exit, which its caller waits for. Calling ReleaseExecutable on a
// goroutine of its own once Start has returned moves the wait to while the
// command runs. A long-lived program should not call it: its next attach
// would make the view again.
//
// It is safe at any time: a Start in progress keeps the view until its
// child has been executed from it.
func ReleaseExecutable() { launch.ReleaseExe() }
