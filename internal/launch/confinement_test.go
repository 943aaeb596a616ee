package launch

import (
	"os"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"nucleus/harden"
	"nucleus/internal/proc"
	"nucleus/internal/testcontainer"
	"nucleus/state"
)

// dockerLikeSeccomp is a profile of Docker's shape: errno by default, a
// long allow-list, a few calls with argument conditions.
func dockerLikeSeccomp() *specs.LinuxSeccomp {
	allow := []string{"read", "write", "openat", "close", "fstat", "newfstatat", "mmap", "munmap", "mprotect", "brk",
		"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "pread64", "pwrite64", "readv", "writev", "access",
		"pipe", "pipe2", "select", "sched_yield", "mremap", "msync", "madvise", "dup", "dup2", "dup3", "nanosleep",
		"getpid", "socket", "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "bind", "listen",
		"clone", "fork", "vfork", "execve", "exit", "exit_group", "wait4", "kill", "uname", "fcntl", "getcwd",
		"chdir", "fchdir", "rename", "mkdir", "rmdir", "unlink", "readlink", "chmod", "chown", "umask", "getuid",
		"getgid", "geteuid", "getegid", "setuid", "setgid", "setresuid", "setresgid", "setgroups", "capget",
		"capset", "prctl", "arch_prctl", "set_tid_address", "futex", "getdents64", "close_range", "prlimit64",
		"seccomp", "getrandom", "rseq", "set_robust_list", "statx", "faccessat", "faccessat2", "poll", "ppoll",
		"clock_nanosleep", "clock_gettime", "gettid", "tgkill", "sigaltstack", "pause", "restart_syscall", "epoll_pwait"}
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{
			{Names: allow, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
			{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 40, Op: specs.OpEqualTo}}},
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
		},
	}
}

// The target's confinement from a runc container's OCI config: the
// capability sets are the intersection of the process's and the config's,
// no_new_privs either's, the profile compiled, and the compiled part cached
// per target.
func TestReadConfinementFromOCI(t *testing.T) {
	c := testcontainer.StartRunc(t, testcontainer.RuncOptions{Confinement: testcontainer.Confinement{
		Capabilities: []string{"CAP_KILL", "CAP_CHOWN"},
		Seccomp:      dockerLikeSeccomp(),
	}})
	st := &state.ContainerState{PID: c.PID, BundlePath: c.Bundle}
	var err error
	st.StartTicks, err = proc.StartTicks(c.PID)
	require.NoError(t, err)
	conf, err := readConfinement(st)
	require.NoError(t, err)
	const want = uint64(1)<<5 | 1<<0 // kill, chown
	assert.Equal(t, harden.CapSets{Bounding: want, Permitted: want, Effective: want}, conf.Caps)
	assert.True(t, conf.NoNewPrivs)
	require.Len(t, conf.Seccomp, 1)
	assert.NotEmpty(t, conf.Rlimits)

	again, err := readConfinement(st)
	require.NoError(t, err)
	assert.Same(t, &conf.Seccomp[0][0], &again.Seccomp[0][0], "the compiled profile is cached per target")

	// A bundle whose config is missing reads as a bare PID's.
	bare := *st
	bare.BundlePath = t.TempDir()
	conf, err = readConfinement(&bare)
	require.NoError(t, err)
	assert.Empty(t, conf.Seccomp)

	// One that is there but broken is an error, not a dropped profile.
	broken := t.TempDir()
	require.NoError(t, os.WriteFile(broken+"/config.json", []byte(`{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOTIFY"}}}`), 0o644))
	bad := *st
	bad.BundlePath = broken
	_, err = readConfinement(&bad)
	assert.ErrorContains(t, err, "SCMP_ACT_NOTIFY")
}

// BenchmarkReadConfinement is the cost per attach of reading the target's
// confinement, beside its floor (one read of /proc/PID/status): a bare
// PID; a runc container with a Docker-like profile, cached (every attach
// after the first to a target) and uncached (the first).
func BenchmarkReadConfinement(b *testing.B) {
	c := testcontainer.StartRunc(b, testcontainer.RuncOptions{Confinement: testcontainer.Confinement{
		Capabilities: testcontainer.DockerCapabilities, Seccomp: dockerLikeSeccomp(),
	}})
	ticks, err := proc.StartTicks(c.PID)
	if err != nil {
		b.Fatal(err)
	}
	oci := &state.ContainerState{PID: c.PID, StartTicks: ticks, BundlePath: c.Bundle}
	bare := &state.ContainerState{PID: c.PID, StartTicks: ticks}
	must := func(st *state.ContainerState) func() {
		return func() {
			if _, err := readConfinement(st); err != nil {
				b.Fatal(err)
			}
		}
	}
	ops := []func(){
		func() {
			if _, err := proc.ReadStatus(c.PID); err != nil {
				b.Fatal(err)
			}
		},
		must(bare),
		must(oci),
		func() {
			confCache.Lock()
			confCache.m = nil
			confCache.Unlock()
			specCache.Lock()
			clear(specCache.m)
			specCache.Unlock()
			must(oci)()
		},
	}
	// Interleaved, so that the load of a shared machine falls on all four
	// alike.
	var total [4]time.Duration
	n := 0
	for b.Loop() {
		for k, op := range ops {
			t0 := time.Now()
			op()
			total[k] += time.Since(t0)
		}
		n++
	}
	us := func(k int) float64 { return float64(total[k].Nanoseconds()) / float64(n) / 1e3 }
	b.ReportMetric(us(0), "status-µs")
	b.ReportMetric(us(1), "bare-µs")
	b.ReportMetric(us(2), "oci-cached-µs")
	b.ReportMetric(us(3), "oci-uncached-µs")
	b.ReportMetric(us(1)/us(0), "bare/status")
	b.ReportMetric(us(2)/us(0), "cached/status")
	b.ReportMetric(us(3)/us(0), "uncached/status")
}
