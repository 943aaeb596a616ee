package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/state"
)

// gVisor targets
//
// The PID of a gVisor container is the sandbox supervisor (runsc-sandbox …
// boot): a host process whose namespaces hold the sandbox, not the guest.
// The workload's processes live in the sandbox kernel (the Sentry), which
// no setns reaches, so a command for a gVisor target is never started by
// the host-side join: startGVisor runs `runsc exec`, which asks the
// Sentry over its control socket to create the process, and waits for it.
//
// runsc exec is started as our child, in a session of its own, so the
// Process of the host path (pidfd wait, reap, exit code or 128+signal)
// serves it unchanged. What differs is everything that concerns the
// command itself, which is a process of the sandbox kernel, not of the
// host:
//
//   - Identity, environment, working directory and capabilities go in a
//     process.json (`runsc exec --process`), which replaces the container's
//     process description entirely. The flag form (--user, --env,
//     --additional-gids, --cwd) merges into it instead: it keeps the
//     container's environment, its additional gids (a request for fewer
//     groups could not be honoured) and its capabilities.
//   - The command's stdio is handed over with --pass-fd (guest fds 0, 1 and
//     2), so that runsc's own stderr, where it reports its errors, stays
//     apart from the command's output. The Sentry writes a regular file it
//     is given from offset 0, whatever its offset or O_APPEND, so regular
//     files (and anything but FIFOs and character devices) go through
//     pipes.
//   - runsc exec forwards no signal when the command has no terminal: a
//     signal or SIGKILL to it leaves the command running in the sandbox.
//     So Signal, KillGroup and a cancelled context go through `runsc kill`,
//     with the command's PID in the sandbox, which runsc reports through
//     --internal-pid-file. The Sentry starts every exec'd process in a new
//     session, so that PID is also its process group, and `runsc kill
//     --pgid` kills the command and everything it started, as the host
//     path's killpg does.
//   - Hardening: the command runs inside the Sentry, which is the isolation
//     boundary (the host kernel sees only the Sentry's own, seccomp-filtered
//     system calls). no_new_privs is set and capabilities are the
//     container's (runsc exec's default), or the Policy's within the
//     container's bounding set (runscCapsFor); a Policy that asks for its own seccomp
//     filter or Landlock rules is refused, because runsc exec cannot install
//     them: the container's own OCI seccomp profile, if any, applies.

// Timeouts of the runsc commands that stop a command in the sandbox.
const (
	// runscKillTimeout bounds one `runsc kill`: an RPC to the sandbox.
	runscKillTimeout = 10 * time.Second
	// runscExitGrace is how long runsc exec gets to notice that the command
	// it waits for was killed and to exit by itself (it then collects the
	// command's exit status in the sandbox, which would otherwise keep an
	// entry for it) before it is SIGKILLed.
	runscExitGrace = 2 * time.Second
	// runscStartGrace is how long a Start cancelled while runsc exec is
	// creating the command waits for the command's PID, so that the
	// command can be killed in the sandbox rather than left there.
	runscStartGrace = 5 * time.Second
	// maxRunscMessage bounds what is kept of runsc's own stderr.
	maxRunscMessage = 4 << 10
)

// Guest fds 0, 1, 2 are passed to runsc exec as these host fds (see
// runscArgs); fds 3 and 4 are the process file and the PID report.
const (
	runscFdProcess = 3
	runscFdPID     = 4
	runscFdStdio   = 5
)

// sandboxExec is what a Process started through runsc exec knows of its
// command in the sandbox.
type sandboxExec struct {
	runsc   string // the runsc binary
	root    string // runsc --root
	id      string // the container id
	pid     int    // the command's PID (and process group) in the sandbox
	command string // argv[0], for an ExecError

	log interface{ Debug(string, ...any) }

	// stderr collects runsc's own messages; done is closed once runsc has
	// closed its stderr (it exited).
	stderr *boundedBuffer
	done   chan struct{}

	exitTimer *time.Timer // SIGKILLs runsc exec after a runsc kill; guarded by the Process's mu
}

// runscProcess is the part of an OCI runtime-spec Process that `runsc exec
// --process` reads.
type runscProcess struct {
	Terminal        bool       `json:"terminal,omitempty"`
	User            runscUser  `json:"user"`
	Args            []string   `json:"args"`
	Env             []string   `json:"env,omitempty"`
	Cwd             string     `json:"cwd"`
	Capabilities    *runscCaps `json:"capabilities"`
	NoNewPrivileges bool       `json:"noNewPrivileges"`
}

