package attach_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/internal/testcontainer"
	"nucleus/state"
)

func TestAttachSeesContainer(t *testing.T) {
	c, st := container(t, testcontainer.Options{Hostname: "attach-sees"})
	require.NoError(t, os.WriteFile(c.Rootfs+"/etc/marker", []byte("inside\n"), 0o644))

	code, out := run(t, st, []string{"sh", "-c", "hostname; cat /etc/marker; echo $$"})
	assert.Equal(t, 0, code)
	assert.Equal(t, "attach-sees\ninside\n", out[:len("attach-sees\ninside\n")])
	// The shell sees itself with a PID of the container's namespace: init
	// is 1, so the shell is a small number, not a host PID.
	pid, err := strconv.Atoi(out[len("attach-sees\ninside\n") : len(out)-1])
	require.NoError(t, err)
	assert.Less(t, pid, 100)
}

// The namespace links of the attached process, read from the host, are the
// target's.
func TestAttachJoinsEveryNamespace(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		t.Run(fmt.Sprintf("rootless=%v", rootless), func(t *testing.T) {
			c, st := container(t, testcontainer.Options{Rootless: rootless})
			p, err := attach.Start(context.Background(), st, []string{"sleep", "30"}, attach.WithStdio(nil, nil, nil))
			require.NoError(t, err)
			defer p.Wait()
			defer p.Signal(syscall.SIGKILL)

			nss := []string{"mnt", "net", "uts", "ipc", "pid", "cgroup"}
			if rootless {
				nss = append(nss, "user")
			}
			for _, ns := range nss {
				theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", c.PID, ns))
				require.NoError(t, err)
				got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", p.Pid(), ns))
				require.NoError(t, err)
				mine, err := os.Readlink("/proc/self/ns/" + ns)
				require.NoError(t, err)
				assert.Equal(t, theirs, got, ns)
				assert.NotEqual(t, mine, got, ns)
			}
			root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", p.Pid()))
			require.NoError(t, err)
			assert.Equal(t, "/", root, "the process root is the container's root")
		})
	}
}

func TestExitCodes(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	code, _ := run(t, st, []string{"sh", "-c", "exit 42"})
	assert.Equal(t, 42, code)
	code, _ = run(t, st, []string{"true"})
	assert.Equal(t, 0, code)
	code, _ = run(t, st, []string{"sh", "-c", "kill -9 $$"})
	assert.Equal(t, 137, code)
	code, _ = run(t, st, []string{"sh", "-c", "kill -TERM $$"})
	assert.Equal(t, 128+int(syscall.SIGTERM), code)
}

func TestMissingCommand(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	before, kids := baseline(t, st)
	for _, cmd := range []string{"/bin/no-such-thing", "no-such-thing"} {
		code, err := attach.Attach(st, []string{cmd}, attach.WithStdio(nil, nil, nil))
		require.Error(t, err)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.Contains(t, err.Error(), "no-such-thing")
		assert.Equal(t, -1, code)
		var ee *attach.ExecError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, cmd, ee.Path)
	}
	// A working directory that does not exist carries ENOENT too, but the
	// command was found: a setup step failed, not the exec.
	_, err := attach.Attach(st, []string{"true"}, attach.WithStdio(nil, nil, nil), attach.WithDir("/no-such-dir"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	var ee *attach.ExecError
	assert.False(t, errors.As(err, &ee), "%v", err)
	assert.Contains(t, err.Error(), "chdir")
	assert.Equal(t, kids, children(t))
	assert.Equal(t, before, fdCount(t))
}

// Bad requests are refused before anything starts: no child, no fd.
func TestBadRequests(t *testing.T) {
	c, st := container(t, testcontainer.Options{})
	stale := *st
	stale.StartTicks++
	stopped := *st
	stopped.Status = state.StatusStopped
	zero := *st
	zero.PID = 0

	dead := runHost(t, "sleep", "0")
	deadSt := *st
	deadSt.PID = dead

	cases := []struct {
		name string
		st   *state.ContainerState
		cmd  []string
		opts []attach.Option
		is   error
		text string
	}{
		{"empty command", st, nil, nil, nil, "empty command"},
		{"empty argv0", st, []string{""}, nil, nil, "empty command"},
		{"NUL in argument", st, []string{"echo", "a\x00b"}, nil, nil, "NUL"},
		{"NUL in env", st, []string{"true"}, []attach.Option{attach.WithEnv("A=\x00")}, nil, "NUL"},
		{"relative dir", st, []string{"true"}, []attach.Option{attach.WithDir("tmp")}, nil, "not absolute"},
		{"dotdot dir", st, []string{"true"}, []attach.Option{attach.WithDir("/tmp/../..")}, nil, `".."`},
		{"pid 0", &zero, []string{"true"}, nil, attach.ErrNotRunning, ""},
		{"dead pid", &deadSt, []string{"true"}, nil, attach.ErrNotRunning, ""},
		{"stopped", &stopped, []string{"true"}, nil, attach.ErrNotRunning, ""},
		{"stale start ticks", &stale, []string{"true"}, nil, attach.ErrStale, ""},
		{"nil state", nil, []string{"true"}, nil, nil, "no target"},
	}
	before, kids := baseline(t, st)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, err := attach.Attach(tc.st, tc.cmd, append([]attach.Option{attach.WithStdio(nil, nil, nil)}, tc.opts...)...)
			require.Error(t, err)
			assert.Equal(t, -1, code)
			assert.Contains(t, err.Error(), "attach: ")
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			if tc.text != "" {
				assert.Contains(t, err.Error(), tc.text)
			}
			assert.Equal(t, kids, children(t), "nothing may be started")
		})
	}
	assert.Equal(t, before, fdCount(t))
	assert.Empty(t, inContainer(t, c))
}

