package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nucleus/internal/strictflag"
	"nucleus/probe"
	"nucleus/probe/grpcprobe"
	"nucleus/state"
)

// Exit codes.
const (
	exitSuccess = 0 // the last result is Success
	exitFailure = 1 // the last result is Failure or Unknown
	exitUsage   = 2 // bad command line, or a target that cannot be probed
)

const usage = `usage: probe (--pid N | CONTAINER) [--timeout 1s] [--interval 1s] [--count 1] exec [--] command [args...]
       probe (--pid N | CONTAINER) [...] tcp [HOST:]PORT
       probe (--pid N | CONTAINER) [...] http [HOST:]PORT [PATH]
       probe (--pid N | CONTAINER) [...] grpc [HOST:]PORT [SERVICE]

Probes the container process N lives in, from inside its namespaces, and
prints one line per result: status=<Success|Failure|Unknown> exit=<code>
duration=<d> reason=<r>, and warning=<w> when the result has one (an HTTP
redirect to another host, not followed). HOST is an IP address as seen
inside the container (default 127.0.0.1, the container's loopback); a PATH
without a leading slash gets one. A paused container is refused by exec
probes only.

  --pid N          a process of the container
  CONTAINER        a name, ID or unique ID prefix of a Docker, Podman, containerd,
                   Kubernetes (namespace/pod/container), runtime or nucleus container
  --timeout D      bound of one probe (default 1s)
  --interval D     time between probes (default 1s)
  --count N        number of probes; 0 probes until SIGINT or SIGTERM (default 1)
  --strict         exec probes run in the strict sandbox, not the container's confinement
  --worktree DIR   with --strict: a work tree with read, write and exec (repeatable)

exec probes run as the container's own process (its user, environment and
working directory), as docker exec does; these change it:
  -u, --user USER[:GROUP]  a name or id of the container's /etc/passwd (and /etc/group)
  -e, --env KEY=VAL        add or override an environment variable (repeatable)
  -w, --workdir DIR        working directory inside the container

exit codes: 0 the last result is Success; 1 it is not; 2 usage or setup error
`

// options is the parsed command line.
type options struct {
	pid      int
	name     string // CONTAINER, resolved by resolveTarget (target.go)
	timeout  time.Duration
	interval time.Duration
	count    int
	probe    probe.Probe
	strict   strictflag.Flags
	// exec probe settings
	user, dir string
	env       []string
}

var errHelp = errors.New("help requested")

func parseArgs(args []string) (*options, error) {
	o := &options{}
	f := flag.NewFlagSet("probe", flag.ContinueOnError)
	f.SetOutput(io.Discard)
	f.IntVar(&o.pid, "pid", 0, "")
	f.DurationVar(&o.timeout, "timeout", time.Second, "")
	f.DurationVar(&o.interval, "interval", time.Second, "")
	f.IntVar(&o.count, "count", 1, "")
	o.strict.Register(f)
	for _, name := range []string{"u", "user"} {
		f.StringVar(&o.user, name, "", "")
	}
	for _, name := range []string{"w", "workdir"} {
		f.StringVar(&o.dir, name, "", "")
	}
	env := func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VAL", v)
		}
		o.env = append(o.env, v)
		return nil
	}
	f.Func("e", "", env)
	f.Func("env", "", env)
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if err := o.containerArg(f); err != nil {
		return nil, err
	}
	switch {
	case o.pid <= 0 && o.name == "":
		return nil, fmt.Errorf("--pid: give the container's pid (got %d) or CONTAINER", o.pid)
	case o.timeout <= 0:
		return nil, fmt.Errorf("--timeout %v: must be positive", o.timeout)
	case o.interval < 0:
		return nil, fmt.Errorf("--interval %v: must not be negative", o.interval)
	case o.count < 0:
		return nil, fmt.Errorf("--count %d: must not be negative", o.count)
	}
	if err := o.strict.Check(); err != nil {
		return nil, err
	}
	rest := f.Args()
	if len(rest) == 0 {
		return nil, errors.New("no probe: give exec, tcp, http or grpc")
	}
	kind, rest := rest[0], rest[1:]
	if kind != "exec" && (o.user != "" || o.dir != "" || len(o.env) > 0) {
		return nil, fmt.Errorf("%s: -u, -e and -w are for exec probes", kind)
	}
	switch kind {
	case "exec":
		if len(rest) > 0 && rest[0] == "--" {
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return nil, errors.New("exec: no command")
		}
		o.probe = probe.Exec{Command: rest, User: o.user, Env: o.env, Dir: o.dir}
	case "tcp":
		if len(rest) != 1 {
			return nil, errors.New("tcp: give exactly one [HOST:]PORT")
		}
		host, port, err := parseHostPort(rest[0])
		if err != nil {
			return nil, fmt.Errorf("tcp: %w", err)
		}
		o.probe = probe.TCP{Host: host, Port: port}
	case "http":
		if len(rest) < 1 || len(rest) > 2 {
			return nil, errors.New("http: give [HOST:]PORT and an optional PATH")
		}
		host, port, err := parseHostPort(rest[0])
		if err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
		p := probe.HTTP{Host: host, Port: port, Path: "/"}
		if len(rest) == 2 {
			// The library takes "healthz" as "/healthz"; so does the CLI.
			p.Path = rest[1]
			if !strings.HasPrefix(p.Path, "/") {
				p.Path = "/" + p.Path
			}
		}
		o.probe = p
	case "grpc":
		if len(rest) < 1 || len(rest) > 2 {
			return nil, errors.New("grpc: give [HOST:]PORT and an optional SERVICE")
		}
		host, port, err := parseHostPort(rest[0])
		if err != nil {
			return nil, fmt.Errorf("grpc: %w", err)
		}
		cfg := grpcprobe.Config{Host: host, Port: port}
		if len(rest) == 2 {
			cfg.Service = rest[1]
		}
		o.probe = grpcprobe.Probe(cfg)
	default:
		return nil, fmt.Errorf("unknown probe %q: give exec, tcp, http or grpc", kind)
	}
	return o, nil
}