type runscUser struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
}

// runscCaps must not be nil in the JSON: runsc takes a missing
// "capabilities" as "those of the container".
type runscCaps struct {
	Bounding    []string `json:"bounding"`
	Effective   []string `json:"effective"`
	Inheritable []string `json:"inheritable"`
	Permitted   []string `json:"permitted"`
	Ambient     []string `json:"ambient"`
}

// RunscBinary returns the runsc to run for a gVisor target: path when it is
// not empty, else runsc in PATH.
func RunscBinary(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	p, err := exec.LookPath("runsc")
	if err != nil {
		return "", fmt.Errorf("runsc: %w (install runsc, or name it with attach.WithRunsc or probe.WithRunsc)", err)
	}
	return p, nil
}

// startGVisor is Start for a gVisor target: the command is created in the
// sandbox by `runsc --root <RuntimeRoot> exec` (see the comment at the top
// of this file). It returns once runsc has reported the command's PID in
// the sandbox (the command runs), or with runsc's error when the sandbox
// refused it (exec: not found...). runsc is the binary to use ("" means
// runsc in PATH).
func startGVisor(ctx context.Context, r *Request, runsc string) (*Process, error) {
	st := r.Target
	if err := permitted(st); err != nil {
		return nil, err
	}
	if err := st.CheckRunning(); err != nil {
		return nil, err
	}
	bin, err := RunscBinary(runsc)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := r.logger()

	// The sandbox supervisor is named by a pidfd from here on: it is
	// checked again once the command runs, so that a sandbox that died
	// meanwhile (and an id reused by a new one) is noticed.
	target, err := openPidfd(st)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	// UsingGVisor, ID and RuntimeRoot are what the target's command line
	// claims: nothing is run before the kernel and runsc vouch for them
	// (sandboxcheck.go).
	facts, err := verifySandbox(ctx, st, bin, target)
	if err != nil {
		return nil, err
	}
	if facts.identity == nil && r.Identity == nil {
		// The state's identity may be the supervisor's (FromPID): never
		// looser than the container's own, so none is guessed.
		return nil, fmt.Errorf("gvisor: identity of container %q: process.user of the bundle runsc reports: %w (name one with WithIdentity)", st.ID, facts.identityErr)
	}
	spec, err := runscSpec(r, facts.identity)
	if err != nil {
		return nil, err
	}

	sio, err := newStdio(gvisorStdio(r))
	if err != nil {
		return nil, err
	}
	defer sio.closeChildEnds()

	g := &gvisorLauncher{req: r, log: log, stdio: sio, sb: &sandboxExec{
		runsc: bin, root: st.RuntimeRoot, id: st.ID, command: r.Command[0], log: log,
		stderr: &boundedBuffer{max: maxRunscMessage}, done: make(chan struct{}),
	}}
	p, err := g.run(ctx, spec, target)
	if err != nil {
		sio.abort()
		return nil, err
	}
	return p, nil
}

// runscSpec builds the process.json of r. The identity is r.Identity, else
// def (process.user of the bundle runsc reports for the container).
func runscSpec(r *Request, def *state.ProcessIdentity) ([]byte, error) {
	if p := r.Policy; p != nil && (p.Seccomp != nil || p.Landlock != nil) {
		return nil, fmt.Errorf("policy: container %q is a gVisor sandbox: runsc exec cannot install a caller's seccomp filter or Landlock rules there (the sandbox kernel is the boundary, and the container's own seccomp profile applies): %w", r.Target.ID, state.ErrUnsupported)
	}
	caps, err := runscCapsFor(r)
	if err != nil {
		return nil, err
	}
	ps, err := r.processSpec()
	if err != nil {
		return nil, err
	}
	// The identity is the caller's, else the one runsc's verified state
	// names (def); never the supervisor's.
	id := def
	if r.Identity != nil {
		id = r.Identity
	}
	if ps.user != "" {
		// The sandbox's /etc/passwd is the Sentry's to read: only a
		// numeric spec can be honoured without it.
		nid, err := numericUser(ps.user)
		if err != nil {
			return nil, fmt.Errorf("user: container %q is a gVisor sandbox: %w", r.Target.ID, err)
		}
		id = &nid
	}
	if id == nil {
		return nil, errors.New("gvisor: process spec: no identity")
	}
	// HOME, when the request has none, is added by the Sentry from the
	// container's /etc/passwd (else /), the rule of the host path.
	env, dir := ps.env, ps.dir
	b, err := json.Marshal(&runscProcess{
		Terminal:        r.TTY,
		User:            runscUser{UID: id.UID, GID: id.GID, AdditionalGids: id.AdditionalGIDs},
		Args:            r.Command,
		Env:             env,
		Cwd:             dir,
		Capabilities:    caps,
		NoNewPrivileges: true,
	})
	if err != nil {
		return nil, fmt.Errorf("gvisor: process spec: %w", err)
	}
	return b, nil
}

