package launch

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"nucleus/nsenter"
)

// overlaySelf makes the ExeOverlay view: this program opened through a
// read-only overlayfs mount of its own directory that is never attached
// to any mount tree.
//
// Why it protects the binary (CVE-2019-5736) without copying it:
//   - an overlay with lower layers only has no upper layer to copy a file up
//     into, and the mount is read-only besides: every write open of the
//     file — including through /proc/PID/exe of a child — fails with EROFS;
//   - the file is an overlay inode: nothing reached through it (its
//     /proc/PID/exe, /proc/PID/map_files) leads to the lower file, and an
//     overlay mount cannot be "unwrapped" the way a read-only bind mount
//     can be remounted read-write;
//   - the mount is made with the new mount API (fsopen, fsconfig, fsmount)
//     and never move_mount'ed, so it exists only as long as a file in it is
//     open, and no path in any mount namespace names it. The kernel
//     detaches it lazily when the last such file closes; this process keeps
//     the executable open for its whole life.
//
// The mount is made in C (nucleus/nsenter's view.c, which says how), so
// that a program that attaches once and exits can have it made while its
// Go runtime starts (nucleus/attach/oneshot); a kernel that cannot make it
// (layers as file descriptors need Linux 6.13, a detached mount as a layer
// 6.15) fails here and the caller falls back to the memfd.
func overlaySelf() (*os.File, error) {
	f, err := nsenter.OverlayView()
	if err != nil {
		return nil, fmt.Errorf("overlay view: %w", err)
	}
	if err := sameBinary(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("overlay view: %w", err)
	}
	return f, nil
}

// sameBinary checks that f, opened by name in the binary's directory, is
// the program that is running and not a file that replaced it on disk
// since it started (an upgrade, a rebuild). Overlayfs gives its files
// inode and device numbers of its own, so the check compares what it
// passes through from the lower file: type, size and modification and
// change times.
func sameBinary(f *os.File) error {
	var got, want unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &got); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if err := unix.Stat("/proc/self/exe", &want); err != nil {
		return fmt.Errorf("stat /proc/self/exe: %w", err)
	}
	if got.Mode&unix.S_IFMT != unix.S_IFREG || got.Size != want.Size || got.Mtim != want.Mtim || got.Ctim != want.Ctim {
		return fmt.Errorf("the file on disk is not the running binary (replaced since it started)")
	}
	return nil
}
