package attach_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/attach"
	"nucleus/harden"
	"nucleus/internal/testcontainer"
	"nucleus/internal/testutil"
	"nucleus/state"
)

const hostBusybox = "/bin/busybox"

// requireStaticBusybox skips (fails under NUCLEUS_REQUIRE_ROOT) without the
// static busybox the test rootfs is built from.
func requireStaticBusybox(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(hostBusybox); err != nil {
		testutil.Missing(t, "%s (apt-get install busybox-static): %v", hostBusybox, err)
	}
}

// A distroless container — only the static init, no shell, no busybox —
// debugged with the host's static busybox: ps sees the container's
// processes, ls / its root, wget reaches its own listener on its loopback.
func TestHostBinaryDistroless(t *testing.T) {
	testutil.RequireRoot(t)
	requireStaticBusybox(t)
	for _, rootless := range []bool{false, true} {
		t.Run("rootless="+strconv.FormatBool(rootless), func(t *testing.T) {
			c, st := container(t, testcontainer.Options{Distroless: true, Port: 8086, Rootless: rootless})
			_, err := os.Stat(filepath.Join(c.Rootfs, "bin/busybox"))
			require.ErrorIs(t, err, os.ErrNotExist, "the rootfs must have no busybox")

			code, err := attach.Attach(st, []string{"sh", "-c", "true"}, attach.WithStdio(nil, nil, nil))
			var ee *attach.ExecError
			require.ErrorAs(t, err, &ee, "the image has no shell: code %d", code)

			fds, kids := fdCount(t), len(children(t))
			bb := attach.WithHostBinary(hostBusybox)
			code, out := run(t, st, []string{"ls", "/"}, bb)
			require.Equal(t, 0, code, out)
			assert.ElementsMatch(t, []string{"bin", "dev", "etc", "home", "proc", "root", "sbin", "tmp", "usr"}, strings.Fields(out))

			code, out = run(t, st, []string{"ps", "-o", "pid,comm"}, bb)
			require.Equal(t, 0, code, out)
			assert.Regexp(t, `(?m)^\s*1 nucleus-testhel`, out, "the container's init is PID 1")

			code, out = run(t, st, []string{"wget", "-q", "-O", "-", "http://127.0.0.1:8086/healthz"}, bb)
			require.Equal(t, 0, code, out)
			assert.Equal(t, "ok", strings.TrimSpace(out))

			// The host binary's fd is not inherited: only stdio (and ls's
			// own directory fd) are open in the command.
			code, out = run(t, st, []string{"ls", "/proc/self/fd"}, bb)
			require.Equal(t, 0, code, out)
			assert.Equal(t, []string{"0", "1", "2", "3"}, strings.Fields(out))

			// argv[0] picks the applet, as for a container binary.
			code, out = run(t, st, []string{"sh", "-c", "echo $0 $(id -u)"}, bb)
			require.Equal(t, 0, code, out)
			assert.Equal(t, "sh 0", strings.TrimSpace(out))

			assert.Equal(t, fds, fdCount(t), "fds leaked")
			assert.Len(t, children(t), kids, "children left")
		})
	}
}

// A dynamically linked host binary is refused before anything starts
// (CVE-2019-14271), as are scripts and non-executables; nothing is left.
func TestHostBinaryRefused(t *testing.T) {
	testutil.RequireRoot(t)
	requireStaticBusybox(t)
	_, st := container(t, testcontainer.Options{Distroless: true})
	script := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	noexec := filepath.Join(t.TempDir(), "busybox")
	b, err := os.ReadFile(hostBusybox)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(noexec, b, 0o644))

	// One attach first: what a process keeps open for all its attaches
	// (the executable view, /dev/null) is not a leak of the refusals.
	code, err := attach.Attach(st, []string{"true"}, attach.WithHostBinary(hostBusybox), attach.WithStdio(nil, nil, nil))
	require.NoError(t, err)
	require.Equal(t, 0, code)
	fds, kids := fdCount(t), len(children(t))
	for _, tc := range []struct {
		path string
		want error
		text string
	}{
		{"/bin/ls", attach.ErrDynamicBinary, "interpreter"},
		{script, attach.ErrNotELF, "script"},
		{noexec, os.ErrPermission, "not executable"},
		{"/nonexistent", os.ErrNotExist, "open"},
		{"/dev/null", nil, "not a regular file"},
	} {
		_, err := attach.Attach(st, []string{"x"}, attach.WithHostBinary(tc.path), attach.WithStdio(nil, nil, nil))
		require.Error(t, err, tc.path)
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, tc.path)
		}
		assert.Contains(t, err.Error(), "host binary "+strconv.Quote(tc.path), tc.path)
		assert.Contains(t, err.Error(), tc.text, tc.path)
	}
	// Accepted when asked for: /bin/ls then fails inside, for want of the
	// container's ld.so — an exec error, not a refusal.
	_, err = attach.Attach(st, []string{"ls"}, attach.WithHostBinary("/bin/ls"), attach.WithDynamicHostBinary(), attach.WithStdio(nil, nil, nil))
	var ee *attach.ExecError
	require.ErrorAs(t, err, &ee)
	assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
	assert.Equal(t, fds, fdCount(t), "fds leaked")
	assert.Len(t, children(t), kids, "children left")
}

