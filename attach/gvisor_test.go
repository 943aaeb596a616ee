package attach_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/attach"
	"nucleus/harden"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

// gvisor starts a gVisor container and returns it with its state, read the
// way a user would: `runsc state` into state.FromOCI.
func gvisor(t *testing.T, opts testcontainer.RunscOptions) (*testcontainer.RunscContainer, *state.ContainerState) {
	t.Helper()
	c := testcontainer.StartRunsc(t, opts)
	st, err := c.State()
	require.NoError(t, err)
	require.True(t, st.UsingGVisor)
	require.Equal(t, c.Root, st.RuntimeRoot)
	return c, st
}

// gvAttach attaches cmd to a gVisor container with the test's runsc and
// returns its stdout and exit code.
func gvAttach(t *testing.T, c *testcontainer.RunscContainer, st *state.ContainerState, cmd []string, opts ...attach.Option) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts = append([]attach.Option{attach.WithRunsc(c.Runsc), attach.WithStdio(nil, &out, &errOut)}, opts...)
	code, err := attach.Attach(st, cmd, opts...)
	require.NoError(t, err, "stderr: %s", errOut.String())
	return out.String(), code
}

// sameAsRunscExec runs each command with `runsc exec` (with flags) and
// with attach (with opts) and wants the same stdout and exit code.
func sameAsRunscExec(t *testing.T, c *testcontainer.RunscContainer, st *state.ContainerState, flags []string, opts []attach.Option, cmds [][]string) {
	t.Helper()
	for _, cmd := range cmds {
		want, wantCode, err := c.ExecWith(flags, cmd...)
		require.NoError(t, err)
		got, code := gvAttach(t, c, st, cmd, opts...)
		assert.Equal(t, want, got, "%q: output", cmd)
		assert.Equal(t, wantCode, code, "%q: exit code", cmd)
		assert.NotEmpty(t, got, "%q", cmd)
	}
}

// onlyInit asserts that the sandbox runs nothing but the container's own
// process: no command of a test was left behind.
func onlyInit(t *testing.T, c *testcontainer.RunscContainer) {
	t.Helper()
	var ps []testcontainer.SandboxProcess
	ok := assert.Eventually(t, func() bool {
		var err error
		ps, err = c.Ps()
		return err == nil && len(ps) == 1
	}, 5*time.Second, 20*time.Millisecond)
	if !ok {
		t.Errorf("processes left in the sandbox: %+v", ps)
	}
}

// A gVisor container as root: what a command sees through attach is what
// it sees through runsc exec, in the sandbox kernel (not the host's).
func TestGVisorInterop(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{Hostname: "gvisor-interop"})
	// A marker made inside the sandbox (its root file system is an
	// overlay of the bundle's rootfs that the host does not see).
	_, code, err := c.Exec("sh", "-c", "echo made in the sandbox > /etc/marker")
	require.NoError(t, err)
	require.Equal(t, 0, code)
	_, err = os.Stat(filepath.Join(c.Rootfs, "etc/marker"))
	require.True(t, os.IsNotExist(err), "the marker is not on the host")

	sameAsRunscExec(t, c, st, nil, nil, [][]string{
		{"hostname"},
		{"id", "-u"},
		{"id"},
		{"cat", "/etc/marker"},
		{"pwd"},
		{"sh", "-c", "echo $HOME"},
		{"uname", "-r"}, // the sandbox kernel's release, not the host's
		{"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"},
	})
	// Written by attach, read by runsc exec.
	_, code = gvAttach(t, c, st, []string{"sh", "-c", "echo made by attach > /tmp/by-attach"})
	require.Equal(t, 0, code)
	got, _, err := c.Exec("cat", "/tmp/by-attach")
	require.NoError(t, err)
	assert.Equal(t, "made by attach\n", got)

	// The host's kernel release is not what the command sees.
	host, err := exec.Command("uname", "-r").Output()
	require.NoError(t, err)
	out, _ := gvAttach(t, c, st, []string{"uname", "-r"})
	assert.NotEqual(t, string(host), out)
	onlyInit(t, c)
}

