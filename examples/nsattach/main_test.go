package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
)

// bin is the nsattach binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithBinary(m, "nsattach", &bin))
}

type result struct {
	stdout, stderr string
	code           int
}

// nsattachCmd returns the command that runs the binary with args, bounded by
// the test's deadline or 30 s.
func nsattachCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs nsattach to completion with stdin.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := nsattachCmd(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run nsattach %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// pidArgs targets the container by pid, then "--" and cmd.
func pidArgs(c *testcontainer.Container, opts []string, cmd ...string) []string {
	return append(append([]string{"--pid", strconv.Itoa(c.PID)}, opts...), append([]string{"--"}, cmd...)...)
}

func TestOutputAndExitCodes(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{Hostname: "nsattach-test"})
	r := run(t, "", pidArgs(c, nil, "sh", "-c", "hostname; echo err >&2")...)
	assert.Equal(t, result{"nsattach-test\n", "err\n", 0}, r)

	r = run(t, "", pidArgs(c, nil, "sh", "-c", "exit 42")...)
	assert.Equal(t, 42, r.code)
	assert.Empty(t, r.stderr)

	// stdin reaches the command.
	r = run(t, "hello\n", pidArgs(c, nil, "cat")...)
	assert.Equal(t, result{"hello\n", "", 0}, r)

	// A command killed by a signal: 128+N.
	r = run(t, "", pidArgs(c, nil, "sh", "-c", "kill -9 $$")...)
	assert.Equal(t, 137, r.code)

	// Without "--" the command starts at the first non-flag.
	r = run(t, "", "--pid", strconv.Itoa(c.PID), "echo", "-n", "x")
	assert.Equal(t, result{"x", "", 0}, r)
}

// 127 for a command that does not exist, 126 for one that cannot be
// executed; one line on stderr each.
func TestCannotRun(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	// A script without the execute bit, in a directory Landlock lets run.
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "bin/noexec"), []byte("#!/bin/sh\necho ran\n"), 0o644))
	require.NoError(t, os.Chmod(filepath.Join(c.Rootfs, "bin/noexec"), 0o644))

	cases := []struct {
		name string
		opts []string
		cmd  []string
		code int
		text string
	}{
		{"missing in PATH", nil, []string{"no-such-command"}, 127, "no-such-command"},
		{"missing path", nil, []string{"/bin/no-such-command"}, 127, "no-such-command"},
		{"not executable", nil, []string{"/bin/noexec"}, 126, "permission denied"},
		// The strict policy's Landlock forbids execution under /tmp:
		// EACCES at execve, and the error says who refused.
		{"exec denied by landlock", []string{"--strict"}, []string{"/tmp/script"}, 126, "permission denied: refused by Landlock (strict policy)"},
		{"exec denied by landlock with a workdir", []string{"--strict", "--worktree", "/srv"}, []string{"/tmp/script"}, 126, "Landlock (strict policy)"},
	}
	r := run(t, "", pidArgs(c, nil, "sh", "-c", "printf '#!/bin/sh\\necho ran\\n' > /tmp/script; chmod 755 /tmp/script")...)
	require.Equal(t, 0, r.code, r.stderr)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", pidArgs(c, tc.opts, tc.cmd...)...)
			assert.Equal(t, tc.code, r.code)
			assert.Empty(t, r.stdout)
			assert.True(t, strings.HasPrefix(r.stderr, "nsattach: "), r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
			assert.Contains(t, r.stderr, tc.text)
		})
	}
}