// gvisorStdio returns r with every stdio file the Sentry must not be given
// directly replaced by a plain reader or writer, so that newStdio puts a
// pipe in between: FIFOs and character devices (terminals, /dev/null) are
// passed as they are; a regular file would be written from offset 0 (and
// read from offset 0), sockets and anything else are not worth the doubt.
func gvisorStdio(r *Request) *Request {
	c := *r
	if f, ok := c.Stdin.(*os.File); ok && !passable(f) {
		c.Stdin = struct{ io.Reader }{f}
	}
	// Two wrappers of the same file compare equal, so newStdio still
	// gives stdout and stderr one pipe when they are one file.
	for _, w := range []*io.Writer{&c.Stdout, &c.Stderr} {
		if f, ok := (*w).(*os.File); ok && !passable(f) {
			*w = struct{ io.Writer }{f}
		}
	}
	return &c
}

// passable reports whether f can be handed to the Sentry as it is.
func passable(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	m := fi.Mode()
	return m&(os.ModeNamedPipe|os.ModeCharDevice) != 0
}

// gvisorLauncher carries one startGVisor through its steps.
type gvisorLauncher struct {
	req   *Request
	log   interface{ Debug(string, ...any) }
	stdio *stdio
	sb    *sandboxExec
}

// runscArgs is the command line of runsc exec: global flags, then exec's
// own, then "--" so that an id starting with '-' cannot be a flag.
func (s *sandboxExec) runscArgs() []string {
	return []string{
		s.runsc, "--root", s.root, "exec",
		"--process", "/proc/self/fd/" + strconv.Itoa(runscFdProcess),
		"--internal-pid-file", "/proc/self/fd/" + strconv.Itoa(runscFdPID),
		"--pass-fd", strconv.Itoa(runscFdStdio) + ":0",
		"--pass-fd", strconv.Itoa(runscFdStdio+1) + ":1",
		"--pass-fd", strconv.Itoa(runscFdStdio+2) + ":2",
		"--", s.id,
	}
}

// runscEnv is runsc's environment: it needs none of the caller's.
var runscEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

