package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"nucleus/state"
)

// maxRuntimeOutput bounds what a runtime's `state` may print (the state
// package reads at most 4 MiB of it as well).
const maxRuntimeOutput = 4 << 20

// resolve reads the state of the container an engine found: its OCI state
// from the runtime root, checked against the PID the engine reported, or
// its nucleus state file.
func resolve(ctx context.Context, c Container) (*state.ContainerState, error) {
	where := fmt.Sprintf("engine: %s container %s (id %s)", c.Engine, c.Name, c.ID)
	if len(c.roots) == 0 {
		if c.stateFile != "" {
			st, err := state.LoadFile(c.stateFile)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			return st, nil
		}
		if c.Status != "" && c.Status != "running" && c.Status != "paused" {
			// Only running and paused containers have a runtime state.
			return nil, fmt.Errorf("%s: status %s: %w", where, c.Status, state.ErrNotRunning)
		}
		return nil, fmt.Errorf("%s: its runtime's state root is not known", where)
	}
	var st *state.ContainerState
	var tried []string
	for _, r := range c.roots {
		var err error
		st, err = runtimeState(ctx, r, c.ID)
		if errors.Is(err, errAbsent) {
			tried = append(tried, r.Runtime+" "+r.Dir)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		c.Runtime, c.RuntimeRoot = r.Runtime, r.Dir
		break
	}
	if st == nil {
		return nil, fmt.Errorf("%s: no runtime state root found (absent: %s)", where, strings.Join(tried, ", "))
	}
	// The engine's PID is the reference: a runtime root that holds another
	// container of the same id (a stale or planted state) is refused. A
	// gVisor sandbox's PID is the supervisor's, which the engine may not
	// know as such; the state package checks that one.
	if c.PID != 0 && st.PID != c.PID && !st.UsingGVisor {
		return nil, fmt.Errorf("%s: the runtime (%s --root %s) reports pid %d, the engine pid %d", where, c.Runtime, c.RuntimeRoot, st.PID, c.PID)
	}
	// A name read from a bundle's annotations holds for that bundle only
	// (the same directory, by whichever path: /var/run is /run).
	if c.kubeBundle != "" && !sameDir(st.BundlePath, c.kubeBundle) {
		return nil, fmt.Errorf("%s: the runtime (%s --root %s) reports bundle %s, the name was read from %s", where, c.Runtime, c.RuntimeRoot, st.BundlePath, c.kubeBundle)
	}
	if c.Name != "" {
		st.Name = c.Name
	}
	return st, nil
}

// runtimeState runs `<runtime> --root <dir> state <id>` and reads its
// output with state.FromOCI. The OCI runtime command line's state operation
// is the documented interface of a runtime's state (its files are not: runc's
// state.json has no status, for one).
func runtimeState(ctx context.Context, r RuntimeRoot, id string) (*state.ContainerState, error) {
	// The id becomes a path below the root and an argument of the runtime:
	// one with '/' or ".." could leave the root, one starting with '-'
	// would be read as a flag.
	if err := state.ValidateID(id); err != nil || strings.HasPrefix(id, "-") {
		return nil, fmt.Errorf("%s --root %s: refusing container id %q: not a plain id", r.Runtime, r.Dir, id)
	}
	if err := checkRoot(r.Dir); err != nil {
		return nil, err
	}
	// A root without the container's state is not its root (an engine may
	// have several candidate roots).
	if !hasState(r, id) {
		return nil, fmt.Errorf("%s --root %s: no container %s: %w", r.Runtime, r.Dir, id, errAbsent)
	}
	bin, err := runtimeBinary(r.Runtime)
	if err != nil {
		return nil, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--root", r.Dir, "state", id)
	cmd.Stdout = &limitedBuffer{buf: &out, max: maxRuntimeOutput}
	cmd.Stderr = &limitedBuffer{buf: &errOut, max: 4096}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s --root %s state %s: %w: %s", r.Runtime, r.Dir, id, err, strings.TrimSpace(errOut.String()))
	}
	st, err := state.FromOCI(&out)
	if err != nil {
		return nil, fmt.Errorf("%s --root %s state %s: %w", r.Runtime, r.Dir, id, err)
	}
	if st.ID != id {
		return nil, fmt.Errorf("%s --root %s state %s: reports container %q", r.Runtime, r.Dir, id, st.ID)
	}
	return st, nil
}

// runtimeBinary finds an OCI runtime: in PATH, else where Debian and
// `go install` put them (a root shell's PATH has /usr/sbin, a service's may
// not).
func runtimeBinary(name string) (string, error) {
	switch name {
	case "runc", "crun", "runsc":
	default:
		return "", fmt.Errorf("unknown OCI runtime %q", name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("OCI runtime %s: not found in PATH or /usr/sbin, /usr/bin, /usr/local", name)
}

// checkRoot accepts a runtime root only when it is an absolute, clean path
// to a directory (not a symlink) owned by root or the caller and writable by
// no one else: a root anyone could write would let them plant the state
// that decides which process is entered.
func checkRoot(dir string) error {
	if _, err := state.CheckRuntimeRoot(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("runtime root %s: %w", dir, errAbsent)
		}
		return fmt.Errorf("runtime root %s: %w", dir, err)
	}
	return nil
}

// ownerUID is the owner of a file.
func ownerUID(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return 1<<32 - 1
}

// limitedBuffer keeps at most max bytes and fails the write beyond, so
// that a runaway child cannot fill the caller's memory.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.buf.Len()+len(p) > l.max {
		return 0, fmt.Errorf("output larger than %d bytes", l.max)
	}
	return l.buf.Write(p)
}

// hasState reports whether the root holds the container's state: runc and
// crun keep <root>/<id>/, runsc <root>/<sandbox>_sandbox:<id>.state.
func hasState(r RuntimeRoot, id string) bool {
	if r.Runtime != "runsc" {
		_, err := os.Lstat(filepath.Join(r.Dir, id))
		return err == nil
	}
	ents, err := os.ReadDir(r.Dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), "_sandbox:"+id+".state") {
			return true
		}
	}
	return false
}

// sameDir reports whether two paths name the same directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
