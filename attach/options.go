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

// WithEnv adds KEY=VALUE entries to the command's environment, as
// `docker exec -e` does: each replaces the container's entry of the same
// key, or is appended. The container's environment is its OCI config's
// process.env when the state names a readable bundle, else the target
// process's initial environment (/proc/PID/environ); WithCleanEnv starts
// from none instead. PATH is added when there is none (the usual list),
// TERM=xterm with WithTTY when there is none, and HOME when there is none,
// from the identity's entry in the container's /etc/passwd (else /).
// nucleus adds no HOSTNAME of its own: Docker and Podman put one in the
// container's config, so it is there when they made the container, and a
// bare PID keeps what the target had. Calls add up.
func WithEnv(env ...string) Option {
	return Option{func(r *launch.Request) { r.Env = append(r.Env, env...) }}
}

// WithCleanEnv starts the command's environment empty instead of from the
// container's: only WithEnv's entries, PATH (default list) and HOME (from
// the container's /etc/passwd) unless WithEnv gives them. For commands
// that must not see the container's variables, or targets whose
// environment cannot be read.
func WithCleanEnv() Option {
	return Option{func(r *launch.Request) { r.CleanEnv = true }}
}

// WithDir sets the working directory inside the container. By default it
// is the container's: its OCI config's process.cwd, else the target
// process's working directory as the container sees it, else /. It must be
// absolute, without ".." elements, and is verified after the chdir to lie
// inside the container's root.
func WithDir(dir string) Option {
	return Option{func(r *launch.Request) { r.Dir = dir }}
}

// WithIdentity runs the command as id (uid, gid and supplementary groups as
// the container's user namespace sees them) instead of the container's
// process identity. It excludes WithUser.
func WithIdentity(id state.ProcessIdentity) Option {
	return Option{func(r *launch.Request) {
		id.AdditionalGIDs = append([]uint32(nil), id.AdditionalGIDs...)
		r.Identity = &id
	}}
}

// WithUser runs the command as user, given as `docker exec -u` takes it:
// "name", "uid", "name:group", "uid:gid" or the mixed forms. It is
// resolved inside the container's mount namespace, from its /etc/passwd
// and /etc/group (never through a host path), with docker's rules: a name
// or a uid with an entry gives that entry's uid, primary gid and home, and
// as supplementary groups every group that lists the name; a uid without
// an entry runs with gid 0 and HOME /; a group part sets the gid and then
// no supplementary group is added. A name without an entry is an error
// naming the file, and so is a user database that is not a regular file,
// is larger than 1 MiB, or has a NUL byte in the entry used. A gVisor
// target takes only "uid:gid" (its files are the sandbox kernel's to
// read). It excludes WithIdentity.
func WithUser(user string) Option {
	return Option{func(r *launch.Request) { r.User = user }}
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
