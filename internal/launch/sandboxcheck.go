package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/state"
)

// Verifying a gVisor target
//
// state.FromPID and state.FromOCI take a process for a gVisor sandbox
// supervisor, and read which container and which runsc root it serves,
// from its command line. Any process chooses its own command line: a
// process of an ordinary container that re-execs itself as
// `runsc-sandbox --root=<a real runsc root> boot <another container>`
// would otherwise have a command for "itself" run by `runsc exec` in the
// other container's sandbox. So before a runsc command acts on a gVisor
// target, the claim is checked against what the kernel and the trusted
// runsc root vouch for:
//
//  1. The runsc root passes state.CheckRuntimeRoot again (a state file or
//     a hand-made ContainerState may name any directory): only root or the
//     caller can have written what `runsc state` reads there.
//  2. /proc/PID/exe, which the kernel resolves to the file the process
//     executes, is the runsc binary nucleus runs (same device and inode).
//     A process of a container runs its own files, never the host's runsc
//     (unless the host mounts it in). A sandbox started by a runsc that
//     was replaced since (an upgrade) runs the old, unlinked file and is
//     refused too: only that binary is known to be what it claims.
//  3. `runsc --root R state ID` reports this PID, and FromOCI of its output
//     reads the same start ticks: runsc's own record, in a directory only
//     root or the caller writes, says that this process serves container
//     ID. This stops a process that does run the genuine runsc binary.
//  4. The pinned pidfd still names a live process, and its start ticks are
//     the recorded ones, after all those reads: the PID was not reused in
//     between.
//
// The identity a command gets by default is process.user of the bundle
// that `runsc state` reports (what `runsc exec` uses), never one derived
// from the command line.
//
// Step 3 costs a runsc run (milliseconds). Its answer is kept per process
// (PID and start ticks), runsc binary (device and inode), root and id: a
// sandbox supervisor never execs another program, so once runsc has
// vouched for that process, the answer holds for as long as the pidfd
// check of step 4 passes. Steps 1, 2 and 4 run every time.

// runscStateTimeout bounds one `runsc state`, which only reads a file of
// the runsc root.
const runscStateTimeout = 10 * time.Second

// maxRunscState bounds what is read of `runsc state`'s output (a few hundred
// bytes of JSON).
const maxRunscState = 64 << 10

// sandboxFacts is what a verified sandbox's runsc state says.
type sandboxFacts struct {
	// identity is process.user of the container's bundle; nil when the
	// bundle cannot be read (identityErr says why).
	identity    *state.ProcessIdentity
	identityErr error
	bundle      string
}

// sandboxKey names one verification (see step 3 above).
type sandboxKey struct {
	pid      int
	ticks    uint64
	root, id string
	dev, ino uint64
}

// maxVerified bounds the verified cache; it is emptied when full.
const maxVerified = 256

var verified struct {
	sync.Mutex
	m map[sandboxKey]sandboxFacts
}

// VerifySandbox checks that st, which claims to be a gVisor sandbox
// (st.UsingGVisor), is the sandbox supervisor of container st.ID under the
// runsc root st.RuntimeRoot, run by the runsc binary runsc ("" means runsc
// in PATH), as the comment at the top of this file describes. probe calls
// it before trusting the supervisor's command line for a TCP or HTTP probe;
// Start calls it for every command. A claim that fails is refused with an
// error wrapping state.ErrPermission that names the check; a process that
// is gone yields state.ErrNotRunning, a PID now used by another process
// state.ErrStale.
func VerifySandbox(ctx context.Context, st *state.ContainerState, runsc string) error {
	bin, err := RunscBinary(runsc)
	if err != nil {
		return err
	}
	target, err := openPidfd(st)
	if err != nil {
		return err
	}
	defer target.Close()
	_, err = verifySandbox(ctx, st, bin, target)
	return err
}

