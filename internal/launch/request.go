package launch

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"

	"nucleus/harden"
	"nucleus/internal/child"
	"nucleus/state"
)

// Request describes one command to run inside a container.
type Request struct {
	// Target is the container; its PID and start ticks name the process
	// whose namespaces are joined.
	Target *state.ContainerState
	// Command is the argv of the command; Command[0] is looked up in the
	// container's PATH when it has no slash.
	Command []string
	// Env is the command's environment. PATH, TERM and HOME are added when
	// missing (HOME from the container's /etc/passwd, else /).
	Env []string
	// Dir is the working directory inside the container, "/" when empty. It
	// must be absolute and free of ".." elements.
	Dir string
	// Identity overrides the container's process identity.
	Identity *state.ProcessIdentity
	// Policy overrides the default hardening policy.
	Policy *harden.Policy
	// Stdin, Stdout and Stderr are the command's stdio; nil connects
	// /dev/null. An *os.File is handed to the command as it is, unless it is
	// a terminal (see InheritTerminal); anything else goes through a pipe
	// copied by the parent.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// InheritTerminal hands an *os.File that is a terminal to the command as
	// it is. By default a terminal goes through a pipe: a process in the
	// container that can open /proc/<command>/fd/0 (CAP_SYS_ADMIN, or the
	// same uid) would otherwise hold the caller's terminal and could push
	// keystrokes into it with TIOCSTI, read what the user types, or change
	// its settings.
	InheritTerminal bool
	// TTY gives the command a new pseudo-terminal as its stdio and
	// controlling terminal; Process.Console is the caller's end of it.
	TTY bool
	// Logger receives debug records of each step; nil discards them.
	Logger *slog.Logger
	// Runsc is the runsc binary for a gVisor target (see gvisor.go); ""
	// means runsc in PATH. Other targets ignore it.
	Runsc string
	// HostBinary is a host executable run inside the container instead of
	// a file of the container's; Command is its argv (hostbinary.go).
	HostBinary string
	// HostBinaryDynamic accepts a dynamically linked HostBinary.
	HostBinaryDynamic bool

	// mode is what the grandchild does once hardened: set by copy.go for
	// a copy worker, else derived from HostBinary.
	mode child.Mode
}

// childMode is the grandchild's mode for the request.
func (r *Request) childMode() child.Mode {
	if r.mode == child.ModeExec && r.HostBinary != "" {
		return child.ModeHostBinary
	}
	return r.mode
}

// Errors that need no kernel call to find.
var (
	errEmptyCommand = errors.New("empty command")
	errNoTarget     = errors.New("no target container")
)

// defaultPath is the PATH a command gets when its environment has none; the
// same list runc and Docker use.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// check validates the parts of a request that need no kernel call, so that
// bad input is refused before anything is opened or started.
func (r *Request) check() error {
	if r.Target == nil {
		return errNoTarget
	}
	if len(r.Command) == 0 || r.Command[0] == "" {
		return errEmptyCommand
	}
	for i, a := range r.Command {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("argument %d contains a NUL byte", i)
		}
	}
	for _, e := range r.Env {
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("environment entry %q contains a NUL byte", strings.SplitN(e, "=", 2)[0])
		}
		if !strings.Contains(e, "=") {
			return fmt.Errorf("environment entry %q is not KEY=VALUE", e)
		}
	}
	if r.Dir != "" {
		if err := checkDir(r.Dir); err != nil {
			return err
		}
	}
	return nil
}

// checkDir refuses a working directory that is relative or climbs with "..":
// the child verifies the result again with getcwd (CVE-2024-21626), but a
// path that says it wants out is refused before anything starts.
func checkDir(dir string) error {
	if strings.IndexByte(dir, 0) >= 0 {
		return fmt.Errorf("dir contains a NUL byte")
	}
	if !path.IsAbs(dir) {
		return fmt.Errorf("dir %q is not absolute", dir)
	}
	for _, el := range strings.Split(dir, "/") {
		if el == ".." {
			return fmt.Errorf("dir %q has a \"..\" element", dir)
		}
	}
	return nil
}

// environ returns the command's environment: the request's, with PATH and
// TERM added when missing. HOME is added by the child, which can read the
// container's /etc/passwd.
func (r *Request) environ() (env []string, needHome bool) {
	env = append([]string(nil), r.Env...)
	has := func(key string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, key+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		env = append(env, defaultPath)
	}
	if !has("TERM") {
		env = append(env, "TERM=xterm")
	}
	return env, !has("HOME")
}

func (r *Request) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

// permitted reports whether the caller may enter the target: root may; an
// unprivileged caller only when it created the container (its rootless
// owner). Checked before any kernel call.
func permitted(st *state.ContainerState) error {
	euid := os.Geteuid()
	if euid == 0 || uint32(euid) == st.CreatorUID {
		return nil
	}
	return fmt.Errorf("uid %d is neither root nor the creator (uid %d) of container %q: %w",
		euid, st.CreatorUID, st.ID, state.ErrPermission)
}