// A runc container: the host's busybox runs inside it as runc exec would
// run the container's own (same hostname and root).
func TestHostBinaryRunc(t *testing.T) {
	requireStaticBusybox(t)
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Hostname: "runc-hostbin"})
	require.NoError(t, os.Remove(filepath.Join(c.Rootfs, "bin/hostname")))
	st := runcState(t, c)
	code, out := run(t, st, []string{"hostname"}, attach.WithHostBinary(hostBusybox))
	assert.Equal(t, 0, code)
	assert.Equal(t, "runc-hostbin\n", out)
	want, wantCode, err := c.Exec("ls", "/")
	require.NoError(t, err)
	code, out = run(t, st, []string{"ls", "/"}, attach.WithHostBinary(hostBusybox))
	assert.Equal(t, wantCode, code)
	assert.Equal(t, want, out)
}

// A gVisor sandbox is never joined, so neither a host binary nor a copy can
// be done there: refused with ErrUnsupported before anything starts.
func TestHostBinaryAndCopyRefuseGVisor(t *testing.T) {
	st := &state.ContainerState{ID: "g", PID: os.Getpid(), UsingGVisor: true, Status: state.StatusRunning}
	_, err := attach.Attach(st, []string{"ls"}, attach.WithHostBinary(hostBusybox))
	assert.ErrorIs(t, err, attach.ErrUnsupported)
	err = attach.CopyTo(context.Background(), st, "/tmp", strings.NewReader(""))
	assert.ErrorIs(t, err, attach.ErrUnsupported)
	_, err = attach.CopyFrom(context.Background(), st, "/etc")
	assert.ErrorIs(t, err, attach.ErrUnsupported)
}

// Under a policy with Landlock rules a host binary still runs in an image
// without /proc: its Landlock exec right comes from the fd the parent
// opened, not from a /proc/self/fd path such an image cannot resolve. The
// strict policy refuses host binaries outright: its filter denies
// executing by descriptor.
func TestHostBinaryLandlockWithoutProc(t *testing.T) {
	testutil.RequireRoot(t)
	requireStaticBusybox(t)
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		testutil.Missing(t, "nsenter (util-linux): %v", err)
	}
	c, st := container(t, testcontainer.Options{Distroless: true})
	// Unmount the container's /proc from inside its mount namespace, with
	// a static busybox put in its root for the purpose.
	bb := filepath.Join(c.Rootfs, "busybox")
	b, err := os.ReadFile(hostBusybox)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bb, b, 0o755))
	out, err := exec.Command(nsenter, "-t", strconv.Itoa(c.PID), "-m", "/busybox", "umount", "-l", "/proc").CombinedOutput()
	require.NoError(t, err, "umount /proc: %s", out)
	require.NoError(t, os.Remove(bb))

	landlocked := harden.Policy{Landlock: harden.DefaultLandlockRules()}
	code, got := run(t, st, []string{"ls", "/proc"}, attach.WithHostBinary(hostBusybox), attach.WithPolicy(landlocked))
	require.Equal(t, 0, code, got)
	assert.Empty(t, strings.TrimSpace(got), "the container has no /proc any more")
	// Landlock is in force: files under /root are granted nothing.
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "root/secret"), []byte("s3cret"), 0o644))
	code, got = run(t, st, []string{"cat", "/root/secret"}, attach.WithHostBinary(hostBusybox), attach.WithPolicy(landlocked))
	assert.NotEqual(t, 0, code, got)
	assert.NotContains(t, got, "s3cret")

	_, err = attach.Attach(st, []string{"true"}, attach.WithHostBinary(hostBusybox), attach.WithPolicy(harden.StrictPolicy()))
	assert.ErrorIs(t, err, state.ErrUnsupported)
	assert.ErrorContains(t, err, "strict policy denies executing a file by descriptor")
}
