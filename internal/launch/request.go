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
	// Env adds to the container's environment, KEY=VALUE entries
	// replacing the container's of the same key (processSpec, spec.go).
	Env []string
	// CleanEnv starts from an empty environment instead of the container's.
	CleanEnv bool
	// Dir is the working directory inside the container; "" means the
	// container's (its config's process.cwd, else the target's cwd), else
	// "/". It must be absolute and free of ".." elements.
	Dir string
	// Identity overrides the container's process identity.
	Identity *state.ProcessIdentity
	// User is a user spec ("name", "uid", "name:group", "uid:gid") resolved
	// in the container's /etc/passwd and /etc/group by the child, as
	// docker exec -u does. Exclusive with Identity.
	User string
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
		if err := checkEnvEntry(e); err != nil {
			return err
		}
	}
	if r.User != "" {
		if r.Identity != nil {
			return errors.New("both a user spec and an identity")
		}
		if err := checkUserSpec(r.User); err != nil {
			return err
		}
	}
	if r.Dir != "" {
		if err := checkDir(r.Dir); err != nil {
			return err
		}
	}
	return nil
}

// checkEnvEntry refuses an entry that is not KEY=VALUE with a non-empty
// key, or holds a NUL byte (execve would cut it there).
func checkEnvEntry(e string) error {
	key, _, ok := strings.Cut(e, "=")
	switch {
	case strings.IndexByte(e, 0) >= 0:
		return fmt.Errorf("environment entry %q contains a NUL byte", key)
	case !ok || key == "":
		return fmt.Errorf("environment entry %q is not KEY=VALUE", e)
	}
	return nil
}

// checkUserSpec refuses a user spec that cannot name a user: "user" or
// "user:group", each part a name or a decimal id, neither empty.
func checkUserSpec(spec string) error {
	usr, grp, hasGroup := strings.Cut(spec, ":")
	switch {
	case usr == "":
		return fmt.Errorf("user spec %q: empty user", spec)
	case hasGroup && grp == "":
		return fmt.Errorf("user spec %q: empty group", spec)
	case strings.ContainsAny(spec, "\x00\n") || strings.Count(spec, ":") > 1:
		return fmt.Errorf("user spec %q: want user[:group]", spec)
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
