package harden

import (
	"errors"
	"fmt"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// LandlockRule is a compiled PathRule: the path and the Landlock file system
// access rights (LANDLOCK_ACCESS_FS_* bits) it grants.
type LandlockRule struct {
	Path   string `json:"path"`
	Access uint64 `json:"access"`
}

// abiConfigs are go-landlock's configurations per Landlock ABI version
// (index 0 is ABI 1); each handles every file system right of its ABI.
var abiConfigs = []landlock.Config{
	landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5, landlock.V6,
	landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11,
}

// knownFSRights are all file system rights go-landlock knows about.
var knownFSRights = uint64(abiConfigs[len(abiConfigs)-1].HandledAccessFS)

// handledFSRights returns the file system rights a kernel of the given
// Landlock ABI version can restrict (0 for no Landlock). A kernel newer than
// go-landlock is treated as the newest ABI go-landlock knows.
func handledFSRights(abi int) uint64 {
	if abi <= 0 {
		return 0
	}
	if abi > len(abiConfigs) {
		abi = len(abiConfigs)
	}
	return uint64(abiConfigs[abi-1].HandledAccessFS)
}

// LandlockABI returns the Landlock ABI version of the running kernel, or an
// error (ENOSYS: not built in; EOPNOTSUPP: disabled at boot). Callers that
// set LandlockBestEffort use it to log that Landlock was skipped.
func LandlockABI() (int, error) {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return 0, err
	}
	return v, nil
}

// ruleRights returns the rights to grant for a rule on a directory or on a
// single file, masked to what the ruleset handles. Rights that apply only to
// directories are dropped for a file, which landlock_add_rule would reject.
func ruleRights(access uint64, isDir bool, handled uint64) uint64 {
	if !isDir {
		access &= llFileRights
	}
	return access & handled
}

// applyLandlock builds a ruleset that handles every file system right of the
// kernel's ABI, grants the rules' rights on the paths as they resolve now
// (in the caller's mount namespace and root), and enforces it on this
// thread only (no TSYNC flag). no_new_privs must already be set.
func applyLandlock(rules []LandlockRule, bestEffort bool) error {
	for _, r := range rules {
		if r.Access&^knownFSRights != 0 {
			return fmt.Errorf("rule %q: invalid access mask %#x (unknown rights %#x): %w", r.Path, r.Access, r.Access&^knownFSRights, unix.EINVAL)
		}
		if r.Path == "" || r.Path[0] != '/' {
			return fmt.Errorf("rule %q: path is not absolute: %w", r.Path, unix.EINVAL)
		}
	}
	abi, err := ll.LandlockGetABIVersion()
	if err == nil && abi < 1 {
		err = unix.EOPNOTSUPP
	}
	if err != nil {
		return landlockUnavailable(err, bestEffort)
	}
	handled := handledFSRights(abi)
	attr := ll.RulesetAttr{HandledAccessFS: handled}
	rfd, err := ll.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return fmt.Errorf("landlock_create_ruleset (ABI %d, handled %#x): %w", abi, handled, err)
	}
	defer unix.Close(rfd)
	for _, r := range rules {
		if err := addRule(rfd, r, handled); err != nil {
			return err
		}
	}
	if err := ll.LandlockRestrictSelf(rfd, 0); err != nil {
		return fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return nil
}

// landlockUnavailable decides what a failed ABI probe means: nil (skip
// Landlock) only in best-effort mode and only when the kernel lacks Landlock
// (ENOSYS: not built in; EOPNOTSUPP: disabled at boot). Anything else, e.g.
// EPERM from a seccomp filter, is an error.
func landlockUnavailable(err error, bestEffort bool) error {
	if bestEffort && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP)) {
		return nil
	}
	return fmt.Errorf("the kernel has no usable Landlock (not built in, or disabled at boot): %w", err)
}

func addRule(rfd int, r LandlockRule, handled uint64) error {
	fd, err := unix.Open(r.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		switch err {
		case unix.ENOENT, unix.ENOTDIR, unix.EACCES:
			// Missing in this container, or not reachable by the
			// identity: nothing to grant.
			return nil
		}
		return fmt.Errorf("open %q: %w", r.Path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %q: %w", r.Path, err)
	}
	access := ruleRights(r.Access, st.Mode&unix.S_IFMT == unix.S_IFDIR, handled)
	if access == 0 {
		return nil // landlock_add_rule refuses an empty grant (ENOMSG)
	}
	attr := ll.PathBeneathAttr{AllowedAccess: access, ParentFd: fd}
	if err := ll.LandlockAddPathBeneathRule(rfd, &attr, 0); err != nil {
		return fmt.Errorf("landlock_add_rule %q (access %#x): %w", r.Path, access, err)
	}
	return nil
}