// nsattach's own errors: 255 and one line on stderr.
func TestOwnErrors(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	pid := strconv.Itoa(c.PID)
	cases := []struct {
		name string
		args []string
		text string
	}{
		{"exited pid", []string{"--pid", strconv.Itoa(gone.Process.Pid), "true"}, "not running"},
		{"pid 0", []string{"--pid", "0", "true"}, "invalid pid 0"},
		{"negative pid", []string{"--pid", "-4", "true"}, "invalid pid -4"},
		{"pid not a number", []string{"--pid", "x", "true"}, "invalid value"},
		{"no target", []string{"-u", "0"}, "no target"},
		{"no command after CONTAINER", []string{"web"}, "no command"},
		{"two targets", []string{"--pid", pid, "--state", "/x", "true"}, "only one"},
		{"no command", []string{"--pid", pid}, "no command"},
		{"unknown flag", []string{"--pid", pid, "--bogus", "true"}, "bogus"},
		{"bad user", []string{"--pid", pid, "-u", "a:b:c", "true"}, `user spec "a:b:c"`},
		{"unknown user", []string{"--pid", pid, "--user", "nosuchuser", "true"}, `user "nosuchuser": no entry in the container's /etc/passwd`},
		{"unknown group", []string{"--pid", pid, "-u", "1:x", "true"}, `group "x": no entry in the container's /etc/group`},
		{"bad gid", []string{"--pid", pid, "-u", "1:x", "-g", "2", "true"}, `-u "1:x" with -g`},
		{"bad groups", []string{"--pid", pid, "-g", "1,,2", "true"}, `-g "1,,2"`},
		{"bad env", []string{"--pid", pid, "-e", "NOEQUALS", "true"}, "not KEY=VAL"},
		{"relative dir", []string{"--pid", pid, "-w", "tmp", "true"}, "not absolute"},
		{"workdir without strict", []string{"--pid", pid, "--worktree", "/srv", "true"}, "--worktree needs --strict"},
		{"relative workdir", []string{"--pid", pid, "--strict", "--worktree", "srv", "true"}, "absolute path"},
		{"missing dir", []string{"--pid", pid, "-w", "/nonexistent", "true"}, `chdir: "/nonexistent": no such file`},
		{"missing state file", []string{"--state", "/nonexistent/x.json", "true"}, "state: load"},
		{"bad oci state", []string{"--oci-state", "-", "true"}, "state: from oci"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "{}", tc.args...)
			assert.Equal(t, 255, r.code)
			assert.Empty(t, r.stdout)
			assert.True(t, strings.HasPrefix(r.stderr, "nsattach: "), r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
			assert.Contains(t, r.stderr, tc.text)
		})
	}

	r := run(t, "", "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "usage: nsattach")
}

func TestIdentityDirEnv(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	r := run(t, "", pidArgs(c, []string{"-u", "1000:1000", "-g", "2000"}, "id")...)
	assert.Equal(t, result{"uid=1000(user) gid=1000(user) groups=2000(grp2000)\n", "", 0}, r)

	r = run(t, "", pidArgs(c, []string{"-u", "1000", "-g", "2000,3000"}, "id")...)
	assert.Equal(t, result{"uid=1000(user) gid=0(root) groups=2000(grp2000),3000(grp3000)\n", "", 0}, r)

	r = run(t, "", pidArgs(c, []string{"-u", "1000:1000"}, "sh", "-c", "echo $HOME; id -G")...)
	assert.Equal(t, result{"/home/user\n1000\n", "", 0}, r)

	// By name, as docker exec -u: the entry's uid and gid, the groups that
	// list the name.
	r = run(t, "", pidArgs(c, []string{"--user", "user"}, "sh", "-c", "echo $HOME; id")...)
	assert.Equal(t, result{"/home/user\nuid=1000(user) gid=1000(user) groups=2000(grp2000)\n", "", 0}, r)

	r = run(t, "", pidArgs(c, []string{"--workdir", "/tmp"}, "pwd")...)
	assert.Equal(t, result{"/tmp\n", "", 0}, r)

	r = run(t, "", pidArgs(c, []string{"--clean-env", "--env", "A=1"}, "env")...)
	assert.Equal(t, result{"A=1\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOME=/root\n", "", 0}, r)

	r = run(t, "", pidArgs(c, []string{"-w", "/tmp"}, "pwd")...)
	assert.Equal(t, result{"/tmp\n", "", 0}, r)

	r = run(t, "", pidArgs(c, []string{"-e", "FOO=bar", "-e", "BAZ=a b"}, "sh", "-c", `echo "$FOO|$BAZ|$HOME"`)...)
	assert.Equal(t, result{"bar|a b|/root\n", "", 0}, r)
}

// The other two ways of naming the target: a nucleus state file and an OCI
// runtime state on stdin or in a file.
func TestStateFiles(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{Hostname: "by-state"})
	st, err := c.State()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, st.Save(dir))
	r := run(t, "", "--state", filepath.Join(dir, st.ID+".json"), "--", "hostname")
	assert.Equal(t, result{"by-state\n", "", 0}, r)

	oci := fmt.Sprintf(`{"ociVersion":"1.0.2","id":"x","pid":%d,"status":"running","bundle":"/b"}`, c.PID)
	r = run(t, oci, "--oci-state", "-", "--", "hostname")
	assert.Equal(t, result{"by-state\n", "", 0}, r)
	p := filepath.Join(dir, "oci.json")
	require.NoError(t, os.WriteFile(p, []byte(oci), 0o600))
	r = run(t, "", "--oci-state", p, "--", "hostname")
	assert.Equal(t, result{"by-state\n", "", 0}, r)

	stopped := `{"ociVersion":"1.0.2","id":"x","pid":0,"status":"stopped","bundle":"/b"}`
	r = run(t, stopped, "--oci-state", "-", "--", "hostname")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, "not running")
}

