package attach

import (
	"io"
	"log/slog"

	"nucleus/harden"
	"nucleus/internal/launch"
	"nucleus/state"
)

// Option changes how a command is attached.
type Option struct{ apply func(*launch.Request) }

// WithStdio sets the command's stdin, stdout and stderr. A nil one is
// connected to /dev/null. Other readers and writers are copied through
// pipes, and so is an *os.File that is a terminal; any other *os.File (a
// pipe, a socket, a regular file) is handed to the command as it is.
//
// Why a terminal is not handed over: every fd of the command can be opened
// from inside the container through /proc/<command>/fd/N (by a process
// with CAP_SYS_ADMIN, or one running as the command's uid), and the
// caller's terminal there is the caller's keyboard — TIOCSTI pushes
// keystrokes into the caller's shell, which runs them when the kernel
// allows legacy TIOCSTI (/proc/sys/dev/tty/legacy_tiocsti), reads steal
// what the user types, TCSETS changes the terminal's modes. The same holds
// for any file handed over: give the command only files the container may
// keep. For an interactive command use WithTTY (a new pseudo-terminal, as
// `docker exec -t` gives); WithInheritTerminal hands terminals over anyway.
func WithStdio(in io.Reader, out, err io.Writer) Option {
	return Option{func(r *launch.Request) { r.Stdin, r.Stdout, r.Stderr = in, out, err }}
}

// WithInheritTerminal hands an *os.File that is a terminal (WithStdio's, or
// the caller's own stdin, stdout and stderr) to the command as it is
// instead of through a pipe. Only for a container trusted with the
// caller's terminal: see WithStdio for what a container process can do
// with it.
func WithInheritTerminal() Option {
	return Option{func(r *launch.Request) { r.InheritTerminal = true }}
}

// WithEnv sets the command's environment, KEY=VALUE entries. PATH and TERM
// are added when missing, and HOME from the container's /etc/passwd (else /).
func WithEnv(env ...string) Option {
	return Option{func(r *launch.Request) { r.Env = append([]string(nil), env...) }}
}

// WithDir sets the working directory inside the container (default /). It
// must be absolute, without ".." elements, and is verified after the chdir to
// lie inside the container's root.
func WithDir(dir string) Option {
	return Option{func(r *launch.Request) { r.Dir = dir }}
}

// WithIdentity runs the command as id (uid, gid and supplementary groups as
// the container's user namespace sees them) instead of the container's
// process identity.
func WithIdentity(id state.ProcessIdentity) Option {
	return Option{func(r *launch.Request) {
		id.AdditionalGIDs = append([]uint32(nil), id.AdditionalGIDs...)
		r.Identity = &id
	}}
}

// WithTTY gives the command a new pseudo-terminal as stdin, stdout, stderr
// and controlling terminal. The caller's stdin (or WithStdio's reader) is
// copied to it and its output to the caller's stdout (or WithStdio's
// stdout writer).
func WithTTY() Option {
	return Option{func(r *launch.Request) { r.TTY = true }}
}

// WithPolicy replaces the default policy, the container's own confinement
// (harden.ContainerPolicy: the target's capabilities, no_new_privs,
// rlimits, LSM label and OCI seccomp profile, never looser), e.g. with
// harden.StrictPolicy(workdirs...) for an agent or an untrusted command.
func WithPolicy(p harden.Policy) Option {
	return Option{func(r *launch.Request) { r.Policy = &p }}
}

// WithLogger sends debug records of every step to l. The library never
// writes to stdout or stderr itself.
func WithLogger(l *slog.Logger) Option {
	return Option{func(r *launch.Request) { r.Logger = l }}
}

// WithRunsc names the runsc binary that runs commands in a gVisor sandbox
// (`runsc exec`); by default it is runsc in PATH. It must be the runsc, or
// one compatible with the runsc, that started the sandbox. Other targets
// ignore it.
func WithRunsc(path string) Option {
	return Option{func(r *launch.Request) { r.Runsc = path }}
}
