package harden

import (
	"fmt"
	"strconv"
	"strings"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// Policy is what a caller asks for (attach.WithPolicy, probe.WithPolicy).
//
// The zero value (ContainerPolicy) is the container's own confinement, never
// looser, as `runc exec` gives it: the target process's capability sets and
// no_new_privs bit, its resource limits and LSM label, the container's own
// seccomp profile from its OCI config stacked on nucleus's seccomp floor,
// and no Landlock domain. StrictPolicy is the sandbox for agents and
// untrusted commands: no capabilities, no_new_privs, the floor, Landlock
// with the image read+exec and the given work trees read+write+exec, and no
// exec of anonymous files. Both are plain values that callers may adjust.
//
// A Policy is turned into a Program by CompileFor in the parent (the launch
// engine reads the target's Confinement there); the child only applies the
// Program. Whatever the Policy, the command never gets a capability, a
// looser limit or a looser filter than the target has.
type Policy struct {
	// Strict selects the sandbox (see StrictPolicy) instead of the
	// container's confinement.
	Strict bool

	// Capabilities, when not nil, are the only capabilities the command
	// may hold. Container policy: the target's sets are masked to them
	// (nil keeps the target's). Strict: they are kept in the bounding,
	// permitted and effective sets (nil: none), and each must be in the
	// target's bounding and permitted sets; kept capabilities survive
	// execve only for uid 0 (for another uid the kernel keeps only
	// ambient ones, and the strict policy gives none), so they are
	// refused for any other uid.
	Capabilities []cap.Value

	// NoNewPrivs sets no_new_privs even when the target does not have it
	// (the strict policy always sets it).
	NoNewPrivs bool

	// Seccomp is the floor filter, as classic BPF; nil means nucleus's
	// default floor (seccomppolicy.Default, assembled ahead of time). A
	// custom floor is made with nucleus/harden/seccomppolicy.Assemble from
	// a go-seccomp-bpf policy: it lives in a package of its own so that a
	// program using the default floor neither links nor initialises
	// go-seccomp-bpf. CompileFor refuses a floor that does not deny system
	// calls of a non-native architecture (an i386 int $0x80 from an
	// x86_64 process) or that does not allow execve, since the filter is
	// installed before the command is executed. The container's own
	// profile is stacked on it in either mode.
	Seccomp []SockFilter

	// Landlock lists the file hierarchies the command may use, resolved
	// inside the container's mount namespace when Apply runs. Strict: nil
	// means DefaultLandlockRules. Container policy: nil means no Landlock
	// domain. Every file system right the running kernel's Landlock ABI
	// can restrict is restricted, so what is not granted here is denied.
	// An empty, non-nil list is refused: it would deny executing anything
	// at all.
	Landlock []PathRule

	// LandlockBestEffort tolerates a kernel without Landlock (not built
	// in, or disabled at boot): Apply then skips that step and the caller
	// should log it. Nothing else is best-effort: seccomp, capabilities and
	// a kernel that rejects the ruleset are always errors.
	LandlockBestEffort bool
}

// ContainerPolicy returns the default policy, the zero Policy, by name: the
// container's own confinement, never looser (see Policy).
func ContainerPolicy() Policy { return Policy{} }

// StrictPolicy returns the sandbox policy: no capabilities, no_new_privs,
// the seccomp floor plus a filter that denies anonymous-file exec
// (memfd_create, memfd_secret, execveat of an fd: Landlock cannot see
// memfds, which live on an internal mount), and Landlock with
// DefaultLandlockRules (the image read+exec, /tmp and /dev/shm read+write
// without exec, /etc and /proc read-only, secrets such as /root, /home and
// /data not granted) plus each of workdirs read+write+exec, for an agent's
// work trees. The container's own seccomp profile, rlimits and LSM label
// still apply on top. A gVisor target refuses it (runsc exec cannot
// install Landlock rules or a caller's filter in the sandbox).
func StrictPolicy(workdirs ...string) Policy {
	rules := DefaultLandlockRules()
	for _, d := range workdirs {
		rules = append(rules, PathRule{Path: d, Access: Read | Write | Exec})
	}
	return Policy{Strict: true, NoNewPrivs: true, Landlock: rules}
}

// PathRule grants Access to the file hierarchy at Path (a directory and
// everything beneath it, or a single file). A Path that does not exist
// inside the container when Apply runs (or that the process cannot reach) is
// skipped: it grants nothing.
type PathRule struct {
	Path   string `json:"path"`
	Access Access `json:"access"`
}

// Access is a set of file system rights of a PathRule; each right stands for
// a group of Landlock access rights (LANDLOCK_ACCESS_FS_*), listed at the
// constants. Read never implies Exec: executing needs Read|Exec (Landlock
// checks both when execve opens the file). In JSON an Access is a string
// such as "read,exec".
type Access uint32

// The rights an Access is made of.
const (
	// List allows listing directories (READ_DIR), but not reading files.
	List Access = 1 << iota
	// Read allows reading files and listing directories (READ_FILE,
	// READ_DIR).
	Read
	// Write allows writing and truncating files, and creating, removing,
	// renaming and linking files, directories, symlinks, FIFOs and sockets
	// beneath a directory (WRITE_FILE, TRUNCATE, MAKE_REG, MAKE_DIR,
	// MAKE_SYM, MAKE_FIFO, MAKE_SOCK, REMOVE_FILE, REMOVE_DIR, REFER). It
	// never allows creating device nodes (MAKE_CHAR, MAKE_BLOCK). On a
	// single file only writing and truncating apply.
	Write
	// Exec allows executing files (EXECUTE), together with Read.
	Exec
	// Ioctl allows ioctl(2) on device files opened beneath Path
	// (IOCTL_DEV, Landlock ABI 5): terminals need it.
	Ioctl
	// UnixConnect allows connecting to named UNIX sockets beneath Path
	// (RESOLVE_UNIX, Landlock ABI 9; older kernels do not restrict it).
	UnixConnect

	accessAll = List | Read | Write | Exec | Ioctl | UnixConnect
)

// Convenient combinations.
const (
	ReadExec  = Read | Exec
	ReadWrite = Read | Write
)

var accessNames = []struct {
	a    Access
	name string
}{
	{List, "list"}, {Read, "read"}, {Write, "write"}, {Exec, "exec"}, {Ioctl, "ioctl"}, {UnixConnect, "unix"},
}

// String returns the rights as a comma-separated list, e.g. "read,exec".
func (a Access) String() string {
	if a == 0 {
		return ""
	}
	var parts []string
	for _, n := range accessNames {
		if a&n.a != 0 {
			parts = append(parts, n.name)
			a &^= n.a
		}
	}
	if a != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(a), 16))
	}
	return strings.Join(parts, ",")
}