// baseline makes one attach, so that what is made once per process (the
// sealed copy of the binary, /dev/null) is open, and returns the fd count
// and the children to compare with afterwards.
func baseline(t *testing.T, st *state.ContainerState) (int, []int) {
	t.Helper()
	code, out := run(t, st, []string{"true"})
	require.Equal(t, 0, code, out)
	return fdCount(t), children(t)
}

// runHost runs a host command to completion and returns its (now free) PID.
func runHost(t *testing.T, name string, args ...string) int {
	t.Helper()
	p, err := os.StartProcess("/bin/"+name, append([]string{name}, args...), &os.ProcAttr{})
	require.NoError(t, err)
	_, err = p.Wait()
	require.NoError(t, err)
	return p.Pid
}

func TestContextCancelKillsEverything(t *testing.T) {
	c, st := container(t, testcontainer.Options{})
	before, kids := baseline(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var out bytes.Buffer
	go func() {
		// Wait until both sleeps run before cancelling (busybox sh
		// executes the last command in place of itself).
		deadline := time.Now().Add(10 * time.Second)
		for len(inContainer(t, c)) < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		close(started)
		cancel()
	}()
	t0 := time.Now()
	code, err := attach.AttachContext(ctx, st, []string{"sh", "-c", "sleep 30 & sleep 31"}, attach.WithStdio(nil, &out, &out))
	<-started
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 137, code)
	assert.Less(t, time.Since(t0), 10*time.Second)
	// SIGKILL is delivered at once but a process disappears only when the
	// container's init has reaped it: allow it a moment.
	assert.Eventually(t, func() bool { return len(inContainer(t, c)) == 0 }, 5*time.Second, 10*time.Millisecond,
		"no process of the command may survive: %v", inContainer(t, c))
	assert.Equal(t, kids, children(t), "no zombie")
	assert.Equal(t, before, fdCount(t), "no fd")
}

func TestConcurrentAttach(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	kids := children(t)
	const n = 32
	var wg sync.WaitGroup
	codes := make([]int, n)
	outs := make([]bytes.Buffer, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = attach.Attach(st, []string{"sh", "-c", fmt.Sprintf("echo out-%d; exit %d", i, i)},
				attach.WithStdio(nil, &outs[i], nil))
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, i, codes[i])
		assert.Equal(t, fmt.Sprintf("out-%d\n", i), outs[i].String())
	}
	assert.Equal(t, kids, children(t))
}

func TestStdinAndEnvAndDir(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	var out bytes.Buffer
	code, err := attach.Attach(st, []string{"sh", "-c", "read x; echo got=$x; echo FOO=$FOO HOME=$HOME; pwd"},
		attach.WithStdio(bytes.NewBufferString("hello\n"), &out, &out),
		attach.WithEnv("FOO=bar"), attach.WithDir("/tmp"))
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "got=hello\nFOO=bar HOME=/root\n/tmp\n", out.String())
}
