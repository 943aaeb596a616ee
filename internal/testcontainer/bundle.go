package testcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bundleSpec says what the config.json of an OCI bundle made for a test
// holds: what StartRunc and StartRunsc share.
type bundleSpec struct {
	// Hostname of the container; it also goes in the rootfs's /etc/hostname.
	Hostname string
	// Args is process.args.
	Args []string
	// UID, GID and AdditionalGIDs are process.user.
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Namespaces are the types of linux.namespaces to create.
	Namespaces []string
	// NetNSPath, when not empty, is the path of an existing network
	// namespace to join instead of creating one.
	NetNSPath string
	// CgroupsPath is linux.cgroupsPath; "" leaves it out.
	CgroupsPath string
	// Confinement is the process's capabilities, no_new_privs and seccomp.
	Confinement
	// Image is the image's part of the process: ENV, WORKDIR, files.
	Image
	// Rlimits are process.rlimits.
	Rlimits []Rlimit
	// Annotations are the config's annotations; nil leaves them out.
	Annotations map[string]string
}

// Confinement is the security part of an OCI config's process (what the
// runtime confines the container's processes with). The zero value is what
// `runc spec` writes with the capabilities removed: no capabilities,
// no_new_privs, no seccomp profile.
type Confinement struct {
	// Capabilities go in the bounding, effective and permitted sets of
	// process.capabilities, as Docker sets them (e.g. DockerCapabilities).
	Capabilities []string
	// AllowNewPrivileges writes noNewPrivileges false (Docker's default).
	AllowNewPrivileges bool
	// Seccomp is linux.seccomp.
	Seccomp *specs.LinuxSeccomp
}

// DockerCapabilities are the 14 capabilities Docker gives a container by
// default.
var DockerCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Image is what an image gives the container's process: its ENV
// (process.env; nil is PATH and TERM), its WORKDIR (process.cwd; "" is
// "/") and its files (Prepare, when set, is called with the rootfs once it
// is built and before the container starts).
type Image struct {
	Env     []string
	Cwd     string
	Prepare func(rootfs string) error
}

// Rlimit is one entry of process.rlimits.
type Rlimit struct {
	Type       string // "RLIMIT_NOFILE", ...
	Hard, Soft uint64
}

// bundle is an OCI bundle on disk and the state directory of the runtime
// that runs it.
type bundle struct {
	// Rootfs is the container's root directory on the host (root.path of
	// config.json, an absolute path outside the bundle).
	Rootfs string
	// Dir is the bundle directory, holding config.json.
	Dir string
	// Root is the runtime's state directory (--root), mode 0700.
	Root string
}

// makeBundle builds a fresh busybox rootfs (buildRootfs), a bundle
// directory with config.json for spec, and a runtime state directory, all
// new temporary directories named after kind. What was made is returned
// even on error, for removeBundle.
func makeBundle(kind string, spec bundleSpec) (bundle, error) {
	var b bundle
	var err error
	if b.Rootfs, err = buildRootfs(spec.Hostname, 0, false); err != nil {
		return b, err
	}
	if b.Dir, err = os.MkdirTemp("", "nucleus-"+kind+"-bundle-"); err != nil {
		return b, err
	}
	if b.Root, err = os.MkdirTemp("", "nucleus-"+kind+"-root-"); err != nil {
		return b, err
	}
	if spec.Prepare != nil {
		if err := spec.Prepare(b.Rootfs); err != nil {
			return b, fmt.Errorf("prepare rootfs: %w", err)
		}
	}
	cfg, err := json.MarshalIndent(ociConfig(b.Rootfs, spec), "", "\t")
	if err != nil {
		return b, err
	}
	return b, os.WriteFile(filepath.Join(b.Dir, "config.json"), cfg, 0o644)
}

