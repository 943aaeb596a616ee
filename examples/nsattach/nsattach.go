package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"nucleus/attach"
	"nucleus/internal/strictflag"
	"nucleus/state"
)

// Exit codes of nsattach's own making (otherwise it exits with the
// command's code): those of a POSIX shell for a command that cannot be run,
// runc's for its own errors.
const (
	exitCannotInvoke = 126
	exitNotFound     = 127
	exitOwnError     = 255
)

// options is the parsed command line.
type options struct {
	pid      int
	state    string
	ociState string
	name     string // CONTAINER: a name, ID or unique ID prefix (target.go)
	list     bool   // --list: print the containers the engines show
	user     string
	groups   string
	dir      string
	env      []string
	cleanEnv bool
	tty      bool
	strict   strictflag.Flags
	command  []string
	// hostBinary runs a host executable inside (attach.WithHostBinary);
	// dynamic accepts a dynamically linked one.
	hostBinary string
	dynamic    bool
}

const usage = `usage: nsattach [options] CONTAINER [--] command [args...]
       nsattach (--pid N | --state FILE | --oci-state FILE|-) [options] [--] command [args...]
       nsattach --list

Runs command inside a running container, hardened, and exits with its code.

CONTAINER is a name, an ID or a unique ID prefix of a Docker, Podman,
containerd (namespace/id), Kubernetes (namespace/pod/container), runc, crun,
runsc or nucleus container (DOCKER_HOST and CONTAINER_HOST are honoured;
containerd's and Kubernetes' running containers are read from the runtime
roots and bundles containerd keeps under /run/containerd, with no gRPC).

options:
  --list              print the containers the engines show and exit
  --pid N             the container is the one process N lives in
  --state FILE        a nucleus state file
  --oci-state FILE|-  the JSON of 'runc state ID' (or crun, runsc); - reads stdin
  -u, --user USER[:GROUP]
                      run as USER (a name or uid of the container's /etc/passwd)
                      and GROUP, as docker exec -u does (default: the container's user)
  -g gid,gid...       supplementary groups (default: the container's, or -u's);
                      with -g, -u must be numeric: uid[:gid]
  -w, --workdir DIR   working directory inside the container (default: the container's)
  -e, --env KEY=VAL   add or override an environment variable (repeatable; default:
                      the container's environment, with PATH and HOME when missing)
  --clean-env         start from an empty environment instead of the container's
  -t                  give the command a new pseudo-terminal
  --strict            the strict sandbox instead of the container's own confinement
  --worktree DIR      with --strict: a work tree with read, write and exec (repeatable)
  --host-binary PATH  run the static host executable PATH inside, command being its argv
                      (e.g. --host-binary /bin/busybox -- sh, in an image without a shell)
  --dynamic           accept a dynamically linked --host-binary (it loads the container's libc)

       nsattach cp (--pid N | --state FILE | --oci-state FILE|-) [-u uid[:gid]] SRC :DST
       nsattach cp (--pid N | --state FILE | --oci-state FILE|-) [-u uid[:gid]] :SRC DST
copies into or out of the container (":" marks its side; "-" is a tar stream on stdin/stdout)

exit codes: the command's; 126 cannot invoke it; 127 not found; 255 nsattach's own error
`

// errHelp asks for the usage text and a zero exit.
var errHelp = errors.New("help requested")

// parseArgs reads the command line with the standard flag package (which
// takes -flag and --flag alike and stops at the first argument that is not
// a flag, or after --).
func parseArgs(args []string) (*options, error) {
	o := &options{}
	f := flag.NewFlagSet("nsattach", flag.ContinueOnError)
	f.SetOutput(io.Discard)
	f.IntVar(&o.pid, "pid", 0, "")
	f.StringVar(&o.state, "state", "", "")
	f.StringVar(&o.ociState, "oci-state", "", "")
	f.BoolVar(&o.list, "list", false, "")
	f.StringVar(&o.user, "u", "", "")
	f.StringVar(&o.user, "user", "", "")
	f.StringVar(&o.groups, "g", "", "")
	f.StringVar(&o.dir, "w", "", "")
	f.StringVar(&o.dir, "workdir", "", "")
	env := func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q is not KEY=VAL", v)
		}
		o.env = append(o.env, v)
		return nil
	}
	f.Func("e", "", env)
	f.Func("env", "", env)
	f.BoolVar(&o.cleanEnv, "clean-env", false, "")
	f.BoolVar(&o.tty, "t", false, "")
	f.StringVar(&o.hostBinary, "host-binary", "", "")
	f.BoolVar(&o.dynamic, "dynamic", false, "")
	o.strict.Register(f)
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	rest := f.Args()
	switch n := btoi(set["pid"]) + btoi(set["state"]) + btoi(set["oci-state"]); {
	case o.list:
		if n > 0 || len(rest) > 0 {
			return nil, errors.New("--list takes no target and no command")
		}
		return o, nil
	case n == 0:
		if o.name, rest = containerArg(rest); o.name == "" {
			return nil, errors.New("no target: give CONTAINER (a name, ID or ID prefix), --pid, --state or --oci-state")
		}
	case n > 1:
		return nil, errors.New("give only one of --pid, --state and --oci-state")
	case set["pid"] && o.pid <= 0:
		return nil, fmt.Errorf("invalid pid %d", o.pid)
	case set["state"] && o.state == "", set["oci-state"] && o.ociState == "":
		return nil, errors.New("empty state file name")
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	o.command = rest
	if len(o.command) == 0 {
		return nil, errors.New("no command")
	}
	if err := o.strict.Check(); err != nil {
		return nil, err
	}
	return o, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// target loads the container the options name.
func (o *options) target() (*state.ContainerState, error) {
	switch {
	case o.name != "":
		return resolveTarget(o.name)
	case o.pid != 0:
		return state.FromPID(o.pid)
	case o.state != "":
		return state.LoadFile(o.state)
	case o.ociState == "-":
		return state.FromOCI(os.Stdin)
	default:
		f, err := os.Open(o.ociState)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return state.FromOCI(f)
	}
}

// identity returns the identity -g (with a numeric -u) asks for, nil
// without -g: then -u, if given, is a user spec the container resolves
// (attach.WithUser). With -g, -u must be uid or uid:gid; a uid without a
// gid keeps the container's gid.
func (o *options) identity(st *state.ContainerState) (*state.ProcessIdentity, error) {
	if o.groups == "" {
		return nil, nil
	}
	id := st.Identity()
	if o.user != "" {
		u, g, hasGID := strings.Cut(o.user, ":")
		uid, err := parseID(u)
		if err != nil {
			return nil, fmt.Errorf("-u %q with -g: %w", o.user, err)
		}
		id.UID = uid
		if hasGID {
			if id.GID, err = parseID(g); err != nil {
				return nil, fmt.Errorf("-u %q with -g: %w", o.user, err)
			}
		}
	}
	id.AdditionalGIDs = nil
	for _, g := range strings.Split(o.groups, ",") {
		gid, err := parseID(g)
		if err != nil {
			return nil, fmt.Errorf("-g %q: %w", o.groups, err)
		}
		id.AdditionalGIDs = append(id.AdditionalGIDs, gid)
	}
	return &id, nil
}

// parseID reads a numeric uid or gid. 4294967295 is (uid_t)-1, which the
// set*id calls take as "unchanged": refused.
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, fmt.Errorf("%q is not a numeric id", s)
	}
	return uint32(n), nil
}

