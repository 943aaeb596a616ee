package probe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"nucleus/internal/launch"
	"nucleus/state"
)

// Exec runs Command inside the container with the attach engine (joined
// namespaces, hardened, in the container's cgroups) and succeeds when it
// exits with status 0.
//
// Its stdout and stderr are captured into one buffer capped at 10 KiB
// (WithMaxOutput); the rest is read and discarded, so the command never
// blocks on output. When the timeout expires everything the command started
// is SIGKILLed — its cgroup of its own with cgroup.kill, so also what called
// setsid; its process group where no cgroup can be made — and reaped, and
// the result is a Failure with Reason "timeout". After a normal exit the
// same kill is made, so background processes the command left behind in the
// container do not outlive the probe. (Kubelet leaves a timed-out exec probe running;
// containerd kills it. A probe that accumulates processes in the container
// at every period is a leak, so nucleus kills.)
type Exec struct {
	// Command is the argv; Command[0] is looked up in the container's PATH.
	Command []string
	// Identity is who the command runs as, as seen inside the container's
	// user namespace; nil means the container's process identity.
	Identity *state.ProcessIdentity
	// User, when not empty, is a user spec resolved in the container's
	// /etc/passwd and /etc/group as attach.WithUser does; exclusive with
	// Identity.
	User string
	// Env adds to the container's environment (attach.WithEnv's rules);
	// by default the command has the container's environment, with PATH
	// and HOME added when missing.
	Env []string
	// HostBinary, when set, is a host executable run as the probe
	// (attach.WithHostBinary): for a probe binary the image does not ship.
	// Command is then its argv. It must be statically linked unless
	// AllowDynamic is set.
	HostBinary string
	// AllowDynamic accepts a dynamically linked HostBinary, which then runs
	// with the container's ld.so and libraries.
	AllowDynamic bool
	// CleanEnv starts from an empty environment (attach.WithCleanEnv).
	CleanEnv bool
	// Dir is the working directory; "" is the container's (attach.WithDir).
	Dir string
}

// Kind returns "exec".
func (Exec) Kind() string { return "exec" }

func (p Exec) run(ctx context.Context, st *state.ContainerState, c *config) (Result, error) {
	if len(p.Command) == 0 || p.Command[0] == "" {
		return Result{}, errors.New("probe: exec: empty command")
	}
	out := &capWriter{max: c.maxOutput}
	proc, err := launch.Start(ctx, &launch.Request{
		Target:   st,
		Command:  p.Command,
		Env:      p.Env,
		CleanEnv: p.CleanEnv,
		Dir:      p.Dir,
		Identity: p.Identity,
		User:     p.User,
		Policy:   c.policy,
		Stdout:   out,
		Stderr:   out,
		Logger:   c.logger,
		Runsc:    c.runsc,

		HostBinary:        p.HostBinary,
		HostBinaryDynamic: p.AllowDynamic,
	})
	if err != nil {
		// The deadline passing while the command was being set up is still
		// the probe's timeout; anything else is a setup error.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{Status: Failure, Reason: "timeout"}, nil
		}
		if res, ok := cannotRun(err); ok {
			return res, nil
		}
		return Result{}, fmt.Errorf("probe: exec: %w", err)
	}
	// WaitAndKillGroup SIGKILLs whatever the command left (its cgroup, and
	// its process group) after the command exits and before it is reaped,
	// while its PID, and so the group ID, cannot be reused, and removes the
	// cgroup. That also closes the output pipes those children held, so the
	// wait does not sit out launch's drain time.
	code, werr := proc.WaitAndKillGroup()
	res := Result{ExitCode: code, Output: out.bytes()}
	switch {
	case proc.Canceled() && errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The deadline passed while the command ran: Start's context
		// killed everything the command started, and Wait reaped it.
		// (A command that exited by itself just before the deadline was
		// not canceled and keeps its own exit status.)
		res.Status, res.Reason = Failure, "timeout"
		return res, nil
	case proc.Canceled():
		return Result{}, fmt.Errorf("probe: exec: %w", ctx.Err())
	case werr != nil:
		return Result{}, fmt.Errorf("probe: exec: wait: %w", werr)
	case code == 0:
		res.Status = Success
	default:
		res.Status, res.Reason = Failure, "exit status "+strconv.Itoa(code)
	}
	return res, nil
}

// Exit codes a shell reports for a command it cannot run (POSIX "Command
// Search and Execution"), which is what kubelet sees from a runtime's exec.
const (
	exitNotExecutable = 126
	exitNotFound      = 127
)

// cannotRun turns a command that could not be executed (not found, not
// executable, refused by Landlock or seccomp) into a Failure: the probe did
// run, and the container's answer is that its health check is broken.
// Kubelet sees the runtime's exec fail the same way and restarts the
// container; a discarded Unknown would leave it "unknown" for ever.
func cannotRun(err error) (Result, bool) {
	var ee *launch.ExecError
	if !errors.As(err, &ee) {
		return Result{}, false
	}
	code := exitNotExecutable
	if errors.Is(ee.Err, syscall.ENOENT) {
		code = exitNotFound
	}
	return Result{Status: Failure, ExitCode: code, Reason: "cannot run: " + ee.Error()}, true
}
