package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"nucleus/harden"
	"nucleus/internal/netns"
	"nucleus/state"
)

// Sentinel errors, re-exported from nucleus/state so callers can use
// errors.Is without importing it.
var (
	// ErrNotRunning: the target is not running (exited, status stopped, no PID).
	ErrNotRunning = state.ErrNotRunning
	// ErrStale: the PID now names another process (start time differs).
	ErrStale = state.ErrStale
	// ErrPermission: the caller may not enter the target.
	ErrPermission = state.ErrPermission
	// ErrUnsupported: the target cannot be probed this way (e.g. a TCP
	// probe of a gVisor sandbox without a network).
	ErrUnsupported = state.ErrUnsupported
)

// DefaultTimeout is the probe timeout RunProbe uses when given zero; it is
// kubelet's default timeoutSeconds.
const DefaultTimeout = time.Second

// DefaultMaxOutput is how much exec output or HTTP body a Result keeps: 10
// KiB, kubelet's limit.
const DefaultMaxOutput = 10 << 10

// Status is the outcome of one probe.
type Status int

const (
	// Unknown: the probe could not be run; the accompanying error says why.
	Unknown Status = iota
	// Success: the container answered as healthy.
	Success
	// Failure: the probe ran and the container answered as unhealthy (or
	// did not answer in time).
	Failure
)

// String returns "success", "failure" or "unknown".
func (s Status) String() string {
	switch s {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Unknown:
		return "unknown"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Result is the outcome of one probe.
type Result struct {
	// Status is Success, Failure or Unknown.
	Status Status
	// ExitCode is an exec probe's exit code (128+signal when it was
	// killed; 127 when the command was not found and 126 when it could not
	// be executed, as a shell reports them); zero for other probes.
	ExitCode int
	// Output is the exec probe's stdout and stderr interleaved, or the HTTP
	// response body, capped at the configured maximum (10 KiB by default).
	Output []byte
	// Reason explains a Failure: "timeout", "exit status N", "cannot run:
	// exec ...", "HTTP 503", or a dial error's text.
	Reason string
	// Warning notes something about a Success that the caller may want to
	// see, as kubelet's probe "warning" result: an HTTP redirect to another
	// host that was not followed.
	Warning string
	// Duration is the wall time the probe took.
	Duration time.Duration
}

// Healthy reports whether the probe succeeded.
func (r Result) Healthy() bool { return r.Status == Success }

// Probe is one kind of health check: Exec, TCP, HTTP, or a Dialed probe of
// another protocol (nucleus/probe/grpcprobe). The interface is sealed:
// every probe must honour the namespace and cleanup rules of this package,
// so only its own types implement it; Dialed is the way for other packages
// to add a protocol over sockets made in the target's namespace.
type Probe interface {
	// Kind is "exec", "tcp", "http", or a Dialed probe's Name ("grpc").
	Kind() string
	run(ctx context.Context, st *state.ContainerState, c *config) (Result, error)
}

// Option configures RunProbe, Run and Monitor.
type Option func(*config)

type config struct {
	logger    *slog.Logger
	policy    *harden.Policy
	maxOutput int
	maxHeader int
	runsc     string
	// handle is a Monitor's open handle on the target's network namespace,
	// reused across its probes. It is keyed by a pidfd and re-checks that
	// process before every socket, so it cannot outlive the target.
	handle *netns.Handle
}

// withHandle makes network probes use h (see config.handle).
func withHandle(h *netns.Handle) Option {
	return func(c *config) { c.handle = h }
}

func newConfig(opts []Option) *config {
	c := &config{logger: discard, maxOutput: DefaultMaxOutput, maxHeader: DefaultMaxHeaderBytes}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

var discard = slog.New(slog.DiscardHandler)

// WithLogger sends debug records of each probe to l. The package never
// writes to stdout or stderr.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithPolicy sets the hardening policy of exec probes (default: the
// container's own confinement, harden.ContainerPolicy, as a kubelet exec
// probe through runc gets it). TCP and HTTP probes run no process and
// ignore it.
func WithPolicy(p harden.Policy) Option {
	return func(c *config) { c.policy = &p }
}

// WithRunsc names the runsc binary that runs Exec probes in a gVisor
// sandbox (`runsc exec`); by default it is runsc in PATH. TCP and HTTP
// probes and other targets ignore it.
func WithRunsc(path string) Option {
	return func(c *config) { c.runsc = path }
}

// WithMaxOutput sets how many bytes of exec output or HTTP body a Result
// keeps (default 10 KiB); n <= 0 keeps the default.
func WithMaxOutput(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxOutput = n
		}
	}
}

// WithMaxHeaderBytes caps the status line and headers of an HTTP probe's
// response (default DefaultMaxHeaderBytes, 16 KiB); a longer header is a
// Failure whose Reason names the cap. n <= 0 keeps the default.
func WithMaxHeaderBytes(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxHeader = n
		}
	}
}