// The container's own identity (process.user of its bundle, with an
// additional gid) is the default, as for runsc exec, and HOME comes from
// its /etc/passwd; an identity, environment and directory of the caller's
// replace the container's as runsc exec's flags do.
func TestGVisorIdentityEnvDir(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}})
	assert.Equal(t, uint32(1000), st.ProcessUID)
	sameAsRunscExec(t, c, st, nil, nil, [][]string{
		{"id"},
		{"sh", "-c", "echo $HOME"},
		{"pwd"},
	})
	sameAsRunscExec(t, c, st,
		[]string{"--user", "0:0", "--cwd", "/tmp", "--env", "FOO=bar"},
		[]attach.Option{attach.WithIdentity(state.ProcessIdentity{UID: 0, GID: 0, AdditionalGIDs: []uint32{2000}}), attach.WithDir("/tmp"), attach.WithEnv("FOO=bar")},
		[][]string{
			{"id"},
			{"pwd"},
			{"sh", "-c", "echo $FOO $HOME"},
		})
	// Fewer groups than the container's: runsc exec's --additional-gids
	// can only add to them, attach replaces them.
	out, _ := gvAttach(t, c, st, []string{"id", "-G"}, attach.WithIdentity(state.ProcessIdentity{UID: 1000, GID: 1000}))
	assert.Equal(t, "1000\n", out)
	out, _ = gvAttach(t, c, st, []string{"sh", "-c", "echo $PATH $TERM"})
	assert.Equal(t, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin xterm\n", out)
	onlyInit(t, c)
}

// Exit codes are carried through: the command's, 128+signal when it was
// killed. A command that is not found is an error, like on the host path.
func TestGVisorExitCodes(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{})
	for cmd, want := range map[string]int{"true": 0, "exit 3": 3, "kill -9 $$": 137, "kill -TERM $$": 143} {
		_, code := gvAttach(t, c, st, []string{"sh", "-c", cmd})
		assert.Equal(t, want, code, cmd)
		_, runscCode, err := c.Exec("sh", "-c", cmd)
		require.NoError(t, err)
		assert.Equal(t, runscCode, code, "%s: as runsc exec", cmd)
	}
	var errOut bytes.Buffer
	_, err := attach.Attach(st, []string{"no-such-command"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, &errOut))
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "no-such-command")
	assert.Empty(t, errOut.String(), "runsc's own messages do not go to the command's stderr")
	_, err = attach.Attach(st, []string{"pwd"}, attach.WithRunsc(c.Runsc), attach.WithDir("/no/such/dir"), attach.WithStdio(nil, nil, nil))
	assert.Error(t, err)
	onlyInit(t, c)
}

// A cancelled context kills the command and everything it started in the
// sandbox, and leaves no runsc process, zombie or fd on the host.
func TestGVisorCancel(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{})
	gvAttach(t, c, st, []string{"true"}) // opens what is opened once per process (/dev/null)
	fds := fdCount(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	code, err := attach.AttachContext(ctx, st, []string{"sh", "-c", "sleep 100 & echo started; sleep 100"},
		attach.WithRunsc(c.Runsc), attach.WithStdio(nil, &out, &out))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 137, code)
	assert.Equal(t, "started\n", out.String())
	assert.Less(t, time.Since(start), 5*time.Second)
	onlyInit(t, c)
	assert.Empty(t, children(t), "runsc exec is reaped")
	assert.Equal(t, fds, fdCount(t), "no fd left open")

	// Deadlines that end while runsc exec is creating the command: it is
	// killed in the sandbox all the same.
	for d := time.Millisecond; d < 20*time.Millisecond; d += 3 * time.Millisecond {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := attach.AttachContext(ctx, st, []string{"sleep", "100"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, nil))
		cancel()
		assert.ErrorIs(t, err, context.DeadlineExceeded, "deadline %v", d)
		onlyInit(t, c)
	}
	assert.Empty(t, children(t))
	assert.Equal(t, fds, fdCount(t))

	// Cancelled before it starts: nothing starts.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = attach.AttachContext(ctx, st, []string{"sleep", "100"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, nil))
	assert.ErrorIs(t, err, context.Canceled)
	onlyInit(t, c)
}

