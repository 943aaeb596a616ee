// The hardening sequence of a nucleus command, in C: the one
// implementation of every step, run by the grandchild's constructor
// (nucleus/nsenter, before any Go runtime exists in the container) and, for
// the Go API (nucleus/harden's (*Program).Apply, its tests), on the calling
// locked thread through cgo. apply.c holds the steps and their kernel
// rules; wire.go documents the wire layout of a Program.
#ifndef NUCLEUS_APPLY_H
#define NUCLEUS_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "uapi.h"

/* A byte string of the wire record, NUL-terminated copy with its length
 * (the record may carry a NUL inside, which the step using it refuses). */
struct nucleus_str {
	char *s;
	uint32_t len;
};

struct nucleus_rule {
	struct nucleus_str path;
	uint64_t access;
	/* by_fd: the rule is for the file open as fd (path only names it in
	 * messages), for a file beneath none of the container's paths, such
	 * as a host binary the parent opened. Zero in every decoded rule. */
	int by_fd;
	int fd;
};

struct nucleus_rlimit {
	uint32_t resource;
	uint64_t cur, max;
};

/* A decoded hardencore.Program (the layout is in wire.go). */
struct nucleus_program {
	uint64_t bounding, permitted, effective, inheritable, ambient;
	int no_new_privs, strict;
	struct sock_fprog floor;
	uint32_t nstack;
	struct sock_fprog *stack;
	int has_landlock;
	uint32_t nrules;
	struct nucleus_rule *rules;
	int landlock_best_effort;
	uint32_t nrlimits;
	struct nucleus_rlimit *rlimits;
	struct nucleus_str lsm_attr, lsm_value;
};

struct nucleus_identity {
	uint32_t uid, gid;
	uint32_t ngids;
	uint32_t *gids;
};

#define NUCLEUS_MAX_TRACE 32

/* What a failed step reports: the step's name (a Step* constant of
 * errors.go), a message (may be empty) and the errno (0 when none). The
 * Go side builds StepError{Step, wrap(text, errno)} from it; the
 * constructor sends "harden: <step>: <text>" and the errno. trace lists
 * every step entered, in order, for hardencore.TestHook. */
struct nucleus_result {
	const char *step;
	int err;
	char text[512];
	int ntrace;
	const char *trace[NUCLEUS_MAX_TRACE];
};

/* A cursor over a wire record; the first error sticks (ok = 0). why says
 * what was wrong when it was not a record cut short (NULL then). */
struct nucleus_reader {
	const uint8_t *b;
	size_t len;
	int ok;
	const char *why;
};

uint8_t nucleus_rd_u8(struct nucleus_reader *r);
uint32_t nucleus_rd_u32(struct nucleus_reader *r);
uint64_t nucleus_rd_u64(struct nucleus_reader *r);
int nucleus_rd_bool(struct nucleus_reader *r);
uint32_t nucleus_rd_count(struct nucleus_reader *r, size_t min);
struct nucleus_str nucleus_rd_str(struct nucleus_reader *r);

/* nucleus_decode_program reads a Program from r into p (malloc'ed parts,
 * released by nucleus_program_free); 0 on success, -1 when the record is
 * malformed. */
int nucleus_decode_program(struct nucleus_reader *r, struct nucleus_program *p);
void nucleus_program_free(struct nucleus_program *p);

/* nucleus_apply hardens the calling thread for id and working directory
 * dir (NULL or "" is "/"): 0, or -1 with res describing the failed step. */
int nucleus_apply(const struct nucleus_program *p, const struct nucleus_identity *id, const struct nucleus_str *dir, struct nucleus_result *res);

/* nucleus_as_after_exec leaves a thread hardened for a non-root uid with
 * the capabilities execve would leave it (the ambient set), for the copy
 * workers, which work without executing anything. */
int nucleus_as_after_exec(const struct nucleus_program *p, const struct nucleus_identity *id, struct nucleus_result *res);

/* Shared with the Go side, so that there is one table of each. */
uint64_t nucleus_landlock_handled(int abi);
int nucleus_landlock_abis(void);
const char *nucleus_cap_name(unsigned v);
int nucleus_cap_count(void);

uint64_t nucleus_rule_rights(uint64_t access, int is_dir, uint64_t handled);
int nucleus_landlock_tolerated(int err, int best_effort);
int nucleus_install_seccomp(const struct sock_fprog *f, struct nucleus_result *res);

/* Formatting for error texts. */
void nucleus_quote(char *out, size_t size, const char *s, size_t len);
const char *nucleus_errtext(int err, char *buf, size_t size);

#endif