func (g *gvisorLauncher) run(ctx context.Context, spec []byte, target *os.File) (*Process, error) {
	sb := g.sb
	// The process file: a sealed memfd, which runsc reopens through
	// /proc/self/fd from offset 0.
	specFile, err := sealedMemfd("nucleus-runsc-process", spec)
	if err != nil {
		return nil, fmt.Errorf("gvisor: process spec: %w", err)
	}
	defer specFile.Close()
	// runsc writes the PID to the path it is given; a pipe is written in
	// place, in one write.
	pidR, pidW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("gvisor: pid pipe: %w", err)
	}
	defer pidR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		pidW.Close()
		return nil, fmt.Errorf("gvisor: stderr pipe: %w", err)
	}
	null, err := openDevNull()
	if err != nil {
		pidW.Close()
		errR.Close()
		errW.Close()
		return nil, err
	}
	files := []uintptr{null.Fd(), null.Fd(), errW.Fd(), specFile.Fd(), pidW.Fd()}
	for _, f := range g.stdio.childFiles() {
		files = append(files, f.Fd())
	}
	var attr = &syscall.ProcAttr{
		Env:   runscEnv,
		Files: files,
		// A session of its own: runsc's process group is runsc alone, and
		// a terminal of the caller's cannot signal it.
		Sys: &syscall.SysProcAttr{Setsid: true},
	}
	args := sb.runscArgs()
	pid, err := syscall.ForkExec(sb.runsc, args, attr)
	pidW.Close()
	errW.Close()
	if err != nil {
		errR.Close()
		// Not wrapped: a missing runsc is not a missing command
		// (errors.Is(err, fs.ErrNotExist) means the latter).
		return nil, fmt.Errorf("gvisor: start runsc %q: %v", sb.runsc, err)
	}
	g.log.Debug("runsc exec started", "pid", pid, "args", args)
	go func() {
		defer close(sb.done)
		defer errR.Close()
		_, _ = io.Copy(sb.stderr, errR)
	}()
	p, err := newProcess(pid, g.stdio, g.log)
	if err != nil {
		<-sb.done
		return nil, err
	}
	g.stdio.closeChildEnds()

	// The PID report: a number once the command runs, EOF when runsc
	// exited without one (the sandbox refused the command).
	report := make(chan int, 1)
	go func() {
		b := make([]byte, 32)
		n, _ := pidR.Read(b)
		v, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
		if err != nil || v <= 0 {
			v = 0
		}
		report <- v
	}()
	var inSandbox int
	select {
	case inSandbox = <-report:
	case <-ctx.Done():
		// runsc may be creating the command right now: killing runsc
		// would leave it in the sandbox unreported. Wait for the report a
		// while, then kill whatever was made.
		select {
		case inSandbox = <-report:
		case <-time.After(runscStartGrace):
			g.log.Debug("runsc exec did not report in time after cancel", "pid", pid)
		}
		g.log.Debug("start cancelled while runsc exec was creating the command", "runsc", pid, "sandbox_pid", inSandbox)
		if inSandbox > 0 {
			// Killed in the sandbox, the command's status is collected by
			// runsc exec, which then exits by itself.
			sb.pid = inSandbox
			if sb.kill(unix.SIGKILL, true) == nil {
				p.exited(runscExitGrace)
			}
		}
		p.abort()
		<-sb.done
		return nil, ctx.Err()
	}
	if inSandbox == 0 {
		// runsc exited (or closed its fds) without starting the command.
		code, _ := p.reap(false)
		p.stop()
		<-sb.done
		return nil, sb.startError(code)
	}
	sb.pid = inSandbox
	p.sandbox = sb
	g.log.Debug("command started in the sandbox", "runsc", pid, "sandbox_pid", inSandbox)

	// The command runs: its output is copied from now on (Wait below
	// waits for the copies).
	g.stdio.started()
	// The sandbox supervisor must still be the one the state describes.
	if err := proc.PidfdSignal(int(target.Fd()), 0); err != nil {
		_ = p.KillGroup()
		_, _ = p.Wait()
		return nil, fmt.Errorf("pid %d (sandbox) exited while the command was started: %w", g.req.Target.PID, state.ErrNotRunning)
	}
	p.watchSandbox(ctx)
	return p, nil
}

// SandboxPID returns, for a command started in a gVisor sandbox, its PID in
// the sandbox kernel (what `runsc ps` shows), else 0. Pid is then the PID of
// the runsc exec that waits for it on the host.
func (p *Process) SandboxPID() int {
	if p.sandbox == nil {
		return 0
	}
	return p.sandbox.pid
}

// exited waits up to d for the process to exit (its pidfd polls readable),
// without reaping it.
func (p *Process) exited(d time.Duration) bool {
	rc, err := p.pidfd.SyscallConn()
	if err != nil {
		return false
	}
	done := false
	deadline := time.Now().Add(d)
	_ = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			left := max(time.Until(deadline), 0)
			n, err := unix.Poll(fds, int(left.Milliseconds()))
			switch {
			case err == unix.EINTR:
				continue
			case err == nil && n > 0:
				done = true
			case err == nil && left > 0:
				continue
			}
			return
		}
	})
	return done
}

// watchSandbox is watch for a command in a sandbox: when ctx ends first,
// the command's process group is killed in the sandbox.
func (p *Process) watchSandbox(ctx context.Context) {
	p.stop = context.AfterFunc(ctx, func() {
		p.mu.Lock()
		if p.reaped {
			p.mu.Unlock()
			return
		}
		p.canceled = true
		p.mu.Unlock()
		_ = p.sandbox.killGroup(p)
	})
}

// signal sends sig to the command in the sandbox (runsc kill --pid).
func (s *sandboxExec) signal(p *Process, sig syscall.Signal) error {
	p.mu.Lock()
	reaped := p.reaped
	p.mu.Unlock()
	if reaped {
		return os.ErrProcessDone
	}
	return s.kill(sig, false)
}

// killGroup SIGKILLs the command's process group in the sandbox, then
// gives runsc exec runscExitGrace to collect the exit status and exit
// before it is SIGKILLed itself.
func (s *sandboxExec) killGroup(p *Process) error {
	p.mu.Lock()
	reaped := p.reaped
	p.mu.Unlock()
	if reaped {
		return nil
	}
	err := s.kill(unix.SIGKILL, true)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil // the group was gone: the command had exited
	}
	if s.exitTimer == nil {
		s.exitTimer = time.AfterFunc(runscExitGrace, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if !p.reaped {
				s.log.Debug("runsc exec did not exit after its command was killed", "pid", p.pid)
				_ = p.killGroupLocked()
			}
		})
	}
	return err
}

