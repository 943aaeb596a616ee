package attach_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/attach"
	"nucleus/harden"
	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
)

// WithPolicy with Capabilities masks the container's sets: a kept
// capability is in the bounding, permitted and effective sets of the
// command, and nothing else is.
func TestWithPolicyKeepsCapability(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	for _, pol := range []harden.Policy{
		{Capabilities: []cap.Value{cap.NET_BIND_SERVICE}},
		{Strict: true, Capabilities: []cap.Value{cap.NET_BIND_SERVICE}},
	} {
		code, out := run(t, st, []string{"cat", "/proc/self/status"}, attach.WithPolicy(pol))
		require.Equal(t, 0, code, out)
		s, err := proc.ParseStatus([]byte(out))
		require.NoError(t, err)
		const bit = uint64(1) << cap.NET_BIND_SERVICE
		assert.Equal(t, bit, s.CapEff, "strict=%v", pol.Strict)
		assert.Equal(t, bit, s.CapPrm)
		assert.Equal(t, bit, s.CapBnd)
		assert.Zero(t, s.CapInh)
		assert.Zero(t, s.CapAmb)
		assert.Equal(t, 2, s.Seccomp)
	}
}

// A policy that cannot be compiled is refused before anything starts.
func TestWithPolicyInvalid(t *testing.T) {
	_, st := container(t, testcontainer.Options{})
	_, err := attach.Attach(st, []string{"true"}, attach.WithStdio(nil, nil, nil),
		attach.WithPolicy(harden.Policy{Landlock: []harden.PathRule{}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "attach: policy:")
}

// statusAndLimits runs cat of the command's status and limits.
func statusAndLimits(t *testing.T, out string) (proc.Status, []proc.Rlimit) {
	t.Helper()
	i := strings.Index(out, "Limit ")
	require.Positive(t, i, out)
	s, err := proc.ParseStatus([]byte(out[:i]))
	require.NoError(t, err)
	l, err := proc.ParseLimits([]byte(out[i:]))
	require.NoError(t, err)
	return s, l
}

// From a bare PID (no OCI config), the default attach gives the command the
// target's confinement: its five capability sets, its no_new_privs bit and
// its rlimits (lowered here on the running target, so that they differ
// from the caller's), with the seccomp floor on top of whatever the target
// has.
func TestContainerPolicyFromBarePID(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		t.Run(map[bool]string{false: "rootful", true: "rootless"}[rootless], func(t *testing.T) {
			c, st := container(t, testcontainer.Options{Rootless: rootless})
			if !rootless {
				// Same uid as the target: lowering its limits needs no privilege.
				require.NoError(t, unix.Prlimit(c.PID, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 321, Max: 654}, nil))
				require.NoError(t, unix.Prlimit(c.PID, unix.RLIMIT_NPROC, &unix.Rlimit{Cur: 4321, Max: 8765}, nil))
			}
			code, out := run(t, st, []string{"cat", "/proc/self/status", "/proc/self/limits"})
			require.Equal(t, 0, code, out)
			got, gotLimits := statusAndLimits(t, out)
			want, err := proc.ReadStatus(c.PID)
			require.NoError(t, err)
			b, err := os.ReadFile("/proc/" + strconv.Itoa(c.PID) + "/limits")
			require.NoError(t, err)
			wantLimits, err := proc.ParseLimits(b)
			require.NoError(t, err)

			assert.Equal(t, want.CapBnd, got.CapBnd, "CapBnd")
			assert.Equal(t, want.CapPrm, got.CapPrm, "CapPrm")
			assert.Equal(t, want.CapEff, got.CapEff, "CapEff")
			assert.Equal(t, want.CapInh, got.CapInh, "CapInh")
			assert.Equal(t, want.CapAmb, got.CapAmb, "CapAmb")
			assert.NotZero(t, got.CapEff, "a root target has capabilities to carry over")
			assert.Equal(t, want.NoNewPrivs, got.NoNewPrivs, "NoNewPrivs")
			assert.Equal(t, want.SeccompFilters+1, got.SeccompFilters, "the floor on top of the target's filters")
			assert.Equal(t, wantLimits, gotLimits)
			if !rootless {
				assert.Contains(t, gotLimits, proc.Rlimit{Resource: unix.RLIMIT_NOFILE, Cur: 321, Max: 654})
				assert.Contains(t, gotLimits, proc.Rlimit{Resource: unix.RLIMIT_NPROC, Cur: 4321, Max: 8765})
			}
		})
	}
}

