// Package seccomppolicy builds nucleus seccomp floors from go-seccomp-bpf
// policies: the allow-list nucleus installs under every command (Default),
// and filters for callers who want another floor (Assemble, for
// harden.Policy.Seccomp).
//
// It is a package of its own so that a program that attaches with the
// default or the container policy does not link or initialise
// go-seccomp-bpf: the default floor and the strict policy's additions are
// assembled by this package once, at go:generate time, into
// nucleus/harden's seccomp_tables_<arch>.go, and nucleus/harden installs
// those instructions as they are (TestGeneratedTablesUpToDate fails when
// they differ from what this package assembles today).
package seccomppolicy

import (
	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"
)

// cloneNamespaceFlags are the CLONE_NEW* flags clone(2) accepts in its first
// argument: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
// (CLONE_NEWTIME exists only for unshare(2) and clone3(2).)
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// Ioctl requests that inject input into a terminal. A command attached to a
// terminal it shares with its caller could push keystrokes into the caller's
// shell (the classic su/sudo TIOCSTI escape, CVE-2017-5226 for bubblewrap).
const (
	ioctlTIOCSTI   = unix.TIOCSTI
	ioctlTIOCLINUX = unix.TIOCLINUX
	// ioctlTIOCSETD changes a terminal's line discipline, which loads
	// rarely used kernel code (n_hdlc, slcan, ...) with a history of
	// exploitable bugs; no everyday tool sets one.
	ioctlTIOCSETD = unix.TIOCSETD
)

// actionENOSYS makes a denied call look unimplemented, so that libc falls
// back to an older call (clone3 → clone).
const actionENOSYS = seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)

// allowedSyscalls is the allow-list of the default profile: what a shell,
// busybox and coreutils, and Go and glibc/musl programs use day to day, in
// the spirit of Docker's default profile. Names unknown on the running
// architecture (open, stat, fork... on arm64) are left out by
// Default.
var allowedSyscalls = []string{
	// I/O on file descriptors
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3",
	"fcntl", "flock", "ioctl", "sendfile", "splice", "tee", "vmsplice",
	"copy_file_range", "fadvise64", "readahead", "fsync", "fdatasync", "sync",
	"syncfs", "sync_file_range", "fallocate", "ftruncate", "truncate",
	// files and directories
	"open", "openat", "openat2", "creat", "access", "faccessat", "faccessat2",
	"stat", "lstat", "fstat", "newfstatat", "statx", "statfs", "fstatfs",
	"getdents", "getdents64", "readlink", "readlinkat", "chdir", "fchdir", "getcwd",
	"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat",
	"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat",
	"lchown", "umask", "utime", "utimes", "utimensat", "futimesat",
	"getxattr", "lgetxattr", "fgetxattr", "getxattrat", "listxattr", "llistxattr",
	"flistxattr", "listxattrat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
	"removexattr", "lremovexattr", "fremovexattr", "removexattrat",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	// memory
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "msync",
	"mlock", "mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages",
	"memfd_create", "membarrier", "pkey_alloc", "pkey_free", "pkey_mprotect",
	"get_mempolicy", "set_mempolicy", "mbind", "map_shadow_stack", "mseal", "cachestat",
	// processes, threads and identity (set* need capabilities, which are gone)
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setgroups", "setfsuid", "setfsgid", "capget", "capset",
	"getpriority", "setpriority", "ioprio_get", "ioprio_set", "getrlimit", "setrlimit",
	"prlimit64", "getrusage", "times", "prctl", "arch_prctl", "set_tid_address",
	"set_robust_list", "get_robust_list", "rseq", "futex", "futex_waitv",
	"futex_wake", "futex_wait", "futex_requeue", "get_thread_area", "set_thread_area",
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_getattr",
	"sched_setattr", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "getcpu", "seccomp", "landlock_create_ruleset",
	"landlock_add_rule", "landlock_restrict_self", "pidfd_open", "pidfd_send_signal",
	// signals
	"kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4", "restart_syscall", "pause",
	// time
	"time", "gettimeofday", "clock_gettime", "clock_getres", "clock_nanosleep",
	"nanosleep", "alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
	"timer_settime", "timer_gettime", "timer_getoverrun", "timerfd_create",
	"timerfd_settime", "timerfd_gettime",
	// polling and events
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	"pipe", "pipe2",
	// asynchronous I/O (not io_uring)
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
	// sockets
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	// System V and POSIX IPC (namespaced)
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", "mq_notify", "mq_getsetattr",
	// system information
	"uname", "sysinfo", "getrandom",
}