// kill runs `runsc kill --pid|--pgid <pid> <id> <sig>`.
func (s *sandboxExec) kill(sig syscall.Signal, group bool) error {
	if s.pid <= 0 {
		return errors.New("gvisor: kill: the command's pid in the sandbox is unknown")
	}
	which := "--pid"
	if group {
		which = "--pgid"
	}
	ctx, cancel := context.WithTimeout(context.Background(), runscKillTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.runsc, "--root", s.root, "kill", which, strconv.Itoa(s.pid), "--", s.id, strconv.Itoa(int(sig)))
	cmd.Env = runscEnv
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	s.log.Debug("runsc kill", "target", which, "sandbox_pid", s.pid, "signal", int(sig), "err", err)
	if err != nil {
		return fmt.Errorf("gvisor: runsc kill %s %d %d: %w: %s", which, s.pid, int(sig), err, oneLine(out.Bytes()))
	}
	return nil
}

// finish runs in Wait once runsc exec is reaped: with killGroup it kills
// whatever the command left in its process group in the sandbox (the
// command itself was collected by runsc exec: its PID is free for reuse in
// the sandbox from then on, so this is the best that can be done without a
// handle on the group); and a runsc that failed after starting the command
// (status 128 with a message) turns into an error.
func (s *sandboxExec) finish(p *Process, code int, err error, killGroup bool) (int, error) {
	p.mu.Lock()
	if s.exitTimer != nil {
		s.exitTimer.Stop()
	}
	p.mu.Unlock()
	if killGroup {
		if kerr := s.kill(unix.SIGKILL, true); kerr != nil {
			s.log.Debug("no process group left in the sandbox", "err", kerr)
		}
	}
	select {
	case <-s.done:
	case <-time.After(drainTime):
	}
	if err == nil && code == runscOwnError {
		if msg := s.stderr.String(); msg != "" {
			return code, fmt.Errorf("gvisor: runsc exec: %s", msg)
		}
	}
	return code, err
}

// runscOwnError is the status runsc exits with for its own errors (and
// what `runsc exec` reports for a command it could not start).
const runscOwnError = 128

// startError is the error of a runsc exec that exited with code before
// reporting the command's PID: its message, with the errno it names so
// that errors.Is(err, fs.ErrNotExist) works for a command not found.
func (s *sandboxExec) startError(code int) error {
	msg := s.stderr.String()
	if msg == "" {
		msg = "exited with status " + strconv.Itoa(code) + " before starting the command"
	}
	e := &runscError{Text: "gvisor: runsc exec: " + msg}
	for _, m := range runscErrnos {
		if strings.Contains(msg, m.text) {
			e.Errno = m.errno
			break
		}
	}
	// The one failure runsc words distinctly: the command was not found
	// (others, such as a missing working directory, carry the same errno).
	if strings.Contains(msg, "error finding executable") {
		return &ExecError{Path: s.command, Err: e}
	}
	return e
}

// runscErrnos are the errno texts runsc's messages end with (Go's
// syscall.Errno texts), in the order they are looked for.
var runscErrnos = []struct {
	errno syscall.Errno
	text  string
}{
	{unix.ENOENT, unix.ENOENT.Error()},
	{unix.EACCES, unix.EACCES.Error()},
	{unix.ENOEXEC, unix.ENOEXEC.Error()},
	{unix.ENOTDIR, unix.ENOTDIR.Error()},
	{unix.EPERM, unix.EPERM.Error()},
}

// runscError is a failure runsc reported, with the errno its text names.
type runscError struct {
	Text  string
	Errno syscall.Errno
}

func (e *runscError) Error() string { return e.Text }

// Unwrap returns the errno, or nil.
func (e *runscError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// sealedMemfd returns a memfd holding b, sealed against every change.
func sealedMemfd(name string, b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: %w", err)
	}
	return f, nil
}

// boundedBuffer keeps the first max bytes written to it and discards the
// rest, so that a chatty runsc never blocks on its stderr.
type boundedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// bytes returns a copy of what was kept.
func (b *boundedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf)
}

// String returns what was kept, on one line.
func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return oneLine(b.buf)
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}