// MarshalText encodes the rights as String does; unknown bits are an error.
func (a Access) MarshalText() ([]byte, error) {
	if a&^accessAll != 0 {
		return nil, fmt.Errorf("harden: unknown access bits %#x", uint32(a&^accessAll))
	}
	return []byte(a.String()), nil
}

// UnmarshalText parses a comma-separated list of right names
// ("list", "read", "write", "exec", "ioctl", "unix").
func (a *Access) UnmarshalText(b []byte) error {
	var v Access
	for _, f := range strings.Split(string(b), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		found := false
		for _, n := range accessNames {
			if n.name == f {
				v |= n.a
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("harden: unknown access right %q", f)
		}
	}
	*a = v
	return nil
}

// Landlock file system rights, from go-landlock's constants.
const (
	llWriteTree = ll.AccessFSWriteFile | ll.AccessFSTruncate |
		ll.AccessFSRemoveDir | ll.AccessFSRemoveFile |
		ll.AccessFSMakeDir | ll.AccessFSMakeReg | ll.AccessFSMakeSym |
		ll.AccessFSMakeSock | ll.AccessFSMakeFifo | ll.AccessFSRefer
)

// landlockRights maps an Access to Landlock file system access rights.
func landlockRights(a Access) uint64 {
	var r uint64
	if a&List != 0 {
		r |= ll.AccessFSReadDir
	}
	if a&Read != 0 {
		r |= ll.AccessFSReadFile | ll.AccessFSReadDir
	}
	if a&Write != 0 {
		r |= llWriteTree
	}
	if a&Exec != 0 {
		r |= ll.AccessFSExecute
	}
	if a&Ioctl != 0 {
		r |= ll.AccessFSIoctlDev
	}
	if a&UnixConnect != 0 {
		r |= ll.AccessFSResolveUnix
	}
	return r
}

// DefaultLandlockRules returns the default file system policy (a new slice
// on every call):
//
//   - "/" may only be listed; a Landlock rule covers the whole hierarchy,
//     so every directory may be listed, but no file outside the rules below
//     may be read, written or executed;
//   - /bin, /sbin, /usr, /lib, /lib32, /lib64, /libx32: read and execute;
//   - /etc, /proc, /dev: read only, no execute;
//   - /tmp, /dev/shm: read and write, no execute (a file dropped there
//     cannot be run);
//   - /dev/null, /dev/zero, /dev/full: read and write, because shells
//     redirect to them (">/dev/null" opens for writing, with O_TRUNC);
//   - /dev/tty, /dev/ptmx, /dev/pts: read, write and ioctl, so that a shell
//     can use its controlling terminal.
//
// Anything else, e.g. /home, /root, /var, /run, is denied. Paths missing in
// the container are skipped when the rules are applied.
func DefaultLandlockRules() []PathRule {
	return []PathRule{
		{"/", List},
		{"/bin", ReadExec},
		{"/sbin", ReadExec},
		{"/usr", ReadExec},
		{"/lib", ReadExec},
		{"/lib32", ReadExec},
		{"/lib64", ReadExec},
		{"/libx32", ReadExec},
		{"/etc", Read},
		{"/proc", Read},
		{"/dev", Read},
		{"/tmp", ReadWrite},
		{"/dev/shm", ReadWrite},
		{"/dev/null", ReadWrite},
		{"/dev/zero", ReadWrite},
		{"/dev/full", ReadWrite},
		{"/dev/tty", ReadWrite | Ioctl},
		{"/dev/ptmx", ReadWrite | Ioctl},
		{"/dev/pts", ReadWrite | Ioctl},
	}
}
