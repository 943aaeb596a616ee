package harden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/hardencore"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// Tests run Apply for real in a child process: the test binary re-executes
// itself with envChild set; init locks the main goroutine to the main
// thread, TestMain hands over to childMain, which performs the setup a test
// asks for, Apply, and execve of the command. An Apply failure is reported
// on stderr as "STEP=<step>" and "ERR=<error>" with exit status 111, so the
// parent can assert on it and on the absence of the command's output.

const (
	envChild = "NUCLEUS_HARDEN_TEST_CHILD"
	envSpec  = "NUCLEUS_HARDEN_TEST_SPEC"

	exitApplyFailed = 111
	exitSetupFailed = 112
	exitExecFailed  = 113
)

// childSpec is what the parent asks the child to do.
type childSpec struct {
	Program  *Program              `json:"program"`
	Identity state.ProcessIdentity `json:"identity"`
	Dir      string                `json:"dir"`
	Argv     []string              `json:"argv"`

	// Setup before Apply, on the locked thread.
	Groups      []uint32     `json:"groups,omitempty"`      // setgroups first: the caller's groups that must not leak
	Inheritable uint64       `json:"inheritable,omitempty"` // raise in inheritable and ambient first
	PreFilter   []SockFilter `json:"pre_filter,omitempty"`  // a seccomp filter that makes one step fail
	Chroot      *chrootSpec  `json:"chroot,omitempty"`

	NoApply bool `json:"no_apply,omitempty"` // exec without Apply (benchmark baseline)
	Trace   bool `json:"trace,omitempty"`    // print "STEP <name>" on stderr as each step starts
	Bench   bool `json:"bench,omitempty"`    // print "APPLY_NS <n>" on stderr after Apply
}

// chrootSpec: open Outside (a directory fd without close-on-exec), enter a
// new mount namespace, mount proc at Root/proc, chroot to Root. Dir may name
// the fd as "{fd}", e.g. "/proc/self/fd/{fd}" (CVE-2024-21626).
type chrootSpec struct {
	Root    string `json:"root"`
	Outside string `json:"outside"`
}

func init() {
	if os.Getenv(envChild) != "" {
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		childMain()
	}
	code := m.Run()
	helperCleanup()
	os.Exit(code)
}

func childMain() {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(envSpec)), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "SETUP=spec: %v\n", err)
		os.Exit(exitSetupFailed)
	}
	setupFail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "SETUP=%s: %v\n", what, err)
		os.Exit(exitSetupFailed)
	}
	if spec.Groups != nil {
		if err := hardencore.Setgroups(spec.Groups); err != nil {
			setupFail("setgroups", err)
		}
	}
	if spec.Inheritable != 0 {
		if err := hardencore.RaiseInheritable(spec.Inheritable); err != nil {
			setupFail("inheritable", err)
		}
	}
	if spec.Chroot != nil {
		fd, err := unix.Open(spec.Chroot.Outside, unix.O_RDONLY|unix.O_DIRECTORY, 0) // no O_CLOEXEC: a leaked fd
		if err != nil {
			setupFail("open outside", err)
		}
		spec.Dir = strings.ReplaceAll(spec.Dir, "{fd}", strconv.Itoa(fd))
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			setupFail("unshare", err)
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			setupFail("make-rprivate", err)
		}
		if err := unix.Mount("proc", filepath.Join(spec.Chroot.Root, "proc"), "proc", 0, ""); err != nil {
			setupFail("mount proc", err)
		}
		if err := unix.Chroot(spec.Chroot.Root); err != nil {
			setupFail("chroot", err)
		}
		if err := unix.Chdir("/"); err != nil {
			setupFail("chdir", err)
		}
	}
	if spec.PreFilter != nil {
		if err := hardencore.InstallSeccomp(spec.PreFilter); err != nil {
			setupFail("pre-filter", err)
		}
	}
	if spec.Trace {
		t0 := time.Now()
		hardencore.TestHook = func(step string) {
			// Raw write: nothing that could allocate a file or lock.
			unix.Write(2, []byte("STEP "+step+"\n"))
			if spec.Bench {
				unix.Write(2, []byte("AT "+strconv.FormatInt(int64(time.Since(t0)/time.Microsecond), 10)+"\n"))
			}
		}
	}
	var err error
	start := time.Now()
	if !spec.NoApply {
		err = spec.Program.Apply(spec.Identity, spec.Dir)
	}
	elapsed := time.Since(start)
	if err != nil {
		var se *StepError
		if errors.As(err, &se) {
			fmt.Fprintf(os.Stderr, "STEP=%s\n", se.Step)
		}
		fmt.Fprintf(os.Stderr, "ERR=%v\n", err)
		os.Exit(exitApplyFailed)
	}
	if spec.Bench {
		fmt.Fprintf(os.Stderr, "APPLY_NS %d\n", elapsed.Nanoseconds())
	}
	err = unix.Exec(spec.Argv[0], spec.Argv, []string{"PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/"})
	fmt.Fprintf(os.Stderr, "EXEC=%v\n", err)
	os.Exit(exitExecFailed)
}

