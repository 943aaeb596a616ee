package state

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultRunscRoot is the state directory runsc uses when its --root flag is
// not given; RuntimeRoot falls back to it for a sandbox started without one.
const DefaultRunscRoot = "/var/run/runsc"

// sandbox is what a gVisor sandbox supervisor's command line says.
//
// runsc starts the supervisor as `runsc-sandbox <global flags> boot <boot
// flags> <id>` (argv[0] set to runsc-sandbox; older or hand-made ones keep
// runsc): the global flags carry --root, and the last argument is the
// sandbox's id, which is the id of its first container. It is a claim: any
// process can have this command line (see setSandbox).
type sandbox struct {
	root string // --root; "" when absent
	id   string // boot's positional argument; "" when absent
}

// parseSandbox recognises a gVisor sandbox supervisor by its argv: the base
// name of argv[0] is runsc-sandbox, or runsc with a "boot" subcommand.
// Flags follow Go's flag package, which runsc uses: -name or --name, with
// the value after '=' or in the next argument.
func parseSandbox(argv []string) (sandbox, bool) {
	if len(argv) == 0 {
		return sandbox{}, false
	}
	name := path.Base(argv[0])
	if name != "runsc-sandbox" && name != "runsc" {
		return sandbox{}, false
	}
	var sb sandbox
	args := argv[1:]
	boot := -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "boot" {
			boot = i
			break
		}
		if a == "--" {
			break
		}
		if v, ok, next := flagValue(args, i, "root"); ok {
			sb.root = v
			i = next
		}
	}
	if boot < 0 {
		// runsc-sandbox is only ever the supervisor; a runsc without boot is
		// some other runsc command (run, exec, gofer...), and none of its
		// flags describe a sandbox.
		if name != "runsc-sandbox" {
			return sandbox{}, false
		}
		return sb, true
	}
	rest := args[boot+1:]
	if n := len(rest); n > 0 && !strings.HasPrefix(rest[n-1], "-") {
		sb.id = rest[n-1]
	}
	return sb, true
}

// flagValue reports whether args[i] is the flag name (-name, --name,
// -name=v, --name=v), its value, and the index of the last argument it used.
func flagValue(args []string, i int, name string) (string, bool, int) {
	a := args[i]
	for _, p := range []string{"--" + name, "-" + name} {
		if v, ok := strings.CutPrefix(a, p+"="); ok {
			return v, true, i
		}
		if a == p && i+1 < len(args) {
			return args[i+1], true, i + 1
		}
	}
	return "", false, i
}

// setSandbox marks s as what sb claims: a gVisor sandbox. bundle, when not
// empty, is the bundle the caller knows the container by (an OCI state's,
// which the caller vouches for); the process's identity is then read from
// that bundle's config.json.
//
// Everything in sb comes from the process's command line, which the process
// chose: a process of any container can claim to be the supervisor of
// another container's sandbox. So the claim only ever makes nucleus do
// less: UsingGVisor keeps the process's namespaces from being joined, and
// a runsc command is run on the sandbox only after launch has checked the
// claim against what the kernel and the runsc root vouch for (its
// /proc/PID/exe is the runsc binary; `runsc state` in the root reports this
// very PID). Nothing here reads a file the command line names: its --bundle
// is not opened (the host file it names would decide the identity), and the
// --root is only checked, not read.
//
// A runsc root that fails CheckRuntimeRoot leaves RuntimeRoot empty and
// CreatorUID 0 (only root may act on the sandbox) rather than failing: TCP
// and HTTP probes of a sandbox with --network=host need no runsc root, and
// `runsc exec` is refused for an empty RuntimeRoot.
func (s *ContainerState) setSandbox(sb sandbox, bundle string) {
	s.UsingGVisor = true
	root := sb.root
	if root == "" {
		root = DefaultRunscRoot
	}
	s.RuntimeRoot, s.CreatorUID = "", 0
	if owner, err := CheckRuntimeRoot(root); err == nil {
		s.RuntimeRoot, s.CreatorUID = root, owner
	}
	if ValidateID(sb.id) == nil {
		s.ID, s.Name = sb.id, sb.id
	}
	if bundle != "" {
		if id, err := bundleIdentity(bundle); err == nil {
			s.ProcessUID, s.ProcessGID = id.UID, id.GID
			s.AdditionalGIDs = nil
			if len(id.AdditionalGIDs) > 0 {
				s.AdditionalGIDs = id.AdditionalGIDs
			}
		}
	}
}

// CheckRuntimeRoot checks that dir may be handed to runsc as --root and
// returns its owner: an absolute, clean path naming a directory (not a
// symlink) owned by root or by the caller's effective uid, writable by no
// other uid. Whoever controls the directory controls what a privileged
// `runsc exec` acts on and what `runsc state` reports, and the path comes
// from a process's command line, which the process can rewrite (or from a
// state file): it is checked every time it is about to be used.
func CheckRuntimeRoot(dir string) (uint32, error) {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || strings.IndexByte(dir, 0) >= 0 {
		return 0, errors.New("not an absolute, clean path")
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return 0, &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, errors.New("not a directory")
	}
	if euid := uint32(os.Geteuid()); st.Uid != 0 && st.Uid != euid {
		return 0, fmt.Errorf("owned by uid %d, not by root or uid %d", st.Uid, euid)
	}
	if st.Mode&0o022 != 0 {
		return 0, fmt.Errorf("writable by group or others (mode %#o)", st.Mode&0o7777)
	}
	return st.Uid, nil
}

// bundleIdentity reads process.user of <bundle>/config.json: the identity
// the container's process was given, inside its user namespace.
func bundleIdentity(bundle string) (ProcessIdentity, error) {
	spec, err := ReadBundleSpec(bundle)
	if err != nil {
		return ProcessIdentity{}, err
	}
	if spec.Process == nil {
		return ProcessIdentity{}, fmt.Errorf("%s: no process", filepath.Join(bundle, "config.json"))
	}
	u := spec.Process.User
	return ProcessIdentity{UID: u.UID, GID: u.GID, AdditionalGIDs: u.AdditionalGids}, nil
}
