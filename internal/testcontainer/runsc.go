package testcontainer

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"nucleus/state"
)

// RunscOptions says what gVisor container StartRunsc makes. The zero value
// is the test helper's reaper as PID 1 (it collects orphans, as an init
// must), as uid 0, with hostname "nucleus-runsc" and no network
// (--network=none).
type RunscOptions struct {
	// Hostname is the container's hostname (default "nucleus-runsc").
	Hostname string
	// Args is the container's command (default: nucleus-testhelper reaper,
	// with -listen Listen).
	Args []string
	// Listen, with the default Args, is an address (host:port) on which
	// PID 1 serves HTTP: GET /healthz → 200, /status/404 → 404, others
	// 200.
	Listen string
	// UID, GID and AdditionalGIDs are process.user of config.json.
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Network is runsc's --network: "none" (default: the sandbox kernel
	// has a loopback only), "host" (the sandbox's sockets are host sockets,
	// in the caller's network namespace: the spec then has no network
	// namespace) or "sandbox" (gVisor's own network stack on the
	// interfaces of the sandbox's network namespace, which is NetNSPath).
	Network string
	// NetNSPath, with Network "sandbox", is an existing network namespace
	// (/var/run/netns/NAME) for the sandbox; runsc moves the addresses of
	// its interfaces into the sandbox kernel. Empty: a new, empty one.
	NetNSPath string
	// Confinement is process.capabilities, noNewPrivileges and
	// linux.seccomp of config.json.
	Confinement
}

// RunscContainer is a gVisor container made by runsc from a bundle
// StartRunsc wrote. Its exported fields are read-only.
type RunscContainer struct {
	// ID is the container id, unique per test process.
	ID string
	// Runsc is the runsc binary.
	Runsc string
	// Root is runsc's state directory for this container (runsc --root).
	Root string
	// Bundle is the OCI bundle directory, holding config.json.
	Bundle string
	// Rootfs is the container's root directory on the host.
	Rootfs string
	// PID is the sandbox supervisor (runsc-sandbox … boot), what `runsc
	// state` reports as the container's pid.
	PID int
	// Hostname is the container's hostname.
	Hostname string
	// Network is runsc's --network for the sandbox.
	Network string
}

var runscSeq atomic.Int64

// RunscBinary returns the runsc to use: runsc in PATH, else the one `go
// install` puts in GOBIN or GOPATH/bin (what .ci/run builds). It must be
// statically linked: a dynamically linked runsc fails inside its own
// chroot ("error executing umounter").
func RunscBinary() (string, error) {
	p, err := exec.LookPath("runsc")
	if err != nil {
		dir := os.Getenv("GOBIN")
		if dir == "" {
			dir = filepath.Join(build.Default.GOPATH, "bin")
		}
		p = filepath.Join(dir, "runsc")
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return "", errors.New("runsc not found in PATH or " + dir + " (CGO_ENABLED=0 go install gvisor.dev/gvisor/runsc@v0.0.0-20260905035102-160fafc42237)")
		}
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("runsc %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("runsc %s is dynamically linked; build a static one with CGO_ENABLED=0", p)
		}
	}
	return p, nil
}

// RequireRunsc is RequireRoot plus: a static runsc must be installed
// (RunscBinary). Without it the test is skipped, unless
// NUCLEUS_REQUIRE_ROOT=1 (CI, which builds runsc), where it fails.
func RequireRunsc(t testing.TB) string {
	t.Helper()
	return requireBinary(t, RunscBinary)
}

// StartRunsc builds a bundle (the busybox rootfs of Start and the
// config.json of StartRunc, without cgroups) and runs it detached with
// `runsc --root <tmp> --platform=systrap --network=<opts.Network>
// --ignore-cgroups --gofer-network-namespace=new run -detach`: systrap needs
// no KVM or ptrace, cgroups are left alone, and the gofer (the sandbox's
// file server) gets an empty network namespace of its own. The sandbox has
// its own pid, ipc, uts and mount namespaces and, unless Network is "host",
// its own network namespace. The test's cleanup runs `runsc delete
// --force` and removes the runsc root, bundle and rootfs.
func StartRunsc(t testing.TB, opts RunscOptions) *RunscContainer {
	t.Helper()
	runsc := RequireRunsc(t)
	if opts.Hostname == "" {
		opts.Hostname = "nucleus-runsc"
	}
	if len(opts.Args) == 0 {
		opts.Args = []string{"/bin/" + helperName, "reaper"}
		if opts.Listen != "" {
			opts.Args = append(opts.Args, "-listen", opts.Listen)
		}
	}
	if opts.Network == "" {
		opts.Network = "none"
	}
	c := &RunscContainer{
		ID:       fmt.Sprintf("nucleus-gv-%d-%d", os.Getpid(), runscSeq.Add(1)),
		Runsc:    runsc,
		Hostname: opts.Hostname,
		Network:  opts.Network,
	}
	t.Cleanup(func() {
		if err := c.remove(); err != nil {
			t.Errorf("testcontainer: runsc container %s: %v", c.ID, err)
		}
	})
	if err := c.start(opts); err != nil {
		t.Fatalf("testcontainer: runsc container %s: %v", c.ID, err)
	}
	return c
}

