package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
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

// bin is the probe binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(testutil.RunWithBinary(m, "probe", &bin))
}

type result struct {
	lines  []string
	stderr string
	code   int
}

func probeCmd(t *testing.T, args ...string) (*exec.Cmd, *testutil.SyncBuffer, *testutil.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func finish(t *testing.T, cmd *exec.Cmd, err error, stdout, stderr *testutil.SyncBuffer) result {
	t.Helper()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run probe: %v", err)
	}
	var lines []string
	if s := strings.TrimSuffix(stdout.String(), "\n"); s != "" {
		lines = strings.Split(s, "\n")
	}
	return result{lines, stderr.String(), cmd.ProcessState.ExitCode()}
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := probeCmd(t, args...)
	return finish(t, cmd, cmd.Run(), stdout, stderr)
}

// line matches one result line; the groups are status, exit and reason.
var line = regexp.MustCompile(`^status=(Success|Failure|Unknown) exit=(-?\d+) duration=(\S+) reason=(.*)$`)

// parse checks that every line has the format and returns the fields of
// the last one.
func parse(t *testing.T, r result) (status string, exit int, reason string) {
	t.Helper()
	require.NotEmpty(t, r.lines, "stderr: %s", r.stderr)
	for _, l := range r.lines {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, "line %q", l)
		_, err := time.ParseDuration(m[3])
		require.NoError(t, err, "duration in %q", l)
	}
	m := line.FindStringSubmatch(r.lines[len(r.lines)-1])
	exit, _ = strconv.Atoi(m[2])
	return m[1], exit, m[4]
}

func pidArgs(c *testcontainer.Container, args ...string) []string {
	return append([]string{"--pid", strconv.Itoa(c.PID)}, args...)
}

func TestProbes(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{Port: 8080})
	cases := []struct {
		name   string
		args   []string
		status string
		exit   int
		reason string // a part of it
		code   int
	}{
		{"exec success", []string{"exec", "--", "sh", "-c", "echo hi"}, "Success", 0, "", 0},
		{"exec without --", []string{"exec", "true"}, "Success", 0, "", 0},
		{"exec failure", []string{"exec", "--", "sh", "-c", "exit 3"}, "Failure", 3, "3", 1},
		{"exec timeout", []string{"--timeout", "300ms", "exec", "--", "sleep", "5"}, "Failure", 137, "timeout", 1},
		{"exec missing command", []string{"exec", "--", "no-such-command"}, "Failure", 127, `not found in PATH`, 1},
		{"exec as user", []string{"--user", "user", "-w", "/home/user", "-e", "X=1", "exec", "--", "sh", "-c", `test "$(id -u):$(id -G):$(pwd):$X:$HOME" = "1000:1000 2000:/home/user:1:/home/user"`}, "Success", 0, "", 0},
		{"exec unknown user", []string{"-u", "nosuchuser", "exec", "true"}, "Unknown", 0, `no entry in the container's /etc/passwd`, 1},
		{"tcp open", []string{"tcp", "8080"}, "Success", 0, "", 0},
		{"tcp closed", []string{"tcp", "8081"}, "Failure", 0, "connection refused", 1},
		{"tcp host:port", []string{"tcp", "127.0.0.1:8080"}, "Success", 0, "", 0},
		{"tcp ipv6 loopback", []string{"tcp", "[::1]:8080"}, "Failure", 0, "connection refused", 1},
		{"http path without slash", []string{"http", "8080", "healthz"}, "Success", 0, "", 0},
		{"http host:port", []string{"http", "127.0.0.1:8080", "/status/404"}, "Failure", 0, "HTTP 404", 1},
		{"grpc against http/1", []string{"grpc", "8080"}, "Failure", 0, "", 1},
		{"grpc closed", []string{"grpc", "8081", "app"}, "Failure", 0, "connection refused", 1},
		{"http healthz", []string{"http", "8080", "/healthz"}, "Success", 0, "", 0},
		{"http default path", []string{"http", "8080"}, "Success", 0, "", 0},
		{"http 404", []string{"http", "8080", "/status/404"}, "Failure", 0, "404", 1},
		{"http closed", []string{"http", "8081", "/"}, "Failure", 0, "connection refused", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, pidArgs(c, tc.args...)...)
			require.Len(t, r.lines, 1, "stderr: %s", r.stderr)
			status, exit, reason := parse(t, r)
			assert.Equal(t, tc.status, status, r.lines[0])
			assert.Equal(t, tc.code, r.code, r.lines[0])
			if tc.status == "Failure" {
				assert.Equal(t, tc.exit, exit, r.lines[0])
			}
			if tc.reason == "" && tc.status == "Success" {
				assert.Equal(t, "", reason, r.lines[0])
			} else {
				assert.Contains(t, reason, tc.reason)
			}
			assert.Empty(t, r.stderr)
		})
	}
}