// Signal reaches the command in the sandbox (runsc exec forwards none when
// the command has no terminal).
func TestGVisorSignal(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{})
	var out testutil.SyncBuffer
	p, err := attach.Start(context.Background(), st, []string{"sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done"},
		attach.WithRunsc(c.Runsc), attach.WithStdio(nil, &out, &out))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "ready") }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Signal(syscall.SIGTERM))
	code, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 7, code)
	assert.Contains(t, out.String(), "got TERM")
	assert.ErrorIs(t, p.Signal(syscall.SIGTERM), os.ErrProcessDone)
	onlyInit(t, c)
}

// A regular file as stdout is appended to, not overwritten from offset 0
// (which the sandbox would do with the file itself): it goes through a
// pipe. Stdin from a regular file is read from its current offset.
func TestGVisorRegularFileStdio(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{})
	dir := t.TempDir()
	outPath := filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(outPath, []byte("first line, kept\n"), 0o644))
	f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	in, err := os.CreateTemp(dir, "in")
	require.NoError(t, err)
	defer in.Close()
	_, err = in.WriteString("skipped\nread\n")
	require.NoError(t, err)
	_, err = in.Seek(int64(len("skipped\n")), 0)
	require.NoError(t, err)

	code, err := attach.Attach(st, []string{"sh", "-c", "cat; echo to stderr >&2"}, attach.WithRunsc(c.Runsc), attach.WithStdio(in, f, f))
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	b, err := os.ReadFile(outPath)
	require.NoError(t, err)
	assert.Equal(t, "first line, kept\nread\nto stderr\n", string(b))
}

// Hardening in the sandbox: by default the container's own capabilities
// (runsc exec's), the Policy's within the container's when it names some,
// no_new_privs always; a Policy asking for its own seccomp filter or
// Landlock rules is refused (runsc exec cannot install them).
func TestGVisorPolicy(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{Confinement: testcontainer.Confinement{
		Capabilities: []string{"CAP_KILL", "CAP_CHOWN"},
	}})
	status := func(opts ...attach.Option) string {
		out, code := gvAttach(t, c, st, []string{"cat", "/proc/self/status"}, opts...)
		require.Equal(t, 0, code)
		return out
	}
	s := status()
	assert.Contains(t, s, "CapEff:\t0000000000000021")
	assert.Contains(t, s, "CapBnd:\t0000000000000021")
	assert.Contains(t, s, "NoNewPrivs:\t1")
	s = status(attach.WithPolicy(harden.Policy{Capabilities: []cap.Value{cap.KILL, cap.SYS_ADMIN}}))
	assert.Contains(t, s, "CapEff:\t0000000000000020")
	assert.Contains(t, s, "CapBnd:\t0000000000000020")
	s = status(attach.WithPolicy(harden.Policy{Strict: true}))
	assert.Contains(t, s, "CapEff:\t0000000000000000")
	assert.Contains(t, s, "CapBnd:\t0000000000000000")

	_, err := attach.Attach(st, []string{"true"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, nil),
		attach.WithPolicy(harden.Policy{Strict: true, Capabilities: []cap.Value{cap.SYS_ADMIN}}))
	assert.ErrorContains(t, err, "never looser")
	_, err = attach.Attach(st, []string{"true"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, nil),
		attach.WithPolicy(harden.Policy{Landlock: harden.DefaultLandlockRules()}))
	assert.ErrorIs(t, err, attach.ErrUnsupported)
}

