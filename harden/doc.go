// Package harden turns a Policy into a Program in the parent (Compile) and
// applies it, in the child, to the one OS thread that is about to execve the
// command inside the container (Program.Apply).
//
// # One thread, raw system calls
//
// execve replaces the whole process, and the new image inherits the
// credentials, capability sets, no_new_privs bit, Landlock domain and
// seccomp filter of the thread that called it; the other threads die. So
// only that thread (locked with runtime.LockOSThread) is hardened, with raw
// single-thread system calls: no psx broadcast, no
// syscall.AllThreadsSyscall (which x/sys/unix's Setresuid and friends use
// since Go 1.16), no Landlock or seccomp TSYNC. Broadcasting every step to
// every runtime thread costs about 40 signal round trips and doubles the
// cost of an attach, for threads that are about to disappear. libcap's cap
// package supplies capability values, go-landlock the access rights —
// both in the parent, at Compile (custom go-seccomp-bpf policies are
// assembled by nucleus/harden/seccomppolicy). The sequence itself lives in
// nucleus/internal/hardencore, in C (apply.c), so that the launch engine's
// grandchild runs it from its constructor before any Go runtime starts in
// the container; Apply here reaches the same C through cgo, and Program,
// SockFilter, LandlockRule and StepError are hardencore's types.
//
// # Two policies
//
// The zero Policy (ContainerPolicy) is the container's own confinement,
// never looser, as `runc exec` gives it: CompileFor takes the target's
// Confinement (read by the launch engine in the parent: the five capability
// sets and NoNewPrivs of /proc/PID/status, intersected with the OCI
// config's process.capabilities and noNewPrivileges when the bundle is
// readable; the rlimits by prlimit; the LSM label from /proc/PID/attr; the
// config's linux.seccomp compiled by CompileOCISeccomp) and gives the
// command exactly that, with nucleus's seccomp floor (seccomppolicy.Default)
// stacked under the container's profile and no Landlock domain. Every set
// of the Program is a subset of the target's; inheritable capabilities are
// the target's, never more (CVE-2022-29162 is runtimes adding some).
//
// StrictPolicy(workdirs...) is the sandbox for agents and untrusted
// commands: no capabilities, no_new_privs, the floor, Landlock with the
// image read+exec and the work trees read+write+exec, and no anonymous-file
// exec (memfd_create, memfd_secret and execveat(AT_EMPTY_PATH) fail:
// Landlock never sees a memfd). The container's seccomp profile, rlimits
// and LSM label apply under it too.
//
// Where nucleus differs from runc exec: the floor is always there (it
// denies what Docker's default profile denies and a few calls more, see
// seccomppolicy.Default); a target's rlimit above the caller's hard limit
// is clamped to it when the caller may not raise it (tighter, never
// looser); the capability sets are those the target process has now, so
// a process that dropped capabilities after it started hands the command
// no more than it kept. A bare PID's own seccomp filter cannot be read
// without ptrace-stopping the target (PTRACE_SECCOMP_GET_FILTER), so only
// the floor applies to a command attached by PID alone: the state of an OCI
// runtime (state.FromOCI, with its bundle) is what carries the container's
// profile.
//
// # The order, and why
//
//  1. Identity: setgroups, setresgid, setresuid. First, because they need
//     CAP_SETGID and CAP_SETUID, and in this order because after setresuid
//     to a non-zero uid setgid would no longer be allowed. The Rust
//     predecessor dropped capabilities and loaded a kill-by-default seccomp
//     filter before setuid, so every exec probe as a non-root user failed.
//     setgroups is skipped only when the user namespace forbids it
//     (/proc/self/setgroups "deny", read after the kernel refused) and no
//     additional gids were asked for; otherwise the caller's groups would
//     leak into the container. Going from uid 0 to another uid clears the
//     permitted set unless PR_SET_KEEPCAPS is on; it is held across the
//     switch so that the capabilities the later steps need remain (the
//     kernel resets it at execve).
//  2. The bounding set is reduced to the Program's (up to the kernel's last
//     capability; the loop ends where the kernel answers EINVAL, so a
//     container /proc that under-reports cap_last_cap cannot keep one
//     alive).
//  3. rlimits, while CAP_SYS_RESOURCE may still be held (raising a hard
//     limit needs it).
//  4. Without no_new_privs: seccomp now. seccomp(2) then needs
//     CAP_SYS_ADMIN, which the thread still holds and the command may not;
//     runc orders it the same way. The floor allows every later step
//     (capset, prctl, open and write of attr/exec, close_range, chdir,
//     getcwd, execve); a container profile that denies one makes that step
//     fail by name.
//  5. The ambient set is cleared and the inheritable set set to the
//     Program's.
//  6. The LSM label is written to /proc/thread-self/attr/.../exec: before
//     no_new_privs, under which AppArmor and SELinux restrict label
//     transitions (runc orders it the same way), and before Landlock, which
//     may deny writing under /proc.
//  7. PR_SET_NO_NEW_PRIVS, when the target has it or the policy asks
//     (strict: always): setuid binaries and file capabilities inside the
//     container can no longer raise privileges; it is also what allows an
//     unprivileged thread to enforce Landlock and seccomp.
//  8. Landlock (strict, or a policy with rules). The rule paths are opened
//     now, with O_PATH, in the container's mount namespace and root, so
//     they name the container's /usr, not the host's. Missing paths are
//     skipped; rights are masked to what the kernel's Landlock ABI supports
//     and to what applies to a file for a non-directory. Every right the
//     ABI supports is handled, so what no rule grants is denied. A kernel
//     without Landlock is an error unless LandlockBestEffort.
//  9. Effective, permitted and inheritable are set to the Program's, then
//     its ambient capabilities raised (they are what a non-zero uid keeps
//     across execve). The strict policy refuses kept capabilities for a
//     non-zero uid: execve would drop them.
//  10. close_range(3, ~0U, CLOSE_RANGE_CLOEXEC): no fd of the caller but 0,
//     1 and 2 reaches the command (CVE-2024-21626: runc leaked a host
//     directory fd that a container process reached through
//     /proc/self/fd/N). Close-on-exec rather than close, so the Go runtime's
//     own fds keep working until execve.
//  11. chdir(dir), then getcwd must return an absolute path. A working
//     directory outside the process root (the other half of CVE-2024-21626:
//     cwd set to /proc/self/fd/N of a leaked host fd) is reported by the
//     kernel as "(unreachable)/..." and refused. Relative dirs are refused
//     too: they would depend on whatever the cwd was.
//  12. PR_SET_DUMPABLE 0, again. The namespace constructor made the process
//     non-dumpable before joining (CVE-2016-9962: a container process could
//     ptrace runc's exec helper and take its host fds), but changing uid or
//     gid resets the flag to fs.suid_dumpable, which a host may set to 1.
//     execve then makes the new image dumpable by the usual rules, which is
//     fine: it holds nothing of the host.
//  13. With no_new_privs: seccomp, last: the filters must allow execve
//     anyway, and installing them earlier would force the profile to allow
//     setresuid, capset, landlock_*, close_range and friends to the command
//     as well. The floor is installed first (it allows seccomp(2); a
//     container profile might not), then the stacked filters, on this
//     thread only, then verified (PR_GET_SECCOMP, or
//     /proc/thread-self/status when a filter denies prctl).
//
// Any failure returns a *StepError naming the step; the thread is then
// half-hardened and must exit without executing anything.
//
// # Defaults
//
// The seccomp floor, nucleus/harden/seccomppolicy.Default, is an
// allow-list in the spirit of Docker's default profile, with EPERM (not
// kill) for everything else, clone only without namespace flags, clone3 →
// ENOSYS, non-native architectures denied, socket(AF_VSOCK) and ioctl
// TIOCSTI, TIOCLINUX and TIOCSETD denied. It is written as a go-seccomp-bpf
// policy and assembled ahead of time (go generate ./harden writes
// seccomp_tables_amd64.go; TestGeneratedTablesUpToDate fails when the
// committed instructions differ from a fresh assembly), so this package
// neither links nor initialises go-seccomp-bpf, whose syscall tables for
// five architectures cost ≈ 0.25 ms at every process start, and a
// one-shot attach does not assemble it. The floor, the strict additions
// and a container's profile (CompileOCISeccomp) are each a binary search
// on intervals of syscall numbers behind the architecture check
// (harden/internal/bpfasm.Tree): the floor is 123 instructions, about a
// third of the previous encoding's, so seccomp(2), which converts,
// JIT-compiles and runs the filter once per syscall number to fill the
// kernel's action cache, costs about a third as well. A caller who wants
// another floor builds it with seccomppolicy.Assemble and passes the filter
// in Policy.Seccomp; only that program links go-seccomp-bpf.
// Architectures other than amd64 assemble the floor once per process.
// DefaultLandlockRules, the strict policy's, lets "/" be listed, /usr,
// /bin, /sbin and /lib* be read and executed, /etc, /proc and /dev be read,
// and /tmp and /dev/shm be read and written but not executed; Read never
// implies Exec (the Rust predecessor's did). /dev/null, /dev/zero,
// /dev/full, /dev/tty, /dev/ptmx and /dev/pts are writable so that shells
// can redirect to them.
package harden

//go:generate go test ./seccomppolicy -run TestGeneratedTablesUpToDate -args -update
