package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
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
// Overlayfs accepts a lower-only mount only with at least two lower layers.
// The second is an empty read-only tmpfs, itself a detached mount: it
// cannot shadow the binary (the binary's directory is the upper of the
// two), and, unlike any directory on disk, it cannot overlap the binary's
// directory (the kernel refuses overlapping layers with ELOOP). Layers are
// passed as file descriptors (fsconfig FSCONFIG_SET_FD "lowerdir+", Linux
// 6.13), and a detached mount is accepted as a layer from Linux 6.15 on;
// older kernels fail here and the caller falls back to the memfd.
func overlaySelf() (*os.File, error) {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("overlay view: %w", err)
	}
	if strings.HasSuffix(self, " (deleted)") || !filepath.IsAbs(self) {
		return nil, fmt.Errorf("overlay view: the running binary %q is no longer on disk", self)
	}
	dirPath, name := filepath.Split(self)
	dir, err := unix.Open(dirPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("overlay view: open %s: %w", dirPath, err)
	}
	defer unix.Close(dir)

	empty, err := detachedMount("tmpfs", [][2]string{{"mode", "0555"}, {"size", "4k"}}, nil, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("overlay view: empty layer: %w", err)
	}
	defer unix.Close(empty)

	// xino would only matter for inode numbers across file systems, and
	// turning it on by default logs kernel warnings when the layers are on
	// different file systems (they are: tmpfs and the binary's).
	mnt, err := detachedMount("overlay", [][2]string{{"xino", "off"}}, []int{dir, empty},
		unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("overlay view: %w", err)
	}
	defer unix.Close(mnt)

	fd, err := unix.Openat(mnt, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("overlay view: open %s in the overlay: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "nucleus-overlay:"+name)
	if err := sameBinary(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("overlay view: %w", err)
	}
	return f, nil
}

// detachedMount creates a file system of type fstype with the given
// string options and lower layers, and returns a detached mount of it.
func detachedMount(fstype string, opts [][2]string, lowers []int, attrs int) (int, error) {
	ctx, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen(%s): %w", fstype, err)
	}
	defer unix.Close(ctx)
	for _, o := range opts {
		if err := unix.FsconfigSetString(ctx, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("fsconfig(%s, %s=%s): %w", fstype, o[0], o[1], err)
		}
	}
	for _, l := range lowers {
		if err := unix.FsconfigSetFd(ctx, "lowerdir+", l); err != nil {
			return -1, fmt.Errorf("fsconfig(%s, lowerdir+ fd): %w", fstype, err)
		}
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, fmt.Errorf("fsconfig(%s, create): %w", fstype, err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount(%s): %w", fstype, err)
	}
	return mnt, nil
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