// A bare PID works: state.FromPID recognises the sandbox supervisor and
// reads the runsc root from its command line; a state without a trusted
// runsc root is refused, never entered with setns.
func TestGVisorFromPID(t *testing.T) {
	c, _ := gvisor(t, testcontainer.RunscOptions{Hostname: "gvisor-pid"})
	st, err := state.FromPID(c.PID)
	require.NoError(t, err)
	require.True(t, st.UsingGVisor)
	assert.Equal(t, c.ID, st.ID)
	assert.Equal(t, c.Root, st.RuntimeRoot)
	out, code := gvAttach(t, c, st, []string{"hostname"})
	assert.Equal(t, 0, code)
	assert.Equal(t, "gvisor-pid\n", out)

	noRoot := *st
	noRoot.RuntimeRoot = ""
	_, err = attach.Attach(&noRoot, []string{"true"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, nil))
	assert.ErrorIs(t, err, attach.ErrUnsupported)

	// runsc in PATH is the default; without one the error says so.
	t.Setenv("PATH", filepath.Dir(c.Runsc)+":/usr/bin:/bin")
	var buf bytes.Buffer
	code, err = attach.Attach(st, []string{"hostname"}, attach.WithStdio(nil, &buf, nil))
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "gvisor-pid\n", buf.String())
	t.Setenv("PATH", "/nonexistent")
	_, err = attach.Attach(st, []string{"hostname"}, attach.WithStdio(nil, nil, nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "runsc")
	assert.ErrorIs(t, err, exec.ErrNotFound)
}

// A terminal: the command gets one in the sandbox.
func TestGVisorTTY(t *testing.T) {
	c, st := gvisor(t, testcontainer.RunscOptions{})
	var out bytes.Buffer
	code, err := attach.Attach(st, []string{"sh", "-c", "test -t 0 && test -t 1 && echo is a tty"},
		attach.WithRunsc(c.Runsc), attach.WithTTY(), attach.WithStdio(strings.NewReader(""), &out, nil))
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "is a tty")
}

// gvisorTrue attaches /bin/true to a gVisor container.
func gvisorTrue(b *testing.B, c *testcontainer.RunscContainer, st *state.ContainerState) {
	code, err := attach.Attach(st, []string{"/bin/true"}, attach.WithRunsc(c.Runsc), attach.WithStdio(nil, nil, nil))
	if err != nil || code != 0 {
		b.Fatalf("attach: %d, %v", code, err)
	}
}

// runscExecTrue is `runsc exec <id> /bin/true`: the runtime's own exec.
func runscExecTrue(b *testing.B, c *testcontainer.RunscContainer) {
	if _, code, err := c.Exec("/bin/true"); err != nil || code != 0 {
		b.Fatalf("runsc exec: %d, %v", code, err)
	}
}

func benchGVisor(b *testing.B) (*testcontainer.RunscContainer, *state.ContainerState) {
	if _, err := testcontainer.RunscBinary(); err != nil {
		b.Skip(err)
	}
	c := testcontainer.StartRunsc(b, testcontainer.RunscOptions{})
	st, err := c.State()
	if err != nil {
		b.Fatal(err)
	}
	return c, st
}

// BenchmarkGVisorAttachTrue is Attach(/bin/true) on a gVisor container,
// whole process (runsc exec underneath).
func BenchmarkGVisorAttachTrue(b *testing.B) {
	c, st := benchGVisor(b)
	gvisorTrue(b, c, st)
	b.ResetTimer()
	for b.Loop() {
		gvisorTrue(b, c, st)
	}
}

// BenchmarkGVisorRunscExecTrue is `runsc exec <id> /bin/true`, whole
// process: the baseline.
func BenchmarkGVisorRunscExecTrue(b *testing.B) {
	c, _ := benchGVisor(b)
	for b.Loop() {
		runscExecTrue(b, c)
	}
}

// BenchmarkGVisorAttachVsRunscExec alternates the two on one container and
// reports the ratio (x-runsc).
func BenchmarkGVisorAttachVsRunscExec(b *testing.B) {
	c, st := benchGVisor(b)
	gvisorTrue(b, c, st)
	var tAttach, tRunsc time.Duration
	for b.Loop() {
		t0 := time.Now()
		gvisorTrue(b, c, st)
		t1 := time.Now()
		runscExecTrue(b, c)
		tAttach += t1.Sub(t0)
		tRunsc += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tAttach.Nanoseconds())/n, "attach-ns/op")
	b.ReportMetric(float64(tRunsc.Nanoseconds())/n, "runsc-ns/op")
	b.ReportMetric(float64(tAttach)/float64(tRunsc), "x-runsc")
}
