// The namespace join of a nucleus child, run as an ELF constructor: before the
// Go runtime starts, while the process still has exactly one thread.
//
// Why C and why here: setns(CLONE_NEWUSER) fails with EINVAL in a
// multi-threaded process, and setns(CLONE_NEWNS) from a thread that shares
// its fs_struct with other threads moves root and cwd of all of them. The Go
// runtime starts threads before any Go code runs, so the join must happen
// first. A process that is not a nucleus child (no bootstrap variable in its
// environment) returns from here after one getenv.
//
// The wire format is declared in nsenter.h and mirrored in wire.go.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"
#include "nsenter.h"
#include "oneshot.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// Set to 1 in the grandchild once every requested namespace was joined and
// a copy worker was hardened (the only case that returns into Go). Read
// from Go (Joined) so that a child whose constructor did not run never
// runs anything on the host.
int nucleus_nsenter_joined = 0;

// Defined by nucleus/attach/oneshot, when a program links it: then the
// program's start is prepared for one attach (oneshot.c).
extern const int nucleus_oneshot __attribute__((weak));

// The join order: user first, because the rights to join the others are
// checked against the credentials it grants; pid last, because it only
// applies to children (time likewise).
static const struct {
	uint32_t flag;
	const char *step;
} join_order[] = {
	{CLONE_NEWUSER, "setns(user)"},     {CLONE_NEWNS, "setns(mnt)"},
	{CLONE_NEWNET, "setns(net)"},       {CLONE_NEWUTS, "setns(uts)"},
	{CLONE_NEWIPC, "setns(ipc)"},       {CLONE_NEWCGROUP, "setns(cgroup)"},
	{CLONE_NEWPID, "setns(pid)"},       {CLONE_NEWTIME, "setns(time)"},
};

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

