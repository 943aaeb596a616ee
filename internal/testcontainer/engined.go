package testcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nucleus/internal/testutil"
)

// daemon is an engine daemon a test started (dockerd, containerd, podman
// system service): its process, its private directory and its log.
type daemon struct {
	name string
	cmd  *exec.Cmd
	dir  string
	log  *os.File
	done chan error
}

// engineDir makes a private directory for one engine under the system's
// temporary directory, searchable by others (rootless helpers and image
// layers are read by other uids).
func engineDir(t testing.TB, kind string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nucleus-"+kind+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireTool finds an engine's binary, or skips (fails under
// NUCLEUS_REQUIRE_ROOT=1) when it is not installed.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	RequireRoot(t)
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if fileExists(filepath.Join(dir, name)) {
				return filepath.Join(dir, name)
			}
		}
		testutil.Missing(t, "testcontainer: %s not installed (apt-get install docker.io podman containerd)", name)
	}
	return p
}

// startDaemon starts argv with its output in dir/<name>.log and waits until
// ready reports true (for at most 60 s).
func startDaemon(name, dir string, argv []string, ready func() bool) (*daemon, error) {
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	d := &daemon{name: name, dir: dir, log: log, done: make(chan error, 1)}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	// No Pdeathsig: it fires when the OS thread that forked exits, and
	// tests here run goroutines that lock a thread and exit with it (the
	// probes' disposable netns threads): the daemon would die mid-test.
	// The test's cleanup stops it.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		select {
		case err := <-d.done:
			d.done <- err
			return d, fmt.Errorf("%s exited while starting: %v: %s", name, err, d.tail())
		default:
		}
		if time.Now().After(deadline) {
			return d, fmt.Errorf("%s not ready after 60 s: %s", name, d.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d, nil
}

// tail is the end of the daemon's log, for errors.
func (d *daemon) tail() string {
	b, _ := os.ReadFile(d.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// stop sends SIGTERM, then SIGKILL after 20 s, and waits for the exit.
func (d *daemon) stop() error {
	if d == nil || d.cmd.Process == nil {
		return nil
	}
	defer d.log.Close()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(20 * time.Second):
	}
	_ = d.cmd.Process.Kill()
	<-d.done
	return fmt.Errorf("%s ignored SIGTERM for 20 s: killed", d.name)
}

// unmountBelow detaches every mount on or below dir in the caller's mount
// namespace (the engines' overlay and shm mounts, their netns and
// exec-root bind mounts), deepest first, then removes dir.
func unmountBelow(dir string) error {
	errs := []error{leftoverProcs(dir)}
	for try := 0; try < 3; try++ {
		mnts, err := mountsBelow(dir)
		if err != nil {
			return err
		}
		if len(mnts) == 0 {
			break
		}
		sort.Slice(mnts, func(i, j int) bool { return len(mnts[i]) > len(mnts[j]) })
		for _, m := range mnts {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// runTool runs a command line of an engine's CLI and returns its stdout.
func runTool(cmd *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// ExecResult is what an engine's own exec gave: stdout and exit code.
type ExecResult struct {
	Stdout string
	Code   int
}

// execResult runs an engine's exec command line and keeps its stdout and
// exit code; err only when the CLI could not be run at all.
func execResult(cmd *exec.Cmd) (ExecResult, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ExecResult{stdout.String(), ee.ExitCode()}, nil
	}
	if err != nil {
		return ExecResult{}, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return ExecResult{stdout.String(), 0}, nil
}

// engineCgroup is the cgroup parent, below the root of every hierarchy, of
// one engine's containers in this test process (dockerd --cgroup-parent,
// podman --cgroup-parent and its conmon, a CRI pod's CgroupParent), so
// that cleanup removes exactly what the test's engines made.
func engineCgroup(kind string) string {
	return fmt.Sprintf("nucleus-%s-%d", kind, os.Getpid())
}

// removeCgroupTree removes the cgroup directory name and its children in
// every mounted hierarchy (the engines leave their empty parents behind),
// deepest first. A cgroup whose last task is still exiting is retried for
// up to 5 s.
func removeCgroupTree(name string) error {
	mounts, err := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if err != nil {
		return err
	}
	if fileExists("/sys/fs/cgroup/" + name) {
		mounts = append(mounts, "/sys/fs/cgroup/"+name)
	}
	var errs []error
	for _, top := range mounts {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			deadline := time.Now().Add(5 * time.Second)
			for {
				err := syscall.Rmdir(d)
				if err == nil || errors.Is(err, syscall.ENOENT) {
					break
				}
				if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
					errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	return errors.Join(errs...)
}

// newDirs records which of paths do not exist yet; removeNew removes
// those that exist by then, files and empty directories, last first: what
// Podman makes outside its --root (runc's /run/runc, netavark's
// /run/containers/networks, the image blob cache in
// /var/lib/containers/cache, a CNI lock).
type newDirs []string

func missingDirs(dirs ...string) newDirs {
	var n newDirs
	for _, d := range dirs {
		if !fileExists(d) {
			n = append(n, d)
		}
	}
	return n
}

func (n newDirs) removeNew() {
	for i := len(n) - 1; i >= 0; i-- {
		_ = os.Remove(n[i]) // a directory only when empty
	}
}

// engineRunDirs are the fixed paths Docker and containerd make outside
// their private directories: /run/docker/plugins, the shims' socket
// directory /run/containerd/s (which shims make again when they need it),
// and /opt/containerd.
var engineRunDirs = []string{"/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd",
	// dockerd's own containerd keeps its default opt path.
	"/opt/containerd/bin", "/opt/containerd/lib", "/opt/containerd"}

// removeEngineRunDirs removes engineRunDirs that are empty, once no
// dockerd, containerd or shim runs on the machine any more: engine tests of
// several packages run at once, and the last one to stop removes them;
// while any engine (a user's too) runs they stay.
func removeEngineRunDirs() {
	// Shims killed a moment ago may not have been reaped yet.
	if !testutil.Within(2*time.Second, func() bool { return !engineRunning() }) {
		return
	}
	for _, d := range engineRunDirs {
		_ = syscall.Rmdir(d) // only when empty
	}
}

// engineRunning reports whether a dockerd, containerd or shim runs.
func engineRunning() bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		switch c := strings.TrimSpace(string(comm)); {
		case c == "dockerd", c == "containerd", strings.HasPrefix(c, "containerd-shim"):
			return true
		}
	}
	return false
}

// leftoverProcs kills and reports the processes whose command line names
// dir (containerd shims, conmon, a container's init) once the engine that
// ran them has stopped: an engine test must leave none behind. The
// engines tear down asynchronously (`podman rm` returns before conmon has
// run its exit command and exited), so each gets up to leftoverGrace to
// exit by itself first.
func leftoverProcs(dir string) error {
	deadline := time.Now().Add(leftoverGrace)
	pids, err := procsNaming(dir)
	for err == nil && len(pids) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		pids, err = procsNaming(dir)
	}
	if err != nil {
		return err
	}
	var left []string
	for pid, cmdline := range pids {
		left = append(left, fmt.Sprintf("%d %s", pid, cmdline))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if len(left) > 0 {
		return fmt.Errorf("processes left behind (killed): %s", strings.Join(left, "; "))
	}
	return nil
}

// leftoverGrace is how long an engine's processes get to exit by
// themselves after it stopped.
const leftoverGrace = 5 * time.Second

// procsNaming returns the processes (but this one) whose command line
// names dir, with that command line.
func procsNaming(dir string) (map[int]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	pids := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		pids[pid] = string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
	}
	return pids, nil
}

// engineCLI is the command line Docker and Podman share for images and
// containers: import with --change, run -d --network none, exec.
type engineCLI struct {
	cmd         func(args ...string) *exec.Cmd
	importFlags []string
	runFlags    []string
}

// importImage imports a rootfs tar as ref with spec's ENV and CMD.
func (e engineCLI) importImage(t testing.TB, rootfsTar, ref string, spec ImageSpec) {
	t.Helper()
	args := append([]string{"import"}, e.importFlags...)
	for _, env := range spec.Env {
		args = append(args, "--change", "ENV "+env)
	}
	args = append(args, "--change", "CMD "+jsonArray(spec.Cmd), rootfsTar, ref)
	if _, err := runTool(e.cmd(args...)); err != nil {
		t.Fatalf("testcontainer: %v", err)
	}
}

// run starts a detached container without network and returns its id.
func (e engineCLI) run(t testing.TB, name, image string, args ...string) string {
	t.Helper()
	argv := append(append([]string{"run", "-d", "--network", "none", "--name", name}, e.runFlags...), args...)
	out, err := runTool(e.cmd(append(argv, image)...))
	if err != nil {
		t.Fatalf("testcontainer: %v", err)
	}
	return strings.TrimSpace(out)
}

// exec runs `<engine> exec [flags] name args...`.
func (e engineCLI) exec(flags []string, name string, args ...string) (ExecResult, error) {
	return execResult(e.cmd(append(append(append([]string{"exec"}, flags...), name), args...)...))
}

// jsonArray renders a command as a JSON array (exec form of CMD).
func jsonArray(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
	}
	return "[" + strings.Join(q, ",") + "]"
}