// Never looser than the container: a runc container with a reduced
// bounding set (Docker's capabilities minus NET_RAW and CHOWN),
// noNewPrivileges and a seccomp profile of its own that denies mkdir. The
// command's capability sets are within the target's, no_new_privs is set,
// it has more seccomp filters than the target (the floor), and mkdir is
// denied as the profile says — as under runc exec.
func TestContainerPolicyNeverLooser(t *testing.T) {
	var caps []string
	for _, n := range testcontainer.DockerCapabilities {
		if n != "CAP_NET_RAW" && n != "CAP_CHOWN" {
			caps = append(caps, n)
		}
	}
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Confinement: testcontainer.Confinement{
		Capabilities: caps,
		Seccomp: &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
		},
	}})
	st := runcState(t, c)
	target, err := proc.ReadStatus(c.PID)
	require.NoError(t, err)
	require.Equal(t, 1, target.NoNewPrivs)
	require.Zero(t, target.CapBnd&(1<<cap.NET_RAW), "runc applied the reduced set")

	var out bytes.Buffer
	code, err := attach.Attach(st, []string{"sh", "-c", "cat /proc/self/status; mkdir /tmp/denied; echo mkdir=$?"},
		attach.WithStdio(nil, &out, &out))
	require.NoError(t, err)
	require.Equal(t, 0, code, out.String())
	i := strings.Index(out.String(), "mkdir:")
	require.Positive(t, i, out.String())
	got, err := proc.ParseStatus(out.Bytes()[:i])
	require.NoError(t, err)
	for name, pair := range map[string][2]uint64{
		"CapBnd": {got.CapBnd, target.CapBnd}, "CapPrm": {got.CapPrm, target.CapPrm},
		"CapEff": {got.CapEff, target.CapEff}, "CapInh": {got.CapInh, target.CapInh}, "CapAmb": {got.CapAmb, target.CapAmb},
	} {
		assert.Zero(t, pair[0]&^pair[1], "%s %#x is not within the target's %#x", name, pair[0], pair[1])
	}
	assert.Equal(t, target.CapBnd, got.CapBnd)
	assert.Equal(t, 1, got.NoNewPrivs)
	assert.Greater(t, got.SeccompFilters, target.SeccompFilters)
	assert.Contains(t, out.String(), "Operation not permitted")
	assert.Contains(t, out.String(), "mkdir=1\n")

	// runc exec agrees.
	want, wantCode, err := c.Exec("sh", "-c", "mkdir /tmp/denied 2>/dev/null; echo mkdir=$?")
	require.NoError(t, err)
	assert.Equal(t, 0, wantCode)
	assert.Equal(t, "mkdir=1\n", want)
}

// Docker's 14 default capabilities, noNewPrivileges false as Docker sets
// it: what they allow works under the default attach as under runc exec —
// ping (NET_RAW), chown (CHOWN), reading a uid-1000 0750 directory as root
// (DAC_OVERRIDE) — and fails under the strict policy.
func TestDockerCapabilitiesWork(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Confinement: testcontainer.Confinement{
		Capabilities:       testcontainer.DockerCapabilities,
		AllowNewPrivileges: true,
	}})
	private := filepath.Join(c.Rootfs, "srv/private")
	require.NoError(t, os.MkdirAll(private, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(private, "data"), []byte("private data\n"), 0o640))
	for _, p := range []string{private, filepath.Join(private, "data")} {
		require.NoError(t, os.Chown(p, 1000, 1000))
	}
	require.NoError(t, os.Chmod(private, 0o750))
	st := runcState(t, c)
	cmds := map[string][]string{
		"ping":  {"ping", "-c1", "-W2", "127.0.0.1"},
		"chown": {"sh", "-c", "touch /tmp/owned && chown 1000:1000 /tmp/owned && stat -c %u:%g /tmp/owned"},
		"read":  {"cat", "/srv/private/data"},
	}
	for name, cmd := range cmds {
		_, wantCode, err := c.Exec(cmd...)
		require.NoError(t, err)
		require.Equal(t, 0, wantCode, "%s under runc exec", name)
		var out bytes.Buffer
		code, err := attach.Attach(st, cmd, attach.WithStdio(nil, &out, &out))
		require.NoError(t, err, name)
		assert.Equal(t, 0, code, "%s: %s", name, out.String())

		out.Reset()
		code, err = attach.Attach(st, cmd, attach.WithStdio(nil, &out, &out), attach.WithPolicy(harden.StrictPolicy()))
		require.NoError(t, err, name)
		assert.NotEqual(t, 0, code, "%s under the strict policy: %s", name, out.String())
	}
}

// A Landlock refusal names Landlock, the policy and the path.
func TestStrictExecRefusalNamesLandlock(t *testing.T) {
	c, st := container(t, testcontainer.Options{})
	require.NoError(t, os.MkdirAll(filepath.Join(c.Rootfs, "opt/app/bin"), 0o755))
	require.NoError(t, os.Link(filepath.Join(c.Rootfs, "bin/busybox"), filepath.Join(c.Rootfs, "opt/app/bin/busybox")))
	_, err := attach.Attach(st, []string{"/opt/app/bin/busybox", "true"}, attach.WithStdio(nil, nil, nil), attach.WithPolicy(harden.StrictPolicy()))
	require.Error(t, err)
	var ee *attach.ExecError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.ErrorIs(t, err, syscall.EACCES)
	assert.Equal(t, "Landlock (strict policy)", ee.RefusedBy)
	assert.Contains(t, err.Error(), `"/opt/app/bin/busybox"`)
	assert.Contains(t, err.Error(), "Landlock (strict policy)")

	// The same file in a work tree runs; under the container policy it
	// runs anyway.
	code, out := run(t, st, []string{"/opt/app/bin/busybox", "echo", "ran"}, attach.WithPolicy(harden.StrictPolicy("/opt/app")))
	assert.Equal(t, 0, code)
	assert.Equal(t, "ran\n", out)
	code, out = run(t, st, []string{"/opt/app/bin/busybox", "echo", "ran"})
	assert.Equal(t, 0, code)
	assert.Equal(t, "ran\n", out)

	// A file without exec permission is not Landlock's doing.
	require.NoError(t, os.WriteFile(filepath.Join(c.Rootfs, "opt/app/bin/noexec"), []byte("#!/bin/sh\n"), 0o644))
	_, err = attach.Attach(st, []string{"/opt/app/bin/noexec"}, attach.WithStdio(nil, nil, nil), attach.WithPolicy(harden.StrictPolicy("/opt/app")))
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Empty(t, ee.RefusedBy)
}
