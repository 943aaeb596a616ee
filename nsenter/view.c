// The overlay view of this program (nucleus/internal/launch, ExeOverlay):
// the running binary opened through a read-only overlayfs mount of its own
// directory that is never attached to any mount tree. Why it protects the
// binary (CVE-2019-5736) is written down in launch's exe_overlay.go, which
// checks the result and falls back to a sealed copy when this fails.
//
// Why C: a program that attaches once and exits (a CLI) wants the view made
// while the Go runtime starts, on a thread of its own, because making it
// waits for two RCU grace periods (each close of a detached mount's last
// file unmounts it, and the kernel synchronizes before it frees the mount):
// 0.1–0.3 ms that would otherwise sit between the program's checks and the
// start of its first child. Before the runtime exists only C runs.
// Importing nucleus/attach/oneshot asks for that (nucleus_oneshot below);
// every other program makes the view on first use, through the same code.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "view.h"

#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#define FSOPEN_CLOEXEC_ 0x1
#define FSCONFIG_SET_STRING_ 1
#define FSCONFIG_SET_FD_ 5
#define FSCONFIG_CMD_CREATE_ 6
#define FSMOUNT_CLOEXEC_ 0x1
#define MOUNT_ATTR_RDONLY_ 0x1
#define MOUNT_ATTR_NOSUID_ 0x2
#define MOUNT_ATTR_NODEV_ 0x4

__attribute__((format(printf, 3, 4))) static int view_fail(struct nucleus_view *v, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	// A step longer than the buffer (a path near PATH_MAX) is cut short.
	if (vsnprintf(v->step, sizeof(v->step), fmt, ap) >= (int)sizeof(v->step))
		v->step[sizeof(v->step) - 2] = '~';
	va_end(ap);
	v->err = err;
	v->fd = -1;
	return -1;
}

// A detached mount of a new fstype file system with string options
// opts[0..nopts) (name, value pairs) and lower layers lowers[0..nlowers).
static int detached(struct nucleus_view *v, const char *fstype, const char *const *opts, size_t nopts,
		    const int *lowers, size_t nlowers, unsigned int attrs)
{
	size_t i;
	int ctx, mnt;

	ctx = (int)syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC_);
	if (ctx < 0)
		return view_fail(v, errno, "fsopen(%s)", fstype);
	for (i = 0; i < nopts; i++) {
		if (syscall(SYS_fsconfig, ctx, FSCONFIG_SET_STRING_, opts[2 * i], opts[2 * i + 1], 0) < 0) {
			int e = errno;
			close(ctx);
			return view_fail(v, e, "fsconfig(%s, %s)", fstype, opts[2 * i]);
		}
	}
	for (i = 0; i < nlowers; i++) {
		if (syscall(SYS_fsconfig, ctx, FSCONFIG_SET_FD_, "lowerdir+", NULL, lowers[i]) < 0) {
			int e = errno;
			close(ctx);
			return view_fail(v, e, "fsconfig(%s, lowerdir+ fd)", fstype);
		}
	}
	if (syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE_, NULL, NULL, 0) < 0) {
		int e = errno;
		close(ctx);
		return view_fail(v, e, "fsconfig(%s, create)", fstype);
	}
	mnt = (int)syscall(SYS_fsmount, ctx, FSMOUNT_CLOEXEC_, attrs);
	if (mnt < 0) {
		int e = errno;
		close(ctx);
		return view_fail(v, e, "fsmount(%s)", fstype);
	}
	close(ctx);
	return mnt;
}

void nucleus_view_make(struct nucleus_view *v)
{
	// Overlayfs takes a lower-only mount with two lower layers at least.
	// The second is an empty read-only tmpfs, itself detached: it cannot
	// shadow the binary (the binary's directory is the upper of the two)
	// and, unlike any directory on disk, cannot overlap the binary's
	// directory (overlapping layers fail with ELOOP). Layers as file
	// descriptors (fsconfig FSCONFIG_SET_FD "lowerdir+") need Linux 6.13, a
	// detached mount as a layer 6.15.
	static const char *const tmpfs_opts[] = {"mode", "0555", "size", "4k"};
	// xino would only matter for inode numbers across file systems, and
	// on by default it logs kernel warnings when the layers are on
	// different file systems (they are: tmpfs and the binary's).
	static const char *const overlay_opts[] = {"xino", "off"};
	char self[PATH_MAX], *slash;
	ssize_t n;
	int dir, empty, mnt, layers[2];

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		view_fail(v, errno, "readlink /proc/self/exe");
		return;
	}
	if ((size_t)n == sizeof(self) - 1) {
		view_fail(v, ENAMETOOLONG, "readlink /proc/self/exe");
		return;
	}
	self[n] = '\0';
	if (self[0] != '/' || (n > 10 && strcmp(self + n - 10, " (deleted)") == 0)) {
		view_fail(v, 0, "the running binary %s is no longer on disk", self);
		return;
	}
	slash = strrchr(self, '/');
	snprintf(v->name, sizeof(v->name), "%s", slash + 1);
	*slash = '\0';
	dir = open(slash == self ? "/" : self, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		view_fail(v, errno, "open %s", slash == self ? "/" : self);
		return;
	}
	empty = detached(v, "tmpfs", tmpfs_opts, 2, NULL, 0, MOUNT_ATTR_RDONLY_);
	if (empty < 0) {
		char step[sizeof(v->step)];
		memcpy(step, v->step, sizeof(step));
		view_fail(v, v->err, "empty layer: %s", step);
		close(dir);
		return;
	}
	layers[0] = dir;
	layers[1] = empty;
	mnt = detached(v, "overlay", overlay_opts, 1, layers, 2,
		       MOUNT_ATTR_RDONLY_ | MOUNT_ATTR_NODEV_ | MOUNT_ATTR_NOSUID_);
	close(empty);
	close(dir);
	if (mnt < 0)
		return;
	v->fd = openat(mnt, v->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (v->fd < 0)
		view_fail(v, errno, "open %s in the overlay", v->name);
	// The open file keeps the mount; closing the last fd of the mount
	// itself is the second grace period.
	close(mnt);
}

// The view made at start-up (nucleus_view_prefetch), taken at most once.
static struct nucleus_view prefetched;
static pthread_t prefetch_thread;
static int prefetch_started;

static void *prefetch(void *arg)
{
	(void)arg;
	nucleus_view_make(&prefetched);
	return NULL;
}

void nucleus_view_prefetch(void)
{
	sigset_t all, old;

	// With every signal blocked: the thread must never run a signal
	// handler (the Go runtime's would run on a thread it does not know).
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return;
	if (pthread_create(&prefetch_thread, NULL, prefetch, NULL) == 0)
		prefetch_started = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int nucleus_view_take_prefetched(struct nucleus_view *v)
{
	if (!prefetch_started)
		return 0;
	prefetch_started = 0;
	if (pthread_join(prefetch_thread, NULL) != 0)
		return 0;
	*v = prefetched;
	return 1;
}
