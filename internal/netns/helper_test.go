package netns

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/internal/testutil"
)

// The tests need processes in their own network namespaces with listeners
// on their loopback. They re-execute the test binary as such a process
// ("helper mode", selected by an environment variable) instead of depending
// on internal/testcontainer, so this leaf package tests on its own.

const helperEnv = "NUCLEUS_NETNS_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		runHelper()
		os.Exit(0)
	}
	if pid := os.Getenv(factoryMainEnv); pid != "" {
		os.Exit(factoryFromMain(pid))
	}
	os.Exit(m.Run())
}

// runHelper brings lo up, listens on two loopback ports and prints
// "ready <echoPort> <stuckPort>". The echo port accepts and echoes; the stuck
// port has a backlog of 0 and never accepts, so once one connection is
// queued further SYNs are dropped and connects hang (tcp_conn_request drops
// SYNs when the accept queue is full).
func runHelper() {
	if err := loUp(); err != nil {
		fmt.Println("error", err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		return
	}
	stuck, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err == nil {
		err = unix.Bind(stuck, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	}
	if err == nil {
		err = unix.Listen(stuck, 0)
	}
	var stuckPort int
	if err == nil {
		var sa unix.Sockaddr
		sa, err = unix.Getsockname(stuck)
		if err == nil {
			stuckPort = sa.(*unix.SockaddrInet4).Port
		}
	}
	if err != nil {
		fmt.Println("error", err)
		return
	}
	fmt.Printf("ready %d %d\n", ln.Addr().(*net.TCPAddr).Port, stuckPort)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b := make([]byte, 512)
			for {
				n, err := c.Read(b)
				if err != nil {
					return
				}
				if _, err := c.Write(b[:n]); err != nil {
					return
				}
			}
		}()
	}
}

func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// target is a helper process in its own network namespace.
type target struct {
	cmd       *exec.Cmd
	pid       int
	echoPort  int
	stuckPort int
}

// startTarget starts a helper in a new network namespace; with userns the
// namespace is owned by a new user namespace too (mapping root to root, so
// the helper can still execute the test binary), like a rootless container.
func startTarget(t testing.TB, userns bool) *target {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if userns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	tg := &target{cmd: cmd, pid: cmd.Process.Pid}
	t.Cleanup(func() { tg.stop() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "helper output")
	f := strings.Fields(line)
	require.Len(t, f, 3, "helper said %q", line)
	require.Equal(t, "ready", f[0], "helper said %q", line)
	tg.echoPort, _ = strconv.Atoi(f[1])
	tg.stuckPort, _ = strconv.Atoi(f[2])
	return tg
}

func (tg *target) stop() {
	if tg.cmd.ProcessState == nil {
		_ = tg.cmd.Process.Kill()
		_ = tg.cmd.Wait()
	}
}

// inChild runs the calling test alone in a subprocess of the test binary
// with env=1, and checks it passed there; it reports whether the caller
// is that subprocess and should do the test's work. For tests that may
// leave a discarded thread behind, which must not disturb other tests.
func inChild(t *testing.T, env string) bool {
	t.Helper()
	if os.Getenv(env) == "1" {
		return true
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "child:\n%s", out)
	return false
}

// assertThreadGone checks that thread id of this process ends soon and
// that no thread is left outside the network namespace own.
func assertThreadGone(t *testing.T, id int, own string) {
	t.Helper()
	gone := testutil.Within(3*time.Second, func() bool {
		_, err := os.Stat("/proc/self/task/" + strconv.Itoa(id))
		return os.IsNotExist(err)
	})
	assert.True(t, gone, "thread %d still exists", id)
	assert.Empty(t, testutil.ThreadsOutsideNetNS(t, own))
}