// parseHostPort reads PORT, HOST:PORT or [IPv6]:PORT; HOST is an IP
// address as seen inside the container (the library refuses names).
func parseHostPort(s string) (string, int, error) {
	if !strings.Contains(s, ":") {
		port, err := parsePort(s)
		return "", port, err
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
		return "", 0, fmt.Errorf("host %q: not an IP address (names are not resolved)", host)
	}
	port, err := parsePort(p)
	return host, port, err
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q: not a number from 1 to 65535", s)
	}
	return n, nil
}

// probeMain is the whole program: it returns the exit code.
func probeMain(args []string) int {
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(os.Stdout, usage)
		return exitSuccess
	}
	if err != nil {
		return usageError(err)
	}
	// A target that cannot be probed at all is a setup error, reported
	// once; from here on every outcome is a result line (a container that
	// stops while probed gives Unknown results).
	// Only an exec probe needs the container unfrozen (its command would
	// freeze too); TCP, HTTP and gRPC probes report what a paused
	// container's network answers, as the library documents.
	var st *state.ContainerState
	if o.name != "" {
		st, err = resolveTarget(o.name)
	} else {
		st, err = state.FromPID(o.pid)
	}
	if err == nil {
		o.pid = st.PID
	}
	if _, isExec := o.probe.(probe.Exec); err == nil && isExec {
		err = st.CheckRunning()
	}
	if err != nil {
		return usageError(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	last := probe.Unknown
	for i := 0; o.count == 0 || i < o.count; i++ {
		if i > 0 && !sleep(ctx, o.interval) {
			break
		}
		var popts []probe.Option
		if p := o.strict.Policy(); p != nil {
			popts = append(popts, probe.WithPolicy(*p))
		}
		res, _ := probe.RunProbe(o.pid, o.probe, o.timeout, popts...) // an error is the Unknown result's reason
		fmt.Fprintln(os.Stdout, format(res))
		last = res.Status
	}
	if last == probe.Success {
		return exitSuccess
	}
	return exitFailure
}

// sleep waits d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// format renders a result as one line of key=value pairs.
func format(r probe.Result) string {
	s := fmt.Sprintf("status=%s exit=%d duration=%s reason=%s",
		statusName(r.Status), r.ExitCode, r.Duration.Round(10*time.Microsecond), quote(r.Reason))
	if r.Warning != "" {
		s += " warning=" + quote(r.Warning)
	}
	return s
}

func statusName(s probe.Status) string {
	switch s {
	case probe.Success:
		return "Success"
	case probe.Failure:
		return "Failure"
	}
	return "Unknown"
}

// quote leaves a value without spaces, quotes or '=' as it is, and quotes
// the others (Go syntax, which also keeps newlines out of the line).
func quote(s string) string {
	if s == "" || !strings.ContainsAny(s, " \t\n\r\"=\\") && strconv.CanBackquote(s) {
		return s
	}
	return strconv.Quote(s)
}

func usageError(err error) int {
	fmt.Fprintf(os.Stderr, "probe: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	return exitUsage
}