const busybox = "/bin/busybox"

func requireBusybox(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(busybox); err != nil {
		testutil.Missing(t, "%s is needed: %v", busybox, err)
	}
}

// result of a child run.
type result struct {
	Stdout, Stderr string
	Code           int
}

// Step returns the failed step the child reported, or "".
func (r result) Step() string {
	for _, l := range strings.Split(r.Stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "STEP="); ok {
			return s
		}
	}
	return ""
}

// childOpts change how the child process is started.
type childOpts struct {
	ExtraFiles []*os.File
	// UserNS starts the child in a new user namespace where host root is
	// uid/gid 0 and nothing else is mapped, with setgroups denied.
	UserNS bool
}

func runChild(t testing.TB, spec childSpec, opts childOpts) result {
	t.Helper()
	b, err := json.Marshal(spec)
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1", envSpec+"="+string(b))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = opts.ExtraFiles
	if opts.UserNS {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER,
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
			GidMappingsEnableSetgroups: false,
		}
	}
	err = cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run child: %v\nstderr: %s", err, stderr.String())
		code = ee.ExitCode()
	}
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
	require.NotEqual(t, exitSetupFailed, code, "child setup failed: %s", r.Stderr)
	return r
}

// mustRun runs a child that must apply and exec successfully, and returns
// its stdout.
func mustRun(t testing.TB, spec childSpec, opts childOpts) string {
	t.Helper()
	r := runChild(t, spec, opts)
	require.Equal(t, 0, r.Code, "child failed (exit %d)\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	return r.Stdout
}

// compile compiles p as a strict policy: these tests apply it to the test's
// own child, which has no target to take a container confinement from (the
// container policy is tested against real containers in nucleus/attach).
func compile(t testing.TB, p Policy) *Program {
	t.Helper()
	p.Strict, p.NoNewPrivs = true, true
	prog, err := Compile(p)
	require.NoError(t, err)
	return prog
}

// statusOf parses "Key:\tvalue" lines of /proc/PID/status.
func statusOf(text string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// outsideDir makes a directory that the default Landlock rules do not
// cover (not under /tmp), removed at the end of the test.
func outsideDir(t testing.TB) string {
	t.Helper()
	base := "/var/tmp"
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		t.Skipf("%s is needed: %v", base, err)
	}
	d, err := os.MkdirTemp(base, "nucleus-harden-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// copyFile copies src to dst with mode.
func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, mode))
}

// The static test helper (nucleus/internal/testcontainer/helper), built
// once per test process with CGO_ENABLED=0 into a directory outside /tmp.
var helper struct {
	once sync.Once
	dir  string
	path string
	skip bool
	err  error
}

func helperBinary(t testing.TB) (path, dir string) {
	t.Helper()
	helper.once.Do(func() {
		if runtime.GOARCH != "amd64" {
			helper.skip, helper.err = true, fmt.Errorf("the helper's syscall commands are amd64-only")
			return
		}
		helper.dir, helper.err = os.MkdirTemp("/var/tmp", "nucleus-harden-helper-")
		if helper.err != nil {
			return
		}
		helper.path = filepath.Join(helper.dir, "nucleus-testhelper")
		cmd := exec.Command("go", "build", "-o", helper.path, "nucleus/internal/testcontainer/helper")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			helper.err = fmt.Errorf("build helper: %v\n%s", err, out)
		}
	})
	if helper.skip {
		t.Skipf("test helper unavailable: %v", helper.err)
	}
	require.NoError(t, helper.err)
	return helper.path, helper.dir
}

func helperCleanup() {
	if helper.dir != "" {
		os.RemoveAll(helper.dir)
	}
}
