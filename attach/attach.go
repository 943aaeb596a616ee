package attach

import (
	"context"
	"fmt"
	"os"

	"nucleus/internal/launch"
	"nucleus/state"
)

// Sentinel errors, the same values as package state's, so callers of attach
// need not import state to test for them.
var (
	// ErrNotRunning: the container is stopped, or its process is gone.
	ErrNotRunning = state.ErrNotRunning
	// ErrStale: the state's PID now names another process (start ticks differ).
	ErrStale = state.ErrStale
	// ErrPermission: the caller is neither root nor the container's creator.
	ErrPermission = state.ErrPermission
	// ErrUnsupported: the target cannot be entered this way (a binary
	// built without cgo; a gVisor sandbox whose runsc root is unknown, or
	// with a Policy that runsc exec cannot apply).
	ErrUnsupported = state.ErrUnsupported
)

// ExecError reports that the command could not be executed — not found in
// the container (its Err then satisfies errors.Is(err, fs.ErrNotExist)),
// not executable, or refused by the Landlock policy — so it never ran. Test
// for it with errors.As: a failed setup step (a working directory that does
// not exist, say) is not an ExecError even when it carries the same errno.
// Fields: Path, the command; Err, the errno.
type ExecError = launch.ExecError

// Attach runs cmd inside the container st and returns its exit code, or 128
// plus the signal number when a signal killed it. Without WithStdio the
// command gets the caller's stdin, stdout and stderr — through pipes where
// they are terminals (see WithStdio).
func Attach(st *state.ContainerState, cmd []string, opts ...Option) (int, error) {
	return AttachContext(context.Background(), st, cmd, opts...)
}

// AttachContext is Attach with a context: when ctx ends before the command,
// everything the command started is killed (its cgroup, else its process
// group: see Start) and the command is reaped, and the error wraps
// ctx.Err().
func AttachContext(ctx context.Context, st *state.ContainerState, cmd []string, opts ...Option) (int, error) {
	p, err := Start(ctx, st, cmd, opts...)
	if err != nil {
		return -1, err
	}
	return p.Wait()
}

// Process is a command started by Start.
type Process struct {
	ctx context.Context
	p   *launch.Process
}

// Start runs cmd inside the container st and returns once it has been
// executed. Call Wait to reap it.
//
// The command runs in a cgroup v2 of its own below the container's (so it
// stays accounted to the container), and cancelling ctx kills that cgroup
// whole with cgroup.kill: every process the command started dies, also one
// that called setsid or double-forked. Where no such cgroup can be made (a
// caller without write access to the container's cgroup, as the owner of a
// rootless container usually is; a read-only cgroupfs; no cgroup v2; a
// kernel before 5.14) cancelling kills the command's process group only,
// and WithLogger's log says so. After a normal exit what the command left
// running in the background keeps running, as after `docker exec`, moved
// into the container's own cgroup (where `runc exec` puts it), and the
// command's cgroup is removed when Wait returns.
func Start(ctx context.Context, st *state.ContainerState, cmd []string, opts ...Option) (*Process, error) {
	req := &launch.Request{Target: st, Command: cmd,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	for _, o := range opts {
		o.apply(req)
	}
	p, err := launch.Start(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	return &Process{ctx: ctx, p: p}, nil
}

// Pid returns the command's PID in the caller's PID namespace; for a
// gVisor target, the PID of the runsc exec that waits for the command in
// the sandbox.
func (p *Process) Pid() int { return p.p.Pid() }

// Signal sends sig to the command. It goes through a pidfd, so it can never
// reach another process that reused the PID.
func (p *Process) Signal(sig os.Signal) error { return p.p.Signal(sig) }

// Console returns the caller's end of the pseudo-terminal given WithTTY,
// for resizing it; nil otherwise. It is closed by Wait.
func (p *Process) Console() *os.File { return p.p.Console() }

// Wait waits for the command to exit and returns its exit code (128+signal
// when killed). When the context of Start ended first, the error wraps the
// context's error.
//
// A program that ignores SIGCHLD (signal.Ignore(syscall.SIGCHLD)) makes the
// kernel reap the command itself; Wait then takes the exit status the
// kernel keeps in the command's pidfd (Linux 6.15+), and on older kernels
// fails with an error that says SIGCHLD is ignored.
func (p *Process) Wait() (int, error) {
	code, err := p.p.Wait()
	if err != nil {
		return code, fmt.Errorf("attach: %w", err)
	}
	if p.p.Canceled() {
		return code, fmt.Errorf("attach: %w", context.Cause(p.ctx))
	}
	return code, nil
}