// nsattach is the whole program: it returns the exit code.
func nsattach(args []string) int {
	// Caught from here on (signals.go). Until the start, one ends
	// nsattach as its default action would (a slow engine lookup, --list,
	// cp); from the start on, it waits in sigs until the command runs,
	// then goes to it.
	sigs, err := catchForwarded()
	if err != nil {
		return fail(fmt.Errorf("signal forwarding: %w", err))
	}
	starting := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			dieBy(sig)
		case <-starting:
		}
	}()
	if len(args) > 0 && args[0] == "cp" {
		return cp(args[1:]) // cp.go
	}
	o, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(os.Stdout, usage)
		return 0
	}
	if err != nil {
		return fail(err)
	}
	if o.list {
		return listContainers(os.Stdout)
	}
	st, err := o.target()
	if err != nil {
		return fail(err)
	}
	id, err := o.identity(st)
	if err != nil {
		return fail(err)
	}
	opts := []attach.Option{}
	switch {
	case id != nil:
		opts = append(opts, attach.WithIdentity(*id))
	case o.user != "":
		opts = append(opts, attach.WithUser(o.user))
	}
	if o.cleanEnv {
		opts = append(opts, attach.WithCleanEnv())
	}
	if o.dir != "" {
		opts = append(opts, attach.WithDir(o.dir))
	}
	if len(o.env) > 0 {
		opts = append(opts, attach.WithEnv(o.env...))
	}
	if o.tty {
		opts = append(opts, attach.WithTTY())
	} else {
		opts = append(opts, attach.WithStdio(pipedStdio()))
	}
	if o.hostBinary != "" {
		opts = append(opts, attach.WithHostBinary(o.hostBinary))
	}
	if o.dynamic {
		opts = append(opts, attach.WithDynamicHostBinary())
	}
	if p := o.strict.Policy(); p != nil {
		opts = append(opts, attach.WithPolicy(*p))
	}

	close(starting)
	p, err := attach.Start(context.Background(), st, o.command, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nsattach: %v\n", oneLine(err))
		return startExitCode(err)
	}
	if o.tty {
		restore := terminal(p.Console())
		defer restore()
	}
	done := make(chan struct{})
	forwarding := make(chan struct{})
	go func() {
		defer close(forwarding)
		for {
			select {
			case sig := <-sigs:
				_ = p.Signal(sig) // after the exit: os.ErrProcessDone, nothing to do
			case <-done:
				return
			}
		}
	}()
	code, err := p.Wait()
	close(done)
	<-forwarding
	if err != nil {
		return fail(err)
	}
	return code
}

// startExitCode maps a failure to start the command to an exit code, as a
// shell and runc do: a command that was not found is 127, one that could
// not be invoked (permission denied, not executable, refused by Landlock)
// 126; everything else — a target that cannot be entered, a hardening step
// that failed, a working directory that does not exist — is nsattach's own
// error (255).
func startExitCode(err error) int {
	var ee *attach.ExecError
	switch {
	case !errors.As(err, &ee):
		return exitOwnError
	case errors.Is(ee, fs.ErrNotExist):
		return exitNotFound
	default:
		return exitCannotInvoke
	}
}

// fail reports one of nsattach's own errors and returns 255.
func fail(err error) int {
	fmt.Fprintf(os.Stderr, "nsattach: %v\n", oneLine(err))
	return exitOwnError
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
