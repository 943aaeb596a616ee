package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Namespaces lists the namespace names under /proc/PID/ns in the order a
// joiner must enter them: the user namespace first, because joining it is
// what grants the capabilities needed to join the others when the target is
// rootless (setns(2): CAP_SYS_ADMIN in the namespace's owning user
// namespace); mnt before the rest so later opens see the container's view;
// pid last among the ones that matter, because setns(CLONE_NEWPID) only
// affects children created afterwards. "time" after "pid" is fine for the
// same reason: it too only takes effect in children (time_namespaces(7)).
var Namespaces = []string{"user", "mnt", "net", "uts", "ipc", "cgroup", "pid", "time"}

// NSFlag returns the CLONE_NEW* flag for a namespace name from Namespaces
// (the nstype argument of setns(2)), or 0 for an unknown name.
func NSFlag(ns string) int {
	switch ns {
	case "user":
		return unix.CLONE_NEWUSER
	case "mnt":
		return unix.CLONE_NEWNS
	case "net":
		return unix.CLONE_NEWNET
	case "uts":
		return unix.CLONE_NEWUTS
	case "ipc":
		return unix.CLONE_NEWIPC
	case "cgroup":
		return unix.CLONE_NEWCGROUP
	case "pid":
		return unix.CLONE_NEWPID
	case "time":
		return unix.CLONE_NEWTIME
	}
	return 0
}

// NSID identifies a namespace: the device and inode numbers of its nsfs
// file. Two processes are in the same namespace exactly when both are equal
// (namespaces(7), "The /proc/[pid]/ns/ directory"); the inode alone is not
// enough in principle because the kernel documents the pair.
type NSID struct{ Dev, Ino uint64 }

// NamespaceID returns the identity of namespace ns ("user", "mnt", ...) of
// process pid; pid 0 means the calling process. It uses stat(2), which
// follows the magic link to the nsfs inode.
//
// For pid 0 the path is /proc/self/ns, not /proc/thread-self/ns: it names
// the namespaces of the process's main thread, which is where the Go runtime
// and its other threads live. A goroutine that moved its locked OS thread
// into another namespace with setns(2) does not see that thread's namespace
// here.
func NamespaceID(pid int, ns string) (NSID, error) {
	if pid < 0 {
		return NSID{}, fmt.Errorf("proc: namespace %s: invalid pid %d", ns, pid)
	}
	if NSFlag(ns) == 0 {
		return NSID{}, fmt.Errorf("proc: namespace %q: unknown namespace", ns)
	}
	return NamespaceIDAt(unix.AT_FDCWD, procPath(pid, "ns/"+ns))
}

// NamespaceIDAt is NamespaceID for the namespace file at path relative to
// the directory dir (fstatat(2)): "ns/net" under a /proc/PID directory the
// caller holds open, whose lookups can only ever reach the process it was
// opened for (they fail once it is gone, even when the number is reused),
// and which spares a walk of /proc per namespace.
func NamespaceIDAt(dir int, path string) (NSID, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dir, path, &st, 0); err != nil {
		return NSID{}, fmt.Errorf("proc: namespace: stat %s: %w", path, err)
	}
	return NSID{Dev: st.Dev, Ino: st.Ino}, nil
}