// RunProbe probes the process pid, which need not be described by any state
// file: the target is built with state.FromPID, which finds out whether it
// lives in its own user namespace (rootless) and whether it is a gVisor
// sandbox supervisor (its command line is runsc-sandbox, or runsc with
// "boot"), which is probed through runsc (see the package documentation,
// gVisor). timeout <=
// 0 means DefaultTimeout (1 s).
//
// A non-nil error always comes with Status Unknown: the probe could not run.
// A probe that ran and failed returns Status Failure and a nil error.
func RunProbe(pid int, p Probe, timeout time.Duration, opts ...Option) (Result, error) {
	start := time.Now()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	unknown := func(err error) (Result, error) {
		return Result{Status: Unknown, Reason: err.Error(), Duration: time.Since(start)}, err
	}
	if pid <= 0 {
		return unknown(fmt.Errorf("probe: invalid pid %d: %w", pid, ErrNotRunning))
	}
	st, err := state.FromPID(pid)
	if err != nil {
		return unknown(fmt.Errorf("probe: target %d: %w", pid, err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := Run(ctx, st, p, opts...)
	res.Duration = time.Since(start)
	return res, err
}

// Run probes the container st. The probe's timeout is ctx's deadline: when
// it expires the probe fails with Reason "timeout" (exec) or a timeout dial
// error (TCP, HTTP). Cancelling ctx without a deadline expiring yields
// Unknown and the context's error.
//
// A non-nil error always comes with Status Unknown; see RunProbe.
func Run(ctx context.Context, st *state.ContainerState, p Probe, opts ...Option) (Result, error) {
	start := time.Now()
	c := newConfig(opts)
	res, err := run(ctx, st, p, c)
	if err != nil {
		res = Result{Status: Unknown, Reason: err.Error()}
	}
	res.Duration = time.Since(start)
	c.logger.Debug("probe", "kind", kindOf(p), "status", res.Status.String(),
		"reason", res.Reason, "duration", res.Duration, "err", err)
	return res, err
}

func kindOf(p Probe) string {
	if p == nil {
		return ""
	}
	return p.Kind()
}

func run(ctx context.Context, st *state.ContainerState, p Probe, c *config) (Result, error) {
	if p == nil {
		return Result{}, errors.New("probe: nil probe")
	}
	if st == nil {
		return Result{}, errors.New("probe: nil container state")
	}
	if err := checkTarget(st, p); err != nil {
		return Result{}, fmt.Errorf("probe: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return ctxResult(ctx)
	}
	return p.run(ctx, st, c)
}

// checkTarget refuses a target that is not running before any work.
//
// Exec probes get the full st.CheckRunning from the engine (launch.Start),
// which also refuses a frozen (paused) cgroup: a command joining it would
// freeze too. TCP and HTTP probes only need what CheckRunning decides from
// the state itself (status, PID, recorded start ticks); liveness, start
// ticks and a zombie target are then checked by netns.Open through a pidfd,
// which it needs anyway. They skip the freezer lookup, which costs more
// than the whole probe (it resolves the cgroup mounts), and report what a
// frozen container's network answers: the kernel still completes TCP
// handshakes (TCP Success), nothing answers HTTP (timeout Failure), exactly
// what kubelet, dialling from the host, sees of a paused container.
func checkTarget(st *state.ContainerState, p Probe) error {
	if _, ok := p.(Exec); ok {
		return nil
	}
	if _, ok := p.(*Exec); ok {
		return nil
	}
	switch {
	case st.Status == state.StatusStopped, st.Status == state.StatusPaused, st.PID <= 0, st.StartTicks == 0:
		// CheckRunning returns before its freezer lookup in these
		// cases, with the right sentinel and message.
		if err := st.CheckRunning(); err != nil {
			return err
		}
	}
	return nil
}

// ctxResult is the outcome once ctx has ended: its deadline passing is a
// probe timeout (Failure), a cancellation is not the container's fault
// (Unknown).
func ctxResult(ctx context.Context) (Result, error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Result{Status: Failure, Reason: "timeout"}, nil
	}
	return Result{}, fmt.Errorf("probe: %w", ctx.Err())
}

// capWriter keeps the first max bytes written to it and discards the rest
// while still reporting success, so whoever copies a child's output never
// stops reading and the child never blocks on a full pipe. Safe for the
// concurrent stdout and stderr copiers.
type capWriter struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - len(w.buf); room > 0 {
		if len(p) > room {
			w.buf = append(w.buf, p[:room]...)
			w.truncated = true
		} else {
			w.buf = append(w.buf, p...)
		}
	} else if len(p) > 0 {
		w.truncated = true
	}
	return len(p), nil
}

func (w *capWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.buf...)
}
