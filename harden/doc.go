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
// package supplies capability values, go-landlock the access rights,
// go-seccomp-bpf the policy type and the assembly of the filter — all in
// the parent, at Compile. The sequence itself lives in
// nucleus/internal/hardencore, written against package syscall only, so
// that the launch engine's child can run it from a package Go initialises
// before os, time, reflect and these libraries; Apply here is a thin layer
// over it, and Program, SockFilter, LandlockRule and StepError are its
// types.
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
//     switch only so that CAP_SETPCAP remains for step 2 (the kernel resets
//     it at execve, and step 5 empties the sets anyway).
//  2. Capabilities that execve could hand out: every capability not kept is
//     dropped from the bounding set (up to the kernel's last capability;
//     the loop ends where the kernel answers EINVAL, so a container /proc
//     that under-reports cap_last_cap cannot keep one alive), the ambient
//     set is cleared (ambient capabilities survive execve even for non-root)
//     and so is the inheritable set (CVE-2022-29162, CVE-2022-27650: runc
//     and crun gave exec'd processes inheritable capabilities, which file
//     capabilities could turn into real ones).
//  3. PR_SET_NO_NEW_PRIVS: setuid binaries and file capabilities inside the
//     container can no longer raise privileges; and it is what allows an
//     unprivileged thread to enforce Landlock and seccomp, so it precedes
//     both.
//  4. Landlock. The rule paths are opened now, with O_PATH, in the
//     container's mount namespace and root, so they name the container's
//     /usr, not the host's. Missing paths are skipped; rights are masked to
//     what the kernel's Landlock ABI supports and to what applies to a file
//     for a non-directory. Every right the ABI supports is handled, so what
//     no rule grants is denied. A kernel without Landlock is an error
//     unless LandlockBestEffort.
//  5. Effective and permitted are cleared, except kept capabilities: the
//     last privileged operation (opening the rule paths) is done.
//  6. close_range(3, ~0U, CLOSE_RANGE_CLOEXEC): no fd of the caller but 0, 1
//     and 2 reaches the command (CVE-2024-21626: runc leaked a host
//     directory fd that a container process reached through
//     /proc/self/fd/N). Close-on-exec rather than close, so the Go runtime's
//     own fds keep working until execve.
//  7. chdir(dir), then getcwd must return an absolute path. A working
//     directory outside the process root (the other half of CVE-2024-21626:
//     cwd set to /proc/self/fd/N of a leaked host fd) is reported by the
//     kernel as "(unreachable)/..." and refused. Relative dirs are refused
//     too: they would depend on whatever the cwd was.
//  8. PR_SET_DUMPABLE 0, again. The namespace constructor made the process
//     non-dumpable before joining (CVE-2016-9962: a container process could
//     ptrace runc's exec helper and take its host fds), but changing uid or
//     gid resets the flag to fs.suid_dumpable, which a host may set to 1.
//     execve then makes the new image dumpable by the usual rules, which is
//     fine: it holds nothing of the host.
//  9. seccomp, last: the filter must allow execve anyway, and installing it
//     earlier would force the profile to allow setresuid, capset,
//     landlock_*, close_range and friends to the command as well. The filter
//     is installed on this thread only, then verified (PR_GET_SECCOMP, or
//     /proc/thread-self/status when the filter denies prctl).
//
// Any failure returns a *StepError naming the step; the thread is then
// half-hardened and must exit without executing anything.
//
// # Defaults
//
// DefaultSeccompPolicy is an allow-list in the spirit of Docker's default
// profile, with EPERM (not kill) for everything else, clone only without
// namespace flags, clone3 → ENOSYS, non-native architectures denied.
// DefaultLandlockRules lets "/" be listed, /usr, /bin, /sbin and /lib* be
// read and executed, /etc, /proc and /dev be read, and /tmp and /dev/shm be
// read and written but not executed; Read never implies Exec (the Rust
// predecessor's did). /dev/null, /dev/zero, /dev/full, /dev/tty, /dev/ptmx
// and /dev/pts are writable so that shells can redirect to them.
package harden