// --count and --interval; the exit code follows the last result.
func TestCountAndInterval(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{Port: 8080})
	t0 := time.Now()
	r := run(t, pidArgs(c, "--count", "3", "--interval", "100ms", "tcp", "8080")...)
	assert.GreaterOrEqual(t, time.Since(t0), 200*time.Millisecond)
	require.Len(t, r.lines, 3)
	for _, l := range r.lines {
		assert.True(t, strings.HasPrefix(l, "status=Success exit=0 duration="), l)
	}
	assert.Equal(t, 0, r.code)

	// The listener goes away between probes: the last result decides.
	cmd, stdout, stderr := probeCmd(t, pidArgs(c, "--count", "2", "--interval", "1s", "tcp", "8080")...)
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") >= 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, c.StopListener())
	t.Cleanup(func() { _ = c.StartListener() })
	r = finish(t, cmd, cmd.Wait(), stdout, stderr)
	require.Len(t, r.lines, 2)
	assert.True(t, strings.HasPrefix(r.lines[0], "status=Success"), r.lines[0])
	assert.True(t, strings.HasPrefix(r.lines[1], "status=Failure"), r.lines[1])
	assert.Equal(t, 1, r.code)

	// --count 0 probes until SIGTERM.
	cmd, stdout, stderr = probeCmd(t, pidArgs(c, "--count", "0", "--interval", "20ms", "exec", "true")...)
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") >= 3 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	r = finish(t, cmd, cmd.Wait(), stdout, stderr)
	assert.GreaterOrEqual(t, len(r.lines), 3)
	assert.Equal(t, 0, r.code)
}

// Usage errors and targets that cannot be probed: exit 2, one line on
// stderr, nothing on stdout.
func TestUsageErrors(t *testing.T) {
	c := testcontainer.New(t, testcontainer.Options{})
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	pid := strconv.Itoa(c.PID)
	cases := []struct {
		name string
		args []string
		text string
	}{
		{"no pid", []string{"tcp", "80"}, "--pid"},
		{"pid 0", []string{"--pid", "0", "tcp", "80"}, "--pid"},
		{"exited pid", []string{"--pid", strconv.Itoa(gone.Process.Pid), "tcp", "80"}, "not running"},
		{"no probe", []string{"--pid", pid}, "no probe"},
		{"unknown probe", []string{"--pid", pid, "smtp", "80"}, `unknown probe "smtp"`},
		{"tcp host name", []string{"--pid", pid, "tcp", "example.com:80"}, "not an IP address"},
		{"grpc without port", []string{"--pid", pid, "grpc"}, "PORT"},
		{"exec without command", []string{"--pid", pid, "exec", "--"}, "no command"},
		{"tcp without port", []string{"--pid", pid, "tcp"}, "PORT"},
		{"tcp bad port", []string{"--pid", pid, "tcp", "70000"}, "70000"},
		{"http extra", []string{"--pid", pid, "http", "80", "/", "x"}, "PORT"},
		{"bad timeout", []string{"--pid", pid, "--timeout", "0s", "tcp", "80"}, "--timeout"},
		{"bad count", []string{"--pid", pid, "--count", "-1", "tcp", "80"}, "--count"},
		{"bad flag", []string{"--pid", pid, "--bogus", "tcp", "80"}, "bogus"},
		{"user on tcp", []string{"--pid", pid, "-u", "app", "tcp", "80"}, "for exec probes"},
		{"bad env", []string{"--pid", pid, "-e", "X", "exec", "true"}, "not KEY=VAL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.args...)
			assert.Equal(t, 2, r.code)
			assert.Empty(t, r.lines)
			assert.True(t, strings.HasPrefix(r.stderr, "probe: "), r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
			assert.Contains(t, r.stderr, tc.text)
		})
	}
	r := run(t, "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, strings.Join(r.lines, "\n"), "usage: probe")
}

// A paused (frozen) container: the CLI follows the library — TCP probes
// succeed (the kernel still completes the handshake), exec probes are
// refused because the command would freeze too.
func TestPausedContainer(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Args: []string{"httpd", "-f", "-p", "127.0.0.1:8080"}})
	pid := strconv.Itoa(c.PID)
	require.Eventually(t, func() bool { return run(t, "--pid", pid, "tcp", "8080").code == 0 }, 10*time.Second, 20*time.Millisecond)
	_, err := c.Run("pause", c.ID)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = c.Run("resume", c.ID) })

	r := run(t, "--pid", pid, "tcp", "8080")
	status, _, reason := parse(t, r)
	assert.Equal(t, "Success", status, reason)
	assert.Equal(t, 0, r.code)
	assert.Empty(t, r.stderr)

	r = run(t, "--pid", pid, "exec", "true")
	assert.Equal(t, 2, r.code)
	assert.Empty(t, r.lines)
	assert.Contains(t, r.stderr, "paused")
}