// removeBundle removes the runtime's state directory, the bundle and the
// rootfs; the runtime must have deleted the container first.
func removeBundle(b bundle) error {
	var errs []error
	for _, dir := range []string{b.Root, b.Dir} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if b.Rootfs != "" {
		if err := removeRootfs(b.Rootfs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ociConfig is a minimal OCI runtime config (runtime-spec 1.0), what
// `runc spec` writes with the changes the bundleSpec asks for: no
// terminal, a writable rootfs, no_new_privs, no capabilities, no device
// access, and the usual /proc, /dev, /dev/pts, /dev/shm and /tmp mounts.
func ociConfig(rootfs string, spec bundleSpec) map[string]any {
	user := map[string]any{"uid": spec.UID, "gid": spec.GID}
	if len(spec.AdditionalGIDs) > 0 {
		user["additionalGids"] = spec.AdditionalGIDs
	}
	var ns []map[string]string
	for _, t := range spec.Namespaces {
		n := map[string]string{"type": t}
		if t == "network" && spec.NetNSPath != "" {
			n["path"] = spec.NetNSPath
		}
		ns = append(ns, n)
	}
	linux := map[string]any{
		"namespaces":  ns,
		"resources":   map[string]any{"devices": []map[string]any{{"allow": false, "access": "rwm"}}},
		"maskedPaths": []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"},
		"readonlyPaths": []string{
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
		},
	}
	if spec.CgroupsPath != "" {
		linux["cgroupsPath"] = spec.CgroupsPath
	}
	if spec.Seccomp != nil {
		linux["seccomp"] = spec.Seccomp
	}
	env := spec.Env
	if env == nil {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}
	}
	cwd := spec.Cwd
	if cwd == "" {
		cwd = "/"
	}
	process := map[string]any{
		"terminal":        false,
		"user":            user,
		"args":            spec.Args,
		"env":             env,
		"cwd":             cwd,
		"noNewPrivileges": !spec.AllowNewPrivileges,
	}
	if len(spec.Capabilities) > 0 {
		process["capabilities"] = map[string][]string{
			"bounding": spec.Capabilities, "effective": spec.Capabilities, "permitted": spec.Capabilities,
		}
	}
	if len(spec.Rlimits) > 0 {
		var rl []map[string]any
		for _, r := range spec.Rlimits {
			rl = append(rl, map[string]any{"type": r.Type, "hard": r.Hard, "soft": r.Soft})
		}
		process["rlimits"] = rl
	}
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process":    process,
		"root":       map[string]any{"path": rootfs, "readonly": false},
		"hostname":   spec.Hostname,
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "nodev", "mode=1777"}},
		},
		"linux": linux,
	}
	if spec.Annotations != nil {
		cfg["annotations"] = spec.Annotations
	}
	return cfg
}

// runtimeCLI runs one OCI runtime's command line (runc, runsc) against one
// container: what RuncContainer and RunscContainer share.
type runtimeCLI struct {
	name string                         // for errors
	id   string                         // the container id
	cmd  func(args ...string) *exec.Cmd // the runtime with its global flags
}

// run runs the runtime with args and returns its combined output.
func (r runtimeCLI) run(args ...string) ([]byte, error) {
	out, err := r.cmd(args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", r.name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// state returns what `<runtime> state <id>` prints: the OCI runtime state.
func (r runtimeCLI) state() ([]byte, error) {
	out, err := r.cmd("state", r.id).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s state: %w: %s", r.name, err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("%s state: %w", r.name, err)
	}
	return out, nil
}

// exec runs `<runtime> exec <flags> <id> args...` and returns its stdout and
// exit code; err is only set when the runtime could not be run at all.
func (r runtimeCLI) exec(flags []string, args ...string) (string, int, error) {
	var stdout bytes.Buffer
	argv := append(append([]string{"exec"}, flags...), r.id)
	cmd := r.cmd(append(argv, args...)...)
	cmd.Stdout = &stdout
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return "", -1, err
	}
	return stdout.String(), 0, nil
}
