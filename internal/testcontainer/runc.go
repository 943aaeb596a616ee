package testcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// RuncOptions says what runc container StartRunc makes. The zero value is
// `sleep infinity` as uid 0 with hostname "nucleus-runc".
type RuncOptions struct {
	// Hostname is the container's hostname (default "nucleus-runc").
	Hostname string
	// Args is the container's command (default sleep infinity).
	Args []string
	// UID, GID and AdditionalGIDs are process.user of config.json.
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Confinement is process.capabilities, noNewPrivileges and
	// linux.seccomp of config.json.
	Confinement
	// Image is process.env and process.cwd of config.json, and the files
	// laid out in the rootfs before the start.
	Image
	// Rlimits are process.rlimits of config.json.
	Rlimits []Rlimit
	// Annotations are annotations of config.json (what an engine writes
	// there, CRI-O's io.kubernetes.* for one).
	Annotations map[string]string
}

// RuncContainer is a container made by runc from a bundle StartRunc wrote.
// Its exported fields are read-only.
type RuncContainer struct {
	// ID is the runc container id, unique per test process.
	ID string
	// Runc is the runc binary.
	Runc string
	// Root is runc's state directory for this container (runc --root).
	Root string
	// Bundle is the OCI bundle directory, holding config.json.
	Bundle string
	// Rootfs is the container's root directory on the host (root.path of
	// config.json, an absolute path outside the bundle).
	Rootfs string
	// PID is the container's init as the host sees it, from runc's pid file.
	PID int
	// Hostname is the container's hostname.
	Hostname string
}

var runcSeq atomic.Int64

// RuncBinary returns the runc to use: runc in PATH, else /usr/sbin/runc
// (Debian's package; root's PATH has /usr/sbin, a test's may not).
func RuncBinary() (string, error) {
	if p, err := exec.LookPath("runc"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/sbin/runc"); err == nil && fi.Mode().IsRegular() {
		return "/usr/sbin/runc", nil
	}
	return "", errors.New("runc not found in PATH or /usr/sbin (apt-get install runc)")
}

// RequireRunc is RequireRoot plus: runc must be installed. Without runc the
// test is skipped, unless NUCLEUS_REQUIRE_ROOT=1 (CI, which installs runc),
// where it fails.
func RequireRunc(t testing.TB) string {
	t.Helper()
	return requireBinary(t, RuncBinary)
}

// requireBinary is RequireRoot plus a runtime binary that find locates:
// skipped without it, failed under NUCLEUS_REQUIRE_ROOT=1 (CI installs it).
func requireBinary(t testing.TB, find func() (string, error)) string {
	t.Helper()
	RequireRoot(t)
	p, err := find()
	if err != nil {
		if os.Getenv("NUCLEUS_REQUIRE_ROOT") == "1" {
			t.Fatalf("testcontainer: %v (NUCLEUS_REQUIRE_ROOT=1)", err)
		}
		t.Skipf("testcontainer: %v", err)
	}
	return p
}

// StartRunc builds a bundle (the busybox rootfs of Start and a config.json
// written here) and runs it detached with `runc --root <tmp> run -d`. The
// container has its own pid, ipc, uts, mount, network and cgroup
// namespaces, no terminal, a writable rootfs, and cgroups at the relative
// cgroupsPath nucleus-runc/<id> (below the caller's own cgroups in every
// hierarchy; runc 1.1's cgroupfs manager handles hybrid v1+v2 hosts).
// The test's cleanup runs `runc delete --force` and removes the bundle,
// rootfs and runc root.
func StartRunc(t testing.TB, opts RuncOptions) *RuncContainer {
	t.Helper()
	runc := RequireRunc(t)
	if opts.Hostname == "" {
		opts.Hostname = "nucleus-runc"
	}
	if len(opts.Args) == 0 {
		opts.Args = []string{"sleep", "infinity"}
	}
	c := &RuncContainer{
		ID:       fmt.Sprintf("nucleus-%d-%d", os.Getpid(), runcSeq.Add(1)),
		Runc:     runc,
		Hostname: opts.Hostname,
	}
	t.Cleanup(func() {
		if err := c.remove(); err != nil {
			t.Errorf("testcontainer: runc container %s: %v", c.ID, err)
		}
	})
	if err := c.start(opts); err != nil {
		t.Fatalf("testcontainer: runc container %s: %v", c.ID, err)
	}
	return c
}

func (c *RuncContainer) start(opts RuncOptions) error {
	bd, err := makeBundle("runc", bundleSpec{
		Hostname: opts.Hostname, Args: opts.Args,
		UID: opts.UID, GID: opts.GID, AdditionalGIDs: opts.AdditionalGIDs,
		Confinement: opts.Confinement, Image: opts.Image, Rlimits: opts.Rlimits, Annotations: opts.Annotations,
		Namespaces:  []string{"pid", "ipc", "uts", "mount", "network", "cgroup"},
		CgroupsPath: "nucleus-runc/" + c.ID,
	})
	c.Rootfs, c.Bundle, c.Root = bd.Rootfs, bd.Dir, bd.Root
	if err != nil {
		return err
	}
	// runc run -d leaves the container holding the stdio it was given: a
	// pipe would keep a reader waiting for ever, so it gets a file.
	logPath := filepath.Join(c.Bundle, "runc.out")
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer out.Close()
	pidFile := filepath.Join(c.Bundle, "pid")
	cmd := exec.Command(c.Runc, "--root", c.Root, "run", "-d", "--pid-file", pidFile, "--bundle", c.Bundle, c.ID)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(logPath)
		return fmt.Errorf("runc run: %w: %s", err, bytes.TrimSpace(msg))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("runc run: pid file: %w", err)
	}
	if c.PID, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		return fmt.Errorf("runc run: pid file %q: %w", b, err)
	}
	return nil
}

// Cmd returns `runc --root <root> args...`.
func (c *RuncContainer) Cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.Runc, append([]string{"--root", c.Root}, args...)...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (c *RuncContainer) cli() runtimeCLI { return runtimeCLI{name: "runc", id: c.ID, cmd: c.Cmd} }

// Run runs `runc --root <root> args...` and returns its combined output.
func (c *RuncContainer) Run(args ...string) ([]byte, error) {
	return c.cli().run(args...)
}

// State returns what `runc state <id>` prints: the OCI runtime state.
func (c *RuncContainer) State() ([]byte, error) {
	return c.cli().state()
}

// Exec runs `runc exec <id> args...` and returns its stdout and exit code
// (runc passes the command's on, 255 for its own errors); err is only set
// when runc could not be run at all.
func (c *RuncContainer) Exec(args ...string) (string, int, error) {
	return c.cli().exec(nil, args...)
}

// remove deletes the container (runc delete --force kills and reaps its
// processes and removes its cgroups) and the bundle, rootfs and root.
func (c *RuncContainer) remove() error {
	var errs []error
	if c.Root != "" {
		out, err := c.Cmd("delete", "--force", c.ID).CombinedOutput()
		if err != nil && !bytes.Contains(out, []byte("does not exist")) {
			errs = append(errs, fmt.Errorf("runc delete: %w: %s", err, bytes.TrimSpace(out)))
		}
	}
	errs = append(errs, removeBundle(bundle{Rootfs: c.Rootfs, Dir: c.Bundle, Root: c.Root}))
	return errors.Join(errs...)
}
