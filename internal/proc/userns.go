package proc

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ioctl requests of nsfs (linux/nsfs.h).
const (
	nsGetParent   = 0xb702 // NS_GET_PARENT: fd of the parent user namespace
	nsGetOwnerUID = 0xb704 // NS_GET_OWNER_UID: the owner's uid, in the caller's terms
)

// maxUserNSDepth is the kernel's limit on nested user namespaces
// (user_namespaces(7): 32 levels).
const maxUserNSDepth = 32

// ErrNotBelow: a process's user namespace is not below the caller's (it is
// the caller's own, an ancestor of it, or in another branch).
var ErrNotBelow = errors.New("user namespace is not below the caller's")

// UserNSOwner returns the owner of the user namespace, among those holding
// process pid, that is a direct child of the caller's own: the uid that
// created the container, as the caller sees it. The kernel records the
// owner (the creator's effective uid) when the namespace is made, and
// nothing inside can change it, unlike the process's real uid, which a
// process with CAP_SETUID in its namespace sets to any mapped id.
//
// It walks up from /proc/PID/ns/user with NS_GET_PARENT and reads
// NS_GET_OWNER_UID; a namespace that is not below the caller's yields an
// error wrapping ErrNotBelow.
func UserNSOwner(pid int) (uint32, error) {
	self, err := NamespaceID(0, "user")
	if err != nil {
		return 0, err
	}
	p := procPath(pid, "ns/user")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("proc: user namespace owner: %w", &os.PathError{Op: "open", Path: p, Err: err})
	}
	defer func() { unix.Close(fd) }()
	if id, err := fdNSID(fd); err != nil {
		return 0, err
	} else if id == self {
		return 0, fmt.Errorf("proc: user namespace owner of pid %d: the caller's own: %w", pid, ErrNotBelow)
	}
	for range maxUserNSDepth {
		parent, err := unix.IoctlRetInt(fd, nsGetParent)
		if err != nil {
			// EPERM: the parent is outside the caller's view, so this
			// namespace is not below the caller's.
			if errors.Is(err, unix.EPERM) {
				return 0, fmt.Errorf("proc: user namespace owner of pid %d: %w", pid, ErrNotBelow)
			}
			return 0, fmt.Errorf("proc: user namespace owner of pid %d: NS_GET_PARENT: %w", pid, err)
		}
		id, err := fdNSID(parent)
		if err != nil {
			unix.Close(parent)
			return 0, err
		}
		if id == self {
			unix.Close(parent)
			uid, err := unix.IoctlGetUint32(fd, nsGetOwnerUID)
			if err != nil {
				return 0, fmt.Errorf("proc: user namespace owner of pid %d: NS_GET_OWNER_UID: %w", pid, err)
			}
			return uid, nil
		}
		unix.Close(fd)
		fd = parent
	}
	return 0, fmt.Errorf("proc: user namespace owner of pid %d: more than %d levels: %w", pid, maxUserNSDepth, ErrNotBelow)
}

func fdNSID(fd int) (NSID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return NSID{}, fmt.Errorf("proc: user namespace: fstat: %w", err)
	}
	return NSID{Dev: st.Dev, Ino: st.Ino}, nil
}