// verifySandbox is VerifySandbox with the runsc binary found and the
// target's pidfd open.
func verifySandbox(ctx context.Context, st *state.ContainerState, bin string, target *os.File) (sandboxFacts, error) {
	if st.RuntimeRoot == "" {
		return sandboxFacts{}, fmt.Errorf("container %q is a gVisor sandbox whose runsc root is unknown or not trusted (it must be a directory owned by root or the caller and writable by no one else), so runsc cannot be asked: %w", st.ID, state.ErrUnsupported)
	}
	if err := state.ValidateID(st.ID); err != nil {
		return sandboxFacts{}, fmt.Errorf("gvisor: container id: %w", err)
	}
	if _, err := state.CheckRuntimeRoot(st.RuntimeRoot); err != nil {
		return sandboxFacts{}, fmt.Errorf("gvisor: verify sandbox: runsc root %q: %v: %w", st.RuntimeRoot, err, state.ErrPermission)
	}
	var binSt, exeSt unix.Stat_t
	if err := unix.Stat(bin, &binSt); err != nil {
		return sandboxFacts{}, fmt.Errorf("gvisor: verify sandbox: runsc binary: %w", &os.PathError{Op: "stat", Path: bin, Err: err})
	}
	exe := "/proc/" + strconv.Itoa(st.PID) + "/exe"
	if err := unix.Stat(exe, &exeSt); err != nil {
		return sandboxFacts{}, fmt.Errorf("gvisor: verify sandbox: %w", procErr(st, &os.PathError{Op: "stat", Path: exe, Err: err}))
	}
	if exeSt.Dev != binSt.Dev || exeSt.Ino != binSt.Ino {
		return sandboxFacts{}, fmt.Errorf("gvisor: verify sandbox: pid %d claims to be the sandbox of container %q (its command line, which any process can choose), but its executable %s (device %#x, inode %d) is not the runsc binary %s (device %#x, inode %d): refusing to run anything in that sandbox for it (a sandbox started by another runsc, or by one replaced since, needs that binary: WithRunsc): %w",
			st.PID, st.ID, exe, exeSt.Dev, exeSt.Ino, bin, binSt.Dev, binSt.Ino, state.ErrPermission)
	}
	key := sandboxKey{pid: st.PID, ticks: st.StartTicks, root: st.RuntimeRoot, id: st.ID, dev: binSt.Dev, ino: binSt.Ino}
	verified.Lock()
	facts, ok := verified.m[key]
	verified.Unlock()
	if !ok {
		var err error
		if facts, err = runscVouches(ctx, st, bin); err != nil {
			if aliveErr := stillTarget(st, target); aliveErr != nil {
				return sandboxFacts{}, aliveErr
			}
			return sandboxFacts{}, err
		}
	}
	if err := stillTarget(st, target); err != nil {
		return sandboxFacts{}, err
	}
	if !ok {
		verified.Lock()
		if verified.m == nil || len(verified.m) >= maxVerified {
			verified.m = make(map[sandboxKey]sandboxFacts)
		}
		verified.m[key] = facts
		verified.Unlock()
	}
	return facts, nil
}

// runscVouches runs `runsc --root R state -- ID` and checks that it reports
// st's very process (step 3).
func runscVouches(ctx context.Context, st *state.ContainerState, bin string) (sandboxFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, runscStateTimeout)
	defer cancel()
	stdout := &boundedBuffer{max: maxRunscState}
	stderr := &boundedBuffer{max: maxRunscMessage}
	cmd := exec.CommandContext(ctx, bin, "--root", st.RuntimeRoot, "state", "--", st.ID)
	cmd.Env = runscEnv
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	where := fmt.Sprintf("gvisor: verify sandbox: runsc --root %s state %s", st.RuntimeRoot, st.ID)
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return sandboxFacts{}, fmt.Errorf("%s: %w", where, ctxErr)
		}
		return sandboxFacts{}, fmt.Errorf("%s: %v: %s: pid %d claims a container that runsc does not know there: %w", where, err, stderr.String(), st.PID, state.ErrPermission)
	}
	out := stdout.bytes()
	if len(out) >= maxRunscState {
		return sandboxFacts{}, fmt.Errorf("%s: output larger than %d bytes: %w", where, maxRunscState, state.ErrPermission)
	}
	v, err := state.FromOCI(bytes.NewReader(out))
	if err != nil {
		return sandboxFacts{}, fmt.Errorf("%s: %w", where, err)
	}
	if v.ID != st.ID || v.PID != st.PID || v.StartTicks != st.StartTicks {
		return sandboxFacts{}, fmt.Errorf("%s: reports container %q with pid %d (start ticks %d), not pid %d (start ticks %d), whose command line claims that container: %w",
			where, v.ID, v.PID, v.StartTicks, st.PID, st.StartTicks, state.ErrPermission)
	}
	if err := v.CheckRunning(); err != nil {
		return sandboxFacts{}, fmt.Errorf("%s: %w", where, err)
	}
	facts := sandboxFacts{bundle: v.BundlePath}
	switch spec, err := state.ReadBundleSpec(v.BundlePath); {
	case err != nil:
		facts.identityErr = err
	case spec.Process == nil:
		facts.identityErr = fmt.Errorf("bundle %s: config.json has no process", v.BundlePath)
	default:
		u := spec.Process.User
		facts.identity = &state.ProcessIdentity{UID: u.UID, GID: u.GID, AdditionalGIDs: u.AdditionalGids}
	}
	return facts, nil
}

// stillTarget is step 4: the pinned process is alive and is st's.
func stillTarget(st *state.ContainerState, target *os.File) error {
	if err := proc.PidfdSignal(int(target.Fd()), 0); err != nil {
		return fmt.Errorf("gvisor: verify sandbox: pid %d exited while it was checked: %w", st.PID, state.ErrNotRunning)
	}
	ticks, err := proc.StartTicks(st.PID)
	if err != nil {
		return fmt.Errorf("gvisor: verify sandbox: pid %d: %w: %w", st.PID, state.ErrNotRunning, err)
	}
	if ticks != st.StartTicks {
		return fmt.Errorf("gvisor: verify sandbox: pid %d started at tick %d, the state says %d: %w", st.PID, ticks, st.StartTicks, state.ErrStale)
	}
	return nil
}

// procErr classifies an error reading /proc/PID of st: gone →
// ErrNotRunning, refused → ErrPermission.
func procErr(st *state.ContainerState, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return fmt.Errorf("%w: %w", state.ErrNotRunning, err)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("pid %d: %w: %w", st.PID, state.ErrPermission, err)
	}
	return err
}