func TestTTY(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	r := run(t, "", pidArgs(c, []string{"-t"}, "sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty")...)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "is-a-tty\r\n", r.stdout, "through the terminal's output processing")
	r = run(t, "", pidArgs(c, nil, "sh", "-c", "test -t 0 || echo no-tty")...)
	assert.Equal(t, "no-tty\n", r.stdout)
}

// startLines starts nsattach and returns it with a reader of its stdout
// lines; the process is killed at cleanup if still running.
func startLines(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := nsattachCmd(t, args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("nsattach stderr: %s", stderr.String())
		}
	})
	return cmd, bufio.NewReader(out)
}

// readLine reads one line or fails after 10 s.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		ch <- line
	}()
	select {
	case line := <-ch:
		return line
	case <-time.After(10 * time.Second):
		t.Fatal("no line from nsattach within 10 s")
		return ""
	}
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	return cmd.ProcessState.ExitCode()
}

// Signals sent to nsattach reach the command.
func TestSignalForwarding(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	t.Run("USR1 trapped", func(t *testing.T) {
		cmd, out := startLines(t, pidArgs(c, nil, "sh", "-c",
			`trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done`)...)
		require.Equal(t, "ready\n", readLine(t, out))
		require.NoError(t, cmd.Process.Signal(syscall.SIGUSR1))
		assert.Equal(t, "got-usr1\n", readLine(t, out))
		rest, _ := io.ReadAll(out)
		assert.Empty(t, string(rest))
		assert.Equal(t, 7, exitCode(t, cmd))
	})
	// SIGTERM, SIGINT and SIGHUP come through nsattach's handler, SIGUSR2
	// through its signalfd (signals.go).
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2} {
		t.Run(sig.String(), func(t *testing.T) {
			// sleep is PID 1's sibling, not an init: default actions apply.
			cmd, out := startLines(t, pidArgs(c, nil, "sh", "-c", "echo ready; exec sleep 30")...)
			require.Equal(t, "ready\n", readLine(t, out))
			waitForComm(t, c, "sleep")
			require.NoError(t, cmd.Process.Signal(sig))
			assert.Equal(t, 128+int(sig), exitCode(t, cmd))
		})
	}
}

// waitForComm waits until a process named comm runs in the container
// (besides its init), so a signal reaches it after the exec.
func waitForComm(t *testing.T, c *testcontainer.Container, comm string) {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.PID))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ents, _ := filepath.Glob("/proc/[0-9]*")
		for _, e := range ents {
			if l, err := os.Readlink(e + "/ns/pid"); err != nil || l != ns {
				continue
			}
			if b, err := os.ReadFile(e + "/comm"); err == nil && strings.TrimSpace(string(b)) == comm {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
}

// nsattach holds SIGUSR1 and SIGUSR2 blocked from its start (signals.go);
// the command starts with none blocked.
func TestCommandSignalMaskEmpty(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	out, err := exec.Command(bin, pidArgs(c, nil, "grep", "^SigBlk:", "/proc/self/status")...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "SigBlk:\t0000000000000000\n", string(out))
}

// Before the start a signal ends nsattach as its default action would,
// though it is held blocked: here nsattach waits for the state on stdin.
func TestSignalBeforeStartKills(t *testing.T) {
	cmd := exec.Command(bin, "--oci-state", "-", "true")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	require.NoError(t, cmd.Start())
	// Until it blocks in the read of its stdin.
	require.Eventually(t, func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", cmd.Process.Pid))
		for _, w := range tasks {
			if b, err := os.ReadFile(w); err == nil && strings.Contains(string(b), "pipe_read") {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	ws := ee.Sys().(syscall.WaitStatus)
	assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGTERM, "nsattach ended with %v, want killed by SIGTERM", ws)
}

// The command may run on every CPU of the container's cpuset, not only on
// those nsattach was pinned to (taskset): Linux 6.2+ keeps a caller's
// affinity across the cpuset join, so the grandchild resets it.
func TestCommandAffinityIsTheContainers(t *testing.T) {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		testutil.Missing(t, "taskset: %v", err)
	}
	c := testcontainer.New(t, testcontainer.Options{})
	want := cpusAllowed(t, fmt.Sprintf("/proc/%d/status", c.PID))
	args := append([]string{"-c", "0", bin}, pidArgs(c, nil, "grep", "^Cpus_allowed_list:", "/proc/self/status")...)
	out, err := exec.Command(taskset, args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "Cpus_allowed_list:\t"+want+"\n", string(out))
	if runtime.NumCPU() > 1 {
		assert.NotEqual(t, "0", want, "the control: the container may use more than CPU 0")
	}
}

func cpusAllowed(t *testing.T, status string) string {
	t.Helper()
	b, err := os.ReadFile(status)
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:\t"); ok {
			return v
		}
	}
	t.Fatalf("no Cpus_allowed_list in %s", status)
	return ""
}
