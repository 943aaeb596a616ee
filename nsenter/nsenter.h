// Wire format between the nucleus parent (Go, wire.go) and the constructor in
// nsenter.c. Both sides are built from the same tree, so the format has a
// version only to catch a stale binary, not for compatibility.
#ifndef NUCLEUS_NSENTER_H
#define NUCLEUS_NSENTER_H

#include <stdint.h>

#define NUCLEUS_ENV "_NUCLEUS_BOOTSTRAP"
#define NUCLEUS_FD_SOCK 3
#define NUCLEUS_FD_PIDFD 4
/* With NUCLEUS_REQ_HOSTBIN: a host executable the parent opened before any
 * join, which the grandchild executes by fd (execveat AT_EMPTY_PATH).
 * Without it the slot is closed. */
#define NUCLEUS_FD_HOSTBIN 5
/* fds NUCLEUS_FD_CGROUP .. NUCLEUS_FD_CGROUP + ncgroups - 1: cgroup v1
 * "tasks" files the middle child moves itself into (see nsenter.c). */
#define NUCLEUS_FD_CGROUP 6
#define NUCLEUS_MAX_CGROUPS 64
#define NUCLEUS_MAGIC 0x4e55434cu /* "NUCL" */
#define NUCLEUS_VERSION 4u
#define NUCLEUS_REQ_TTY 1u
#define NUCLEUS_REQ_HOSTBIN 2u
#define NUCLEUS_GO 'G'

/* value: the grandchild's PID; sent with a pidfd for it (SCM_RIGHTS) */
#define NUCLEUS_MSG_PID 1u
#define NUCLEUS_MSG_ERROR 2u
/* The command could not be executed: text is the command, value the errno
 * (or'ed with NUCLEUS_EXEC_REFUSED_BY_LANDLOCK, child.h). */
#define NUCLEUS_MSG_EXEC_ERROR 3u

struct nucleus_request {
	uint32_t magic;
	uint32_t version;
	uint32_t nsflags; /* CLONE_NEW* of every namespace to join */
	uint32_t flags;   /* NUCLEUS_REQ_* */
	uint32_t ncgroups; /* cgroup fds from NUCLEUS_FD_CGROUP on */
};

struct nucleus_msg {
	uint32_t type;  /* NUCLEUS_MSG_* */
	int32_t value;  /* a PID, or an errno */
	char text[248]; /* the failed step */
};

#endif