// deniedSyscalls are never allowed by the default profile; it is an
// allow-list, so they fall to the default action (EPERM). They are listed to
// be tested, and as documentation: mounting and namespaces (escape), kernel
// modules and kexec (code in the kernel), keyrings and bpf and perf and
// io_uring and userfaultfd (large attack surface, not namespaced), tracing
// other processes, handles to files outside the container
// (open_by_handle_at, the "shocker" escape), and host-wide settings.
var deniedSyscalls = []string{
	"mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"open_tree_attr", "statmount", "listmount",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key",
	"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"open_by_handle_at", "name_to_handle_at", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"syslog", "vhangup", "iopl", "ioperm", "modify_ldt", "uselib", "lookup_dcookie",
	"nfsservctl", "fanotify_init", "fanotify_mark", "memfd_secret", "process_mrelease",
	"migrate_pages", "move_pages",
}

// Default returns nucleus's default seccomp floor for the running
// architecture (a new value on
// every call, so callers may extend it): an allow-list in the spirit of
// Docker's default profile.
//
//   - Unknown and unlisted system calls fail with EPERM (not kill: the
//     Rust predecessor's kill-by-default profile killed `touch` on
//     utimensat and `free` on sysinfo).
//   - clone is allowed only without CLONE_NEW* flags; unshare, setns and
//     mount are denied, so no new namespace or mount can be made.
//   - clone3 fails with ENOSYS: its flags are behind a pointer a filter
//     cannot read, and ENOSYS makes glibc and Go fall back to clone.
//   - personality is allowed only for the values Docker allows.
//
// Assemble adds, to this and every other policy, what go-seccomp-bpf's
// policies cannot express (see Assemble): calls of a non-native architecture
// are denied; ioctl TIOCSTI and TIOCLINUX (terminal input injection) are
// denied on the low 32 bits of the request, which is all the kernel looks
// at; and with an errno default action, numbers above the highest syscall
// go-seccomp-bpf knows fail with ENOSYS rather than EPERM, as runc does, so
// that libc falls back from syscalls newer than this profile.
//
// harden.Policy with a nil Seccomp installs this floor, assembled ahead of
// time; Default is for callers who extend or trim it and pass the result of
// Assemble.
func Default() *seccomp.Policy {
	info, _ := arch.GetInfo("")
	return defaultFor(info)
}

// defaultFor is Default for the architecture info (nil: keep every name).
func defaultFor(info *arch.Info) *seccomp.Policy {
	known := func(names []string) []string {
		out := make([]string, 0, len(names))
		for _, n := range names {
			if info == nil {
				out = append(out, n)
			} else if _, ok := info.SyscallNames[n]; ok {
				out = append(out, n)
			}
		}
		return out
	}
	cond := func(name string, c ...seccomp.Condition) seccomp.NameWithConditions {
		return seccomp.NameWithConditions{Name: name, Conditions: c}
	}
	personality := func(v uint64) seccomp.NameWithConditions {
		return cond("personality", seccomp.Condition{Argument: 0, Operation: seccomp.Equal, Value: v})
	}
	return &seccomp.Policy{
		DefaultAction: seccomp.ActionErrno,
		Syscalls: []seccomp.SyscallGroup{
			{
				Names:  known([]string{"clone3"}),
				Action: actionENOSYS,
			},
			{
				Names: known(allowedSyscalls),
				NamesWithCondtions: []seccomp.NameWithConditions{
					cond("clone", seccomp.Condition{Argument: 0, Operation: seccomp.BitsNotSet, Value: cloneNamespaceFlags}),
					personality(0x0),        // PER_LINUX
					personality(0x8),        // PER_LINUX | UNAME26... (Docker's list)
					personality(0x20000),    // ADDR_NO_RANDOMIZE
					personality(0x20008),    // ADDR_NO_RANDOMIZE | 0x8
					personality(0xffffffff), // query the current persona
				},
				Action: seccomp.ActionAllow,
			},
		},
	}
}

// StrictAdditions returns what harden's strict policy stacks on the floor
// (a new value on every call): no exec of anonymous files. Landlock never sees a memfd (it lives on an
// internal, never-mounted file system, which Landlock exempts), so
// memfd_create + execveat (or execve of /proc/self/fd/N) would run a dropped
// file where the strict policy promises no exec outside the image and the
// work trees. So memfd_create and memfd_secret fail, and so does
// execveat(fd, "", AT_EMPTY_PATH), the exec of an fd whatever it is (an fd
// received over a UNIX socket from a process outside the sandbox included).
// Everything else is allowed: the floor decides.
func StrictAdditions() *seccomp.Policy {
	info, _ := arch.GetInfo("")
	return strictFor(info)
}

// strictFor is StrictAdditions for the architecture info (nil: keep every
// name).
func strictFor(info *arch.Info) *seccomp.Policy {
	var names []string
	for _, n := range []string{"memfd_create", "memfd_secret"} {
		if info == nil {
			names = append(names, n)
		} else if _, ok := info.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	return &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{{
			Names: names,
			NamesWithCondtions: []seccomp.NameWithConditions{{
				Name:       "execveat",
				Conditions: []seccomp.Condition{{Argument: 4, Operation: seccomp.BitsSet, Value: unix.AT_EMPTY_PATH}},
			}},
			Action: seccomp.ActionErrno,
		}},
	}
}