// send_msg sends one message to the parent, with the file descriptor fd
// (SCM_RIGHTS) when it is not -1.
static void send_msg(uint32_t type, int32_t value, const char *text, int fd)
{
	struct nucleus_msg m;
	struct iovec iov;
	struct msghdr mh;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct cmsghdr *c;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.value = value;
	if (text)
		strncpy(m.text, text, sizeof(m.text) - 1);
	if (fd < 0) {
		(void)write_full(NUCLEUS_FD_SOCK, &m, sizeof(m));
		return;
	}
	iov.iov_base = &m;
	iov.iov_len = sizeof(m);
	memset(&mh, 0, sizeof(mh));
	memset(&u, 0, sizeof(u));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(NUCLEUS_FD_SOCK, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	// The fd went with the first byte; the rest of a short write goes on
	// as a plain one.
	if (n > 0 && (size_t)n < sizeof(m))
		(void)write_full(NUCLEUS_FD_SOCK, (char *)&m + n, sizeof(m) - (size_t)n);
}

// nucleus_send_msg sends one message to the parent (child.c reports with it
// too).
void nucleus_send_msg(uint32_t type, int32_t value, const char *text)
{
	send_msg(type, value, text, -1);
}

// nucleus_fail reports the step and errno to the parent and ends this
// process. It never returns into Go: the runtime must not start in a
// half-joined or half-hardened process.
void nucleus_fail(const char *step, int err)
{
	nucleus_send_msg(NUCLEUS_MSG_ERROR, err, step);
	_exit(1);
}

// join_cgroups moves this process, still single-threaded and on the host
// side of every namespace, into the target's cgroup v1 hierarchies through
// the "tasks" files the parent opened for it. Writing "0" moves the calling
// thread only, a case for which the kernel skips the global
// cgroup_threadgroup_rwsem (cgroup_procs_write_start): a write of a PID to
// cgroup.procs takes that lock for writing, which waits for an RCU grace
// period — milliseconds per attach. The grandchild cloned below inherits
// these cgroups, so the command and every thread its Go runtime starts are
// accounted to the container from their first instruction. (cgroup v2 needs
// no step here: the parent starts this process directly in the target's v2
// cgroup with clone3(CLONE_INTO_CGROUP).)
static void join_cgroups(uint32_t n)
{
	uint32_t i;
	char step[32];

	for (i = 0; i < n; i++) {
		int fd = NUCLEUS_FD_CGROUP + (int)i;
		ssize_t w;
		do
			w = write(fd, "0", 1);
		while (w < 0 && errno == EINTR);
		if (w != 1) {
			// "cgroup #N": the parent names the hierarchy.
			snprintf(step, sizeof(step), "cgroup #%u", i);
			nucleus_fail(step, w < 0 ? errno : EIO);
		}
		close(fd);
	}
}

__attribute__((constructor)) static void nucleus_nsenter(void)
{
	struct nucleus_request req;
	size_t i;
	long pid;
	int order[2], pidfd;

	if (getenv(NUCLEUS_ENV) == NULL) {
		if (&nucleus_oneshot != NULL)
			nucleus_oneshot_start();
		return;
	}

	// CVE-2016-9962: a process of the container must not be able to
	// ptrace us or open /proc/PID/{fd,exe,mem} of ours while we hold host
	// resources. Non-dumpable before the first setns.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		nucleus_fail("prctl(dumpable)", errno);

	if (read_full(NUCLEUS_FD_SOCK, &req, sizeof(req)) < 0)
		nucleus_fail("read request", errno ? errno : EPIPE);
	if (req.magic != NUCLEUS_MAGIC || req.version != NUCLEUS_VERSION)
		nucleus_fail("request version", EPROTO);
	if (req.ncgroups > NUCLEUS_MAX_CGROUPS)
		nucleus_fail("request cgroups", EPROTO);

	// Close every fd the embedding program leaked to us without
	// close-on-exec (CVE-2024-21626): only stdio, the bootstrap socket,
	// the target's pidfd, the host binary when asked for and the cgroup
	// files may cross into the container, and the cgroup files are closed
	// once used.
	if (syscall(SYS_close_range, NUCLEUS_FD_CGROUP + req.ncgroups, ~0U, 0) < 0)
		nucleus_fail("close_range", errno);
	if (req.flags & NUCLEUS_REQ_HOSTBIN) {
		if (fcntl(NUCLEUS_FD_HOSTBIN, F_GETFD) < 0)
			nucleus_fail("host binary fd", errno);
	} else {
		close(NUCLEUS_FD_HOSTBIN); /* whatever leaked into the slot */
	}

	join_cgroups(req.ncgroups);

	// setns(pidfd, flag) names the target by the pidfd the parent
	// validated (start ticks checked after opening), never by a PID number
	// that could have been recycled meanwhile.
	for (i = 0; i < sizeof(join_order) / sizeof(join_order[0]); i++) {
		if (!(req.nsflags & join_order[i].flag))
			continue;
		if (setns(NUCLEUS_FD_PIDFD, (int)join_order[i].flag) < 0)
			nucleus_fail(join_order[i].step, errno);
	}

	// A fork-like clone: CLONE_PARENT makes the grandchild a child of the
	// Go parent, which waits for it through a pidfd and reaps it; it is
	// the first process in the target PID namespace we joined above.
	//
	// Both processes write to the one bootstrap socket, and the parent
	// reads the PID report first: the grandchild must not report anything
	// (a failed step, an execve error) before it. The order pipe enforces
	// it: the middle child writes one byte to it once the PID report is
	// sent. A grandchild that reads EOF instead (the middle child was
	// killed between the clone and its report: a cancelled start) exits at
	// once, before anything of the command runs; the parent finds it in the
	// command's cgroup and reaps it.
	if (pipe2(order, O_CLOEXEC) < 0)
		nucleus_fail("pipe2", errno);
	// CLONE_PIDFD stores the pidfd (close-on-exec) in this process only:
	// the grandchild's fd table is copied before it is installed.
	pidfd = -1;
	pid = syscall(SYS_clone, CLONE_PARENT | CLONE_PIDFD | SIGCHLD, 0, &pidfd, NULL, 0);
	if (pid < 0)
		nucleus_fail("clone", errno);
	if (pid > 0) {
		close(order[0]);
		// The PID with a pidfd the clone made before the grandchild ran
		// an instruction: the parent holds the command from its birth,
		// so that even one the kernel reaps at once (a parent ignoring
		// SIGCHLD) leaves its exit status in it (PIDFD_INFO_EXIT, Linux
		// 6.15), where a pidfd_open after the report could find none.
		send_msg(NUCLEUS_MSG_PID, (int32_t)pid, NULL, pidfd);
		(void)write_full(order[1], "P", 1);
		_exit(0);
	}

	// Grandchild: inside every namespace and cgroup of the target.
	close(order[1]);
	{
		char c;
		ssize_t n;
		do
			n = read(order[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(1);
		close(order[0]);
	}
	close(NUCLEUS_FD_PIDFD);
	if (setsid() < 0)
		nucleus_fail("setsid", errno);
	if ((req.flags & NUCLEUS_REQ_TTY) && ioctl(0, TIOCSCTTY, 0) < 0)
		nucleus_fail("ioctl(TIOCSCTTY)", errno);

	// The go-ahead. The parent sends it together with the request, so
	// normally it is already waiting in the socket; holding it back keeps
	// the grandchild here, before it hardens (the join-window test does).
	{
		char go;
		if (read_full(NUCLEUS_FD_SOCK, &go, 1) < 0 || go != NUCLEUS_GO)
			_exit(1);
	}
	// No signal blocked: execve keeps the signal mask (signal(7)), and
	// the command must not inherit what the program that attached held
	// blocked — nsattach holds the signals it forwards blocked from its
	// first instruction (examples/nsattach/signals.go); a shell or a
	// server whose SIGTERM is blocked would never see one forwarded to it.
	// Ignored signals stay ignored, as across any execve (nohup).
	{
		sigset_t none;
		sigemptyset(&none);
		if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
			nucleus_fail("sigprocmask", errno);
	}
	// Every CPU the container's cpuset allows, not the caller's affinity:
	// since Linux 6.2 (da019032819a, "sched: Enforce user requested
	// affinity") joining a cpuset no longer resets a mask the caller set
	// (taskset, systemd's CPUAffinity=), so the command would inherit it,
	// as runc exec's did until it reset it (opencontainers/runc#4858).
	// sched_setaffinity intersects an all-ones mask with the cpuset; 1024
	// bytes cover the largest CONFIG_NR_CPUS (8192), and the kernel reads
	// no more than its own cpumask size of it.
	{
		static unsigned char all[1024];
		memset(all, 0xff, sizeof(all));
		if (syscall(SYS_sched_setaffinity, 0, sizeof(all), all) < 0)
			nucleus_fail("sched_setaffinity", errno);
	}
	// The config, the hardening and the execve (child.c): a command never
	// returns here; a copy worker returns hardened, for its Go side.
	nucleus_child_run();
	nucleus_nsenter_joined = 1;
}