func (c *RunscContainer) start(opts RunscOptions) error {
	ns := []string{"pid", "ipc", "uts", "mount"}
	switch opts.Network {
	case "none", "sandbox":
		ns = append(ns, "network")
	case "host":
	default:
		return fmt.Errorf("network %q: want none, host or sandbox", opts.Network)
	}
	bd, err := makeBundle("runsc", bundleSpec{
		Hostname: opts.Hostname, Args: opts.Args,
		UID: opts.UID, GID: opts.GID, AdditionalGIDs: opts.AdditionalGIDs,
		Namespaces: ns, NetNSPath: opts.NetNSPath,
		Confinement: opts.Confinement,
	})
	c.Rootfs, c.Bundle, c.Root = bd.Rootfs, bd.Dir, bd.Root
	if err != nil {
		return err
	}
	// The container keeps the stdio runsc run is given: a pipe would keep a
	// reader waiting for ever, so it gets a file (which the sandbox writes
	// from offset 0: it is only a log).
	logPath := filepath.Join(c.Bundle, "runsc.out")
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := c.Cmd("run", "-detach", "--bundle", c.Bundle, c.ID)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(logPath)
		return fmt.Errorf("runsc run: %w: %s", err, bytes.TrimSpace(msg))
	}
	st, err := c.ociState()
	if err != nil {
		return err
	}
	if st.Status != "running" || st.PID <= 0 {
		return fmt.Errorf("runsc run: container is %q with pid %d", st.Status, st.PID)
	}
	c.PID = st.PID
	return nil
}

// Cmd returns `runsc --root <root> <the flags StartRunsc documents>
// args...`.
func (c *RunscContainer) Cmd(args ...string) *exec.Cmd {
	global := []string{"--root", c.Root, "--platform=systrap", "--network=" + c.Network,
		"--ignore-cgroups", "--gofer-network-namespace=new"}
	cmd := exec.Command(c.Runsc, append(global, args...)...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (c *RunscContainer) cli() runtimeCLI { return runtimeCLI{name: "runsc", id: c.ID, cmd: c.Cmd} }

// Run runs `runsc ... args...` and returns its combined output (through a
// pipe: runsc hands its stdio to the sandbox, which writes a regular file
// from offset 0).
func (c *RunscContainer) Run(args ...string) ([]byte, error) {
	return c.cli().run(args...)
}

// StateJSON returns what `runsc state <id>` prints: the OCI runtime state.
func (c *RunscContainer) StateJSON() ([]byte, error) {
	return c.cli().state()
}

type ociStateJSON struct {
	Status string `json:"status"`
	PID    int    `json:"pid"`
}

func (c *RunscContainer) ociState() (*ociStateJSON, error) {
	b, err := c.StateJSON()
	if err != nil {
		return nil, err
	}
	var st ociStateJSON
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("runsc state: %w", err)
	}
	return &st, nil
}

// State returns the container as nucleus sees it: `runsc state` read by
// state.FromOCI (UsingGVisor set, RuntimeRoot the runsc root).
func (c *RunscContainer) State() (*state.ContainerState, error) {
	b, err := c.StateJSON()
	if err != nil {
		return nil, err
	}
	return state.FromOCI(bytes.NewReader(b))
}

// Exec runs `runsc exec <id> args...` and returns its stdout and exit code
// (runsc passes the command's on, 128+signal when it was killed, 128 for
// its own errors); err is only set when runsc could not be run at all.
func (c *RunscContainer) Exec(args ...string) (string, int, error) {
	return c.ExecWith(nil, args...)
}

// ExecWith is Exec with runsc exec flags (such as --user or --cwd) before
// the container id.
func (c *RunscContainer) ExecWith(flags []string, args ...string) (string, int, error) {
	return c.cli().exec(flags, args...)
}

// SandboxProcess is one process of the sandbox kernel, as `runsc ps`
// lists it.
type SandboxProcess struct {
	PID, PPID, PGID int
	Cmd             string
}

// Ps lists the container's processes in the sandbox (`runsc ps`; its JSON
// form has the PIDs only).
func (c *RunscContainer) Ps() ([]SandboxProcess, error) {
	out, err := c.Cmd("ps", c.ID).Output()
	if err != nil {
		return nil, fmt.Errorf("runsc ps: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "UID") {
		return nil, fmt.Errorf("runsc ps: unexpected output %q", out)
	}
	var ps []SandboxProcess
	for _, l := range lines[1:] {
		// UID PID PPID PGID C TTY STIME TIME CMD
		f := strings.Fields(l)
		if len(f) < 9 {
			return nil, fmt.Errorf("runsc ps: unexpected line %q", l)
		}
		var p SandboxProcess
		if _, err := fmt.Sscan(strings.Join(f[1:4], " "), &p.PID, &p.PPID, &p.PGID); err != nil {
			return nil, fmt.Errorf("runsc ps: line %q: %w", l, err)
		}
		p.Cmd = f[8]
		ps = append(ps, p)
	}
	return ps, nil
}

// remove deletes the container (runsc delete --force kills the sandbox and
// its gofer) and removes the runsc root, bundle and rootfs.
func (c *RunscContainer) remove() error {
	var errs []error
	if c.Root != "" {
		out, err := c.Cmd("delete", "--force", c.ID).CombinedOutput()
		if err != nil && !bytes.Contains(out, []byte("does not exist")) && !bytes.Contains(out, []byte("not found")) {
			errs = append(errs, fmt.Errorf("runsc delete: %w: %s", err, bytes.TrimSpace(out)))
		}
	}
	errs = append(errs, removeBundle(bundle{Rootfs: c.Rootfs, Dir: c.Bundle, Root: c.Root}))
	return errors.Join(errs...)
}
