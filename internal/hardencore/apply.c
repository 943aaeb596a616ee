// The hardening steps, in the order nucleus/harden's Apply documents
// (identity → bounding set → rlimits → [seccomp without no_new_privs] →
// ambient, inheritable → LSM label → no_new_privs → Landlock → final
// capability sets → close-on-exec → chdir + getcwd → dumpable → seccomp).
//
// Every call changes the calling thread only: raw system calls through
// syscall(2), never glibc's setresuid/setgroups wrappers, which broadcast
// the change to every thread of the process (nptl's setxid signal). In the
// constructor the process has one thread; from Go only the locked thread
// that is about to execve is hardened.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define LANDLOCK_CREATE_RULESET_VERSION_ (1U << 0)
#define LANDLOCK_RULE_PATH_BENEATH_ 1
#define BPF_MAXINSNS_ 4096

/* ---- the wire record ---- */

static const uint8_t *take(struct nucleus_reader *r, size_t n)
{
	const uint8_t *v;
	if (!r->ok || n > r->len) {
		r->ok = 0;
		return NULL;
	}
	v = r->b;
	r->b += n;
	r->len -= n;
	return v;
}

uint8_t nucleus_rd_u8(struct nucleus_reader *r)
{
	const uint8_t *v = take(r, 1);
	return v ? v[0] : 0;
}

// The record is native-endian: parent and child are the same binary.
uint32_t nucleus_rd_u32(struct nucleus_reader *r)
{
	uint32_t x = 0;
	const uint8_t *v = take(r, 4);
	if (v)
		memcpy(&x, v, 4);
	return x;
}

uint64_t nucleus_rd_u64(struct nucleus_reader *r)
{
	uint64_t x = 0;
	const uint8_t *v = take(r, 8);
	if (v)
		memcpy(&x, v, 8);
	return x;
}

int nucleus_rd_bool(struct nucleus_reader *r)
{
	uint8_t v = nucleus_rd_u8(r);
	if (r->ok && v > 1) {
		r->ok = 0;
		r->why = "bad boolean";
	}
	return v == 1;
}

// A list count must fit in the rest of the record at min bytes an item,
// so a hostile or broken count cannot make us allocate beyond its size.
uint32_t nucleus_rd_count(struct nucleus_reader *r, size_t min)
{
	uint32_t n = nucleus_rd_u32(r);
	if (r->ok && (size_t)n > r->len / min)
		r->ok = 0;
	return r->ok ? n : 0;
}

struct nucleus_str nucleus_rd_str(struct nucleus_reader *r)
{
	struct nucleus_str s = {NULL, 0};
	uint32_t n = nucleus_rd_u32(r);
	const uint8_t *v = take(r, n);
	if (!v)
		return s;
	s.s = malloc((size_t)n + 1);
	if (!s.s) {
		r->ok = 0;
		return s;
	}
	memcpy(s.s, v, n);
	s.s[n] = 0;
	s.len = n;
	return s;
}

static int rd_filter(struct nucleus_reader *r, struct sock_fprog *f)
{
	uint32_t i, n = nucleus_rd_count(r, 8);
	f->len = 0;
	f->filter = NULL;
	if (!r->ok)
		return -1;
	if (n > 0xffff) { /* more than sock_fprog holds; refused at install */
		r->ok = 0;
		return -1;
	}
	f->filter = calloc(n ? n : 1, sizeof(struct sock_filter));
	if (!f->filter)
		return r->ok = 0, -1;
	for (i = 0; i < n; i++) {
		uint32_t lo = nucleus_rd_u32(r); /* u16 code, u8 jt, u8 jf */
		memcpy(&f->filter[i], &lo, 4);
		f->filter[i].k = nucleus_rd_u32(r);
	}
	f->len = (unsigned short)n;
	return r->ok ? 0 : -1;
}

int nucleus_decode_program(struct nucleus_reader *r, struct nucleus_program *p)
{
	uint32_t i, n;

	memset(p, 0, sizeof(*p));
	p->bounding = nucleus_rd_u64(r);
	p->permitted = nucleus_rd_u64(r);
	p->effective = nucleus_rd_u64(r);
	p->inheritable = nucleus_rd_u64(r);
	p->ambient = nucleus_rd_u64(r);
	p->no_new_privs = nucleus_rd_bool(r);
	p->strict = nucleus_rd_bool(r);
	rd_filter(r, &p->floor);
	p->nstack = nucleus_rd_count(r, 4);
	p->stack = calloc(p->nstack ? p->nstack : 1, sizeof(*p->stack));
	if (!p->stack)
		return -1;
	for (i = 0; i < p->nstack && r->ok; i++)
		rd_filter(r, &p->stack[i]);
	p->has_landlock = nucleus_rd_bool(r);
	n = nucleus_rd_count(r, 12);
	if (r->ok && n && !p->has_landlock) {
		r->ok = 0;
		r->why = "landlock rules without landlock";
	}
	p->nrules = n;
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	if (!p->rules)
		return -1;
	for (i = 0; i < n && r->ok; i++) {
		p->rules[i].path = nucleus_rd_str(r);
		p->rules[i].access = nucleus_rd_u64(r);
	}
	p->landlock_best_effort = nucleus_rd_bool(r);
	p->nrlimits = nucleus_rd_count(r, 20);
	p->rlimits = calloc(p->nrlimits ? p->nrlimits : 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return -1;
	for (i = 0; i < p->nrlimits && r->ok; i++) {
		p->rlimits[i].resource = nucleus_rd_u32(r);
		p->rlimits[i].cur = nucleus_rd_u64(r);
		p->rlimits[i].max = nucleus_rd_u64(r);
	}
	p->lsm_attr = nucleus_rd_str(r);
	p->lsm_value = nucleus_rd_str(r);
	return r->ok ? 0 : -1;
}

void nucleus_program_free(struct nucleus_program *p)
{
	uint32_t i;
	free(p->floor.filter);
	for (i = 0; p->stack && i < p->nstack; i++)
		free(p->stack[i].filter);
	free(p->stack);
	for (i = 0; p->rules && i < p->nrules; i++)
		free(p->rules[i].path.s);
	free(p->rules);
	free(p->rlimits);
	free(p->lsm_attr.s);
	free(p->lsm_value.s);
	memset(p, 0, sizeof(*p));
}

/* ---- tables shared with Go ---- */

// The capabilities of linux/capability.h by number, as libcap prints them
// (TestCapNamesMatchLibcap keeps them in step).
static const char *const cap_names[] = {
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
};

int nucleus_cap_count(void) { return (int)(sizeof(cap_names) / sizeof(cap_names[0])); }

const char *nucleus_cap_name(unsigned v)
{
	return v < (unsigned)nucleus_cap_count() ? cap_names[v] : NULL;
}

// The file system rights each Landlock ABI can restrict (index 0 is ABI
// 1): what go-landlock's V1 … V11 handle, which harden's tests check.
static const uint64_t handled_per_abi[] = {
	0x1fff,  /* 1 */
	0x3fff,  /* 2: refer */
	0x7fff,  /* 3: truncate */
	0x7fff,  /* 4: network rights only */
	0xffff,  /* 5: ioctl on devices */
	0xffff,  /* 6: scopes only */
	0xffff,  /* 7: logging only */
	0xffff,  /* 8 */
	0x1ffff, /* 9: resolve unix */
	0x1ffff, /* 10 */
	0x1ffff, /* 11 */
};
#define LANDLOCK_ABIS ((int)(sizeof(handled_per_abi) / sizeof(handled_per_abi[0])))
#define KNOWN_FS_RIGHTS 0x1ffffULL
/* execute, write, read, truncate, ioctl_dev: the rights of a single file */
#define FILE_RIGHTS ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 14) | (1ULL << 15))

int nucleus_landlock_abis(void) { return LANDLOCK_ABIS; }

uint64_t nucleus_landlock_handled(int abi)
{
	if (abi <= 0)
		return 0;
	if (abi > LANDLOCK_ABIS)
		abi = LANDLOCK_ABIS; /* a newer kernel: the newest ABI known */
	return handled_per_abi[abi - 1];
}

// nucleus_rule_rights returns the rights to grant for a rule on a
// directory or a single file, masked to what the ruleset handles: rights
// that apply only to directories are dropped for a file, which
// landlock_add_rule would reject (EINVAL).
uint64_t nucleus_rule_rights(uint64_t access, int is_dir, uint64_t handled)
{
	if (!is_dir)
		access &= FILE_RIGHTS;
	return access & handled;
}

// nucleus_landlock_tolerated says whether a failed ABI probe may skip
// Landlock: only in best-effort mode and only when the kernel lacks it
// (ENOSYS: not built in; EOPNOTSUPP: disabled at boot). Anything else,
// e.g. EPERM from a seccomp filter, is an error.
int nucleus_landlock_tolerated(int err, int best_effort)
{
	return best_effort && (err == ENOSYS || err == EOPNOTSUPP);
}

/* ---- error texts ---- */

// nucleus_errtext is Go's text for an errno: strerror's, first letter
// lower-cased (Go's table was made from the same strings).
const char *nucleus_errtext(int err, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

// nucleus_quote quotes s like strconv.Quote for the ASCII range, for every
// error text that names a path or a user spec: the text may come from the
// caller or from the container.
void nucleus_quote(char *out, size_t size, const char *s, size_t len)
{
	static const char hexd[] = "0123456789abcdef";
	size_t o = 0, i;
	if (size < 3)
		return;
	out[o++] = '"';
	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hexd[c >> 4];
			out[o++] = hexd[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = 0;
}

static void cap_name_of(unsigned v, char *buf, size_t size)
{
	const char *n = nucleus_cap_name(v);
	if (n)
		snprintf(buf, size, "%s", n);
	else
		snprintf(buf, size, "%u", v);
}

static void cap_names_of(uint64_t mask, char *buf, size_t size)
{
	unsigned v;
	size_t o = 0;
	buf[0] = 0;
	for (v = 0; v < 64; v++) {
		char one[32];
		if (!(mask & (1ULL << v)))
			continue;
		cap_name_of(v, one, sizeof(one));
		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s%s", o ? "," : "", one);
		if (o >= size)
			return;
	}
}

/* ---- the result ---- */

static void enter(struct nucleus_result *res, const char *step)
{
	if (res->ntrace < NUCLEUS_MAX_TRACE)
		res->trace[res->ntrace++] = step;
}

// fail records the failed step: its text (printf-style, may be "") and
// errno. It returns -1 for "return fail(...)".
__attribute__((format(printf, 4, 5))) static int fail(struct nucleus_result *res, const char *step, int err, const char *fmt, ...)
{
	va_list ap;
	res->step = step;
	res->err = err;
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
	return -1;
}

// A sub-step fills msg/err for its caller to prefix with the step; the
// same as Go's wrap chains, which joined texts with ": ".
struct why {
	int err;
	char msg[400];
};

__attribute__((format(printf, 3, 4))) static int why(struct why *w, int err, const char *fmt, ...)
{
	va_list ap;
	w->err = err;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_why(struct nucleus_result *res, const char *step, const struct why *w)
{
	return fail(res, step, w->err, "%s", w->msg);
}

/* ---- small helpers ---- */

static long sys_prctl(int option, unsigned long a2, unsigned long a3)
{
	return syscall(SYS_prctl, option, a2, a3, 0, 0);
}

// read_small reads a small kernel file (no FIFO blocking, no terminal).
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n, off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	while ((size_t)off + 1 < size) {
		n = read(fd, buf + off, size - 1 - (size_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	buf[off] = 0;
	return off;
}

static int capget2(struct nucleus_cap_data d[2])
{
	struct nucleus_cap_header h = {NUCLEUS_CAPABILITY_VERSION_3, 0};
	return (int)syscall(SYS_capget, &h, d);
}

static int capset2(struct nucleus_cap_data d[2])
{
	struct nucleus_cap_header h = {NUCLEUS_CAPABILITY_VERSION_3, 0};
	return (int)syscall(SYS_capset, &h, d);
}

static int set_caps(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct nucleus_cap_data d[2] = {
		{(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
		{(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
	};
	return capset2(d);
}

/* ---- the steps ---- */

static int setgroups_denied(void)
{
	char b[64];
	return read_small("/proc/self/setgroups", b, sizeof(b)) >= 4 && strncmp(b, "deny", 4) == 0;
}

static int set_identity(const struct nucleus_identity *id, struct nucleus_result *res)
{
	enter(res, "setgroups");
	if (syscall(SYS_setgroups, (size_t)id->ngids, id->gids) < 0) {
		int e = errno;
		// An unprivileged user namespace may forbid setgroups; only then,
		// and only when no groups were asked for, is this acceptable. The
		// file is consulted only after the kernel refused, so a fake /proc
		// cannot make us skip a setgroups that would have worked.
		if (e != EPERM || !setgroups_denied())
			return fail(res, "setgroups", e, "%s", "");
		if (id->ngids > 0) {
			char list[256];
			size_t o = 0;
			uint32_t i;
			list[o++] = '[';
			for (i = 0; i < id->ngids && o < sizeof(list) - 16; i++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%u", i ? " " : "", id->gids[i]);
			snprintf(list + o, sizeof(list) - o, "]");
			return fail(res, "setgroups", e, "the user namespace denies setgroups (/proc/self/setgroups is \"deny\") but additional gids %s were asked for", list);
		}
	}
	enter(res, "setresgid");
	if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0)
		return fail(res, "setresgid", errno, "gid %u", id->gid);
	enter(res, "setresuid");
	// Going from uid 0 to a non-zero uid clears the permitted and effective
	// sets unless keep-caps is on. CAP_SETPCAP is still needed to drop the
	// bounding set, so keep-caps is held across the switch and released
	// right after (execve would reset it anyway); the effective set,
	// cleared by the switch regardless, is restored from permitted.
	if (sys_prctl(PR_SET_KEEPCAPS, 1, 0) < 0)
		return fail(res, "setresuid", errno, "PR_SET_KEEPCAPS");
	if (syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0)
		return fail(res, "setresuid", errno, "uid %u", id->uid);
	if (sys_prctl(PR_SET_KEEPCAPS, 0, 0) < 0)
		return fail(res, "setresuid", errno, "PR_SET_KEEPCAPS");
	return 0;
}

static int cap_last_cap(void)
{
	char b[64];
	char *end;
	long v;
	if (read_small("/proc/sys/kernel/cap_last_cap", b, sizeof(b)) <= 0)
		return -1;
	v = strtol(b, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (end == b || *end != 0 || v < 0 || v > 1000)
		return -1;
	return (int)v;
}

// drop_bounding removes from the bounding set every capability the kernel
// knows except the kept ones. Strict: each kept one must exist and be in
// the set (it was asked for by name); otherwise one the thread lacks stays
// missing, which is tighter than the target, never looser.
static int drop_bounding(uint64_t keep, int strict, struct why *w)
{
	struct nucleus_cap_data d[2];
	unsigned v;
	int last;
	char name[32];

	// Make the permitted set effective again (the uid switch clears the
	// effective set): PR_CAPBSET_DROP needs CAP_SETPCAP.
	if (capget2(d) < 0)
		return why(w, errno, "capget");
	if (d[0].effective != d[0].permitted || d[1].effective != d[1].permitted) {
		d[0].effective = d[0].permitted;
		d[1].effective = d[1].permitted;
		if (capset2(d) < 0)
			return why(w, errno, "raise effective");
	}
	for (v = 0; v < 64 && strict; v++) {
		long in;
		if (!(keep & (1ULL << v)))
			continue;
		in = sys_prctl(PR_CAPBSET_READ, v, 0);
		if (in < 0 && errno == EINVAL)
			return why(w, EINVAL, "capability %u cannot be kept: not a capability of this kernel", v);
		if (in < 0)
			return why(w, errno, "PR_CAPBSET_READ %u", v);
		if (in == 0) {
			cap_name_of(v, name, sizeof(name));
			return why(w, EPERM, "capability %s cannot be kept: not in the bounding set", name);
		}
	}
	// The loop stops only where the kernel itself says EINVAL, so a
	// container's /proc that under-reports cap_last_cap cannot leave a
	// capability in the set.
	last = cap_last_cap();
	for (v = 0; v < 64; v++) {
		if (keep & (1ULL << v))
			continue;
		if (sys_prctl(PR_CAPBSET_DROP, v, 0) == 0)
			continue;
		cap_name_of(v, name, sizeof(name));
		if (errno == EINVAL) {
			if ((int)v <= last)
				return why(w, EINVAL, "PR_CAPBSET_DROP %s (cap_last_cap %d)", name, last);
			return 0;
		}
		// Without CAP_SETPCAP nothing can be dropped, but a capability
		// that is not in the set needs no dropping.
		if (errno == EPERM && sys_prctl(PR_CAPBSET_READ, v, 0) == 0)
			continue;
		return why(w, errno, "PR_CAPBSET_DROP %s", name);
	}
	return 0;
}

// set_rlimits sets each limit on this process. A hard limit above the
// current one needs CAP_SYS_RESOURCE in the initial user namespace, which
// a caller in a user namespace lacks: the limit is then clamped to the
// current hard limit, tighter than the target's, never looser.
static int set_rlimits(const struct nucleus_program *p, struct why *w)
{
	uint32_t i;
	for (i = 0; i < p->nrlimits; i++) {
		const struct nucleus_rlimit *r = &p->rlimits[i];
		struct rlimit64 v = {r->cur, r->max}, old;
		int e = syscall(SYS_prlimit64, 0, r->resource, &v, NULL) < 0 ? errno : 0;
		if (e == EPERM) {
			if (syscall(SYS_prlimit64, 0, r->resource, NULL, &old) < 0)
				return why(w, errno, "get resource %u", r->resource);
			if (v.rlim_max > old.rlim_max)
				v.rlim_max = old.rlim_max;
			if (v.rlim_cur > v.rlim_max)
				v.rlim_cur = v.rlim_max;
			e = syscall(SYS_prlimit64, 0, r->resource, &v, NULL) < 0 ? errno : 0;
		}
		if (e)
			return why(w, e, "resource %u to %llu/%llu", r->resource, (unsigned long long)r->cur, (unsigned long long)r->max);
	}
	return 0;
}

static int verify_seccomp(struct why *w);

static int install_filter(const struct sock_fprog *f, struct why *w)
{
	if (f->len == 0 || f->len > BPF_MAXINSNS_)
		return why(w, EINVAL, "filter of %u instructions (1 to %d allowed)", f->len, BPF_MAXINSNS_);
	if (syscall(SYS_seccomp, NUCLEUS_SECCOMP_SET_MODE_FILTER, 0, f) < 0)
		return why(w, errno, "%s", "");
	return 0;
}

// verify_seccomp checks that this thread is in filter mode: PR_GET_SECCOMP
// answers from the kernel, without the container's /proc; if a filter
// refuses prctl, /proc/thread-self/status is the fallback.
static int verify_seccomp(struct why *w)
{
	char b[8192], et[128];
	long mode = sys_prctl(PR_GET_SECCOMP, 0, 0);
	int e = errno;
	if (mode >= 0) {
		if (mode != NUCLEUS_SECCOMP_MODE_FILTER)
			return why(w, 0, "after install PR_GET_SECCOMP says mode %ld, not 2 (filter)", mode);
		return 0;
	}
	if (read_small("/proc/thread-self/status", b, sizeof(b)) < 0)
		return why(w, errno, "verify: PR_GET_SECCOMP: %s; /proc/thread-self/status", nucleus_errtext(e, et, sizeof(et)));
	if (!strstr(b, "\nSeccomp:\t2\n"))
		return why(w, 0, "verify: /proc/thread-self/status does not show Seccomp: 2");
	return 0;
}

// install_filters installs the floor, then the stacked filters (the floor
// allows seccomp(2); a container profile might not), and verifies.
static int install_filters(const struct nucleus_program *p, struct nucleus_result *res)
{
	struct why w;
	uint32_t i;
	if (install_filter(&p->floor, &w) < 0)
		return fail(res, "seccomp", w.err, "floor filter%s%s", w.msg[0] ? ": " : "", w.msg);
	for (i = 0; i < p->nstack; i++)
		if (install_filter(&p->stack[i], &w) < 0)
			return fail(res, "seccomp", w.err, "stacked filter %u%s%s", i + 1, w.msg[0] ? ": " : "", w.msg);
	if (verify_seccomp(&w) < 0)
		return fail_why(res, "seccomp", &w);
	return 0;
}

// write_attr writes the LSM label to /proc/thread-self/<attr>: the kernel
// applies it to this thread's next execve.
static int write_attr(const struct nucleus_program *p, struct why *w)
{
	char path[512], q[600];
	ssize_t n;
	int fd;
	if (memchr(p->lsm_attr.s, 0, p->lsm_attr.len))
		return why(w, EINVAL, "open /proc/thread-self/%s", p->lsm_attr.s);
	snprintf(path, sizeof(path), "/proc/thread-self/%s", p->lsm_attr.s);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return why(w, errno, "open %s", path);
	nucleus_quote(q, sizeof(q), p->lsm_value.s ? p->lsm_value.s : "", p->lsm_value.len);
	do
		n = write(fd, p->lsm_value.s ? p->lsm_value.s : "", p->lsm_value.len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		close(fd);
		return why(w, e, "write %s to %s", q, path);
	}
	close(fd);
	if ((size_t)n != p->lsm_value.len)
		return why(w, EIO, "write %s to %s: short write", q, path);
	return 0;
}

// add_rule grants a rule's rights on its path as it resolves now (in the
// container's mount namespace and root), masked to what the ruleset
// handles; single files get only the rights that apply to files.
static int add_rule(int rfd, const struct nucleus_rule *r, uint64_t handled, struct why *w)
{
	struct {
		uint64_t allowed_access;
		int32_t parent_fd;
	} __attribute__((packed)) attr;
	char q[600];
	struct stat st;
	uint64_t access;
	int fd;

	nucleus_quote(q, sizeof(q), r->path.s, r->path.len);
	if (memchr(r->path.s, 0, r->path.len))
		return why(w, EINVAL, "open %s", q);
	if (r->by_fd)
		fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
	else
		fd = open(r->path.s, O_PATH | O_CLOEXEC);
	if (fd < 0 && r->by_fd)
		return why(w, errno, "dup %s", q);
	if (fd < 0) {
		// Missing in this container, or not reachable by the identity:
		// nothing to grant.
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
			return 0;
		return why(w, errno, "open %s", q);
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return why(w, e, "stat %s", q);
	}
	access = nucleus_rule_rights(r->access, S_ISDIR(st.st_mode), handled);
	if (access == 0) { /* landlock_add_rule refuses an empty grant (ENOMSG) */
		close(fd);
		return 0;
	}
	attr.allowed_access = access;
	attr.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH_, &attr, 0) < 0) {
		int e = errno;
		close(fd);
		return why(w, e, "landlock_add_rule %s (access 0x%llx)", q, (unsigned long long)access);
	}
	close(fd);
	return 0;
}

// apply_landlock builds a ruleset handling every file system right of the
// kernel's ABI, adds the rules and enforces it on this thread only (no
// TSYNC). no_new_privs is already set (or the thread holds CAP_SYS_ADMIN).
static int apply_landlock(const struct nucleus_program *p, struct why *w)
{
	uint32_t i;
	long abi;
	int rfd;
	uint64_t handled;

	for (i = 0; i < p->nrules; i++) {
		const struct nucleus_rule *r = &p->rules[i];
		char q[600];
		nucleus_quote(q, sizeof(q), r->path.s, r->path.len);
		if (r->access & ~KNOWN_FS_RIGHTS)
			return why(w, EINVAL, "rule %s: invalid access mask 0x%llx (unknown rights 0x%llx)", q, (unsigned long long)r->access, (unsigned long long)(r->access & ~KNOWN_FS_RIGHTS));
		if (!r->by_fd && (r->path.len == 0 || r->path.s[0] != '/'))
			return why(w, EINVAL, "rule %s: path is not absolute", q);
	}
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION_);
	if (abi < 0 || abi < 1) {
		int e = abi < 0 ? errno : EOPNOTSUPP;
		if (nucleus_landlock_tolerated(e, p->landlock_best_effort))
			return 0;
		return why(w, e, "the kernel has no usable Landlock (not built in, or disabled at boot)");
	}
	handled = nucleus_landlock_handled((int)abi);
	{
		uint64_t attr = handled; /* struct landlock_ruleset_attr up to handled_access_fs */
		rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	}
	if (rfd < 0)
		return why(w, errno, "landlock_create_ruleset (ABI %ld, handled 0x%llx)", abi, (unsigned long long)handled);
	for (i = 0; i < p->nrules; i++) {
		if (add_rule(rfd, &p->rules[i], handled, w) < 0) {
			close(rfd);
			return -1;
		}
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) < 0) {
		int e = errno;
		close(rfd);
		return why(w, e, "landlock_restrict_self");
	}
	close(rfd);
	return 0;
}

// cloexec_from3 marks every fd >= 3 close-on-exec (CVE-2024-21626: a
// leaked host fd must not reach the command). Marking rather than closing
// keeps the bootstrap socket usable for an exec error until execve.
static int cloexec_from3(struct why *w)
{
	DIR *d;
	struct dirent *e;
	int err;
	char et[128];

	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	err = errno;
	if (err != ENOSYS && err != EINVAL)
		return why(w, err, "%s", "");
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: mark each open fd.
	d = opendir("/proc/self/fd");
	if (!d)
		return why(w, errno, "close_range: %s; fallback: open /proc/self/fd", nucleus_errtext(err, et, sizeof(et)));
	while ((errno = 0, e = readdir(d)) != NULL) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || v < 3 || v == dirfd(d))
			continue;
		if (fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) {
			int e2 = errno;
			closedir(d);
			return why(w, e2, "fallback: F_SETFD %ld", v);
		}
	}
	err = errno;
	closedir(d);
	if (err)
		return why(w, err, "fallback: getdents /proc/self/fd");
	return 0;
}

// check_cwd verifies that the working directory is reachable from the
// process root: for a cwd outside it (a host directory fd reached through
// /proc/self/fd/N, CVE-2024-21626) the getcwd system call returns a path
// starting with "(unreachable)" instead of "/".
static int check_cwd(struct why *w)
{
	char buf[4096], q[4200];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0)
		return why(w, errno, "%s", "");
	buf[sizeof(buf) - 1] = 0;
	if (buf[0] != '/') {
		nucleus_quote(q, sizeof(q), buf, strlen(buf));
		return why(w, EACCES, "working directory %s is outside the container's root", q);
	}
	return 0;
}

int nucleus_apply(const struct nucleus_program *p, const struct nucleus_identity *id, const struct nucleus_str *dir, struct nucleus_result *res)
{
	struct why w;
	char names[1024], q[4200];
	const char *d = "/";
	size_t dlen = 1;
	unsigned v;

	memset(res, 0, sizeof(*res));
	if (dir && dir->len > 0) {
		d = dir->s;
		dlen = dir->len;
	}
	if (p->strict && id->uid != 0 && (p->permitted & ~p->ambient)) {
		// execve gives a non-zero uid only its ambient capabilities (file
		// capabilities are ignored under no_new_privs): the strict
		// policy's kept capabilities would silently vanish.
		cap_names_of(p->permitted & ~p->ambient, names, sizeof(names));
		return fail(res, "capset", 0, "capabilities %s can be kept only for uid 0, not uid %u: execve drops them for any other uid under no_new_privs", names, id->uid);
	}
	if ((p->ambient & ~(p->permitted & p->inheritable)) || (p->effective & ~p->permitted) || (p->permitted & ~p->bounding))
		return fail(res, "capset", 0, "inconsistent capability sets: ambient must be within permitted and inheritable, effective within permitted, permitted within bounding");
	if (set_identity(id, res) < 0)
		return -1;
	enter(res, "capbset");
	if (drop_bounding(p->bounding, p->strict, &w) < 0)
		return fail_why(res, "capbset", &w);
	enter(res, "rlimit");
	if (set_rlimits(p, &w) < 0)
		return fail_why(res, "rlimit", &w);
	if (!p->no_new_privs) {
		// Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN, which the
		// thread still has here and the command may not: the filters go
		// in now, as runc does, and every later step must pass them (the
		// floor allows them all).
		enter(res, "seccomp");
		if (install_filters(p, res) < 0)
			return -1;
	}
	enter(res, "ambient");
	// EINVAL: a kernel without ambient capabilities (< 4.3) has none.
	if (sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0) < 0 && errno != EINVAL)
		return fail(res, "ambient", errno, "%s", "");
	enter(res, "capset");
	{
		struct nucleus_cap_data c[2];
		if (capget2(c) < 0)
			return fail(res, "capset", errno, "capget");
		c[0].inheritable = (uint32_t)p->inheritable;
		c[1].inheritable = (uint32_t)(p->inheritable >> 32);
		if (capset2(c) < 0)
			return fail(res, "capset", errno, "set inheritable to 0x%llx", (unsigned long long)p->inheritable);
	}
	if (p->lsm_attr.len > 0) {
		// Before no_new_privs, under which AppArmor and SELinux restrict
		// label transitions (runc orders it so too), and before Landlock,
		// which may deny writing to /proc.
		enter(res, "lsm");
		if (write_attr(p, &w) < 0)
			return fail_why(res, "lsm", &w);
	}
	if (p->no_new_privs) {
		enter(res, "no_new_privs");
		if (sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0) < 0)
			return fail(res, "no_new_privs", errno, "%s", "");
	}
	if (p->has_landlock) {
		enter(res, "landlock");
		if (apply_landlock(p, &w) < 0)
			return fail_why(res, "landlock", &w);
	}
	enter(res, "capset");
	if (set_caps(p->effective, p->permitted, p->inheritable) < 0)
		return fail(res, "capset", errno, "set effective, permitted and inheritable");
	for (v = 0; v < 64; v++) {
		if (!(p->ambient & (1ULL << v)))
			continue;
		if (sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v) < 0) {
			char name[32];
			int e = errno;
			cap_name_of(v, name, sizeof(name));
			return fail(res, "capset", e, "raise ambient %s", name);
		}
	}
	enter(res, "close_range");
	if (cloexec_from3(&w) < 0)
		return fail_why(res, "close_range", &w);
	enter(res, "chdir");
	nucleus_quote(q, sizeof(q), d, dlen);
	if (d[0] != '/')
		return fail(res, "chdir", EINVAL, "%s is not an absolute path", q);
	if (memchr(d, 0, dlen))
		return fail(res, "chdir", EINVAL, "%s", q);
	if (chdir(d) < 0)
		return fail(res, "chdir", errno, "%s", q);
	enter(res, "getcwd");
	if (check_cwd(&w) < 0)
		return fail_why(res, "getcwd", &w);
	enter(res, "dumpable");
	if (sys_prctl(PR_SET_DUMPABLE, 0, 0) < 0)
		return fail(res, "dumpable", errno, "%s", "");
	if (p->no_new_privs) {
		enter(res, "seccomp");
		if (install_filters(p, res) < 0)
			return -1;
	}
	return 0;
}

// For a non-root uid, execve of a file without file capabilities makes the
// permitted and effective sets the ambient set (capabilities(7)): a copy
// worker acting as uid 1000 must not keep, say, CAP_DAC_OVERRIDE, or it
// would read and write what the container's permissions deny that user.
int nucleus_as_after_exec(const struct nucleus_program *p, const struct nucleus_identity *id, struct nucleus_result *res)
{
	if (id->uid == 0)
		return 0;
	if (set_caps(p->ambient, p->ambient, p->inheritable) < 0)
		return fail(res, "capset", errno, "drop to the capabilities execve would leave uid %u", id->uid);
	return 0;
}

// nucleus_install_seccomp installs one filter on this thread (no TSYNC)
// and verifies filter mode: for tests that make a step fail.
int nucleus_install_seccomp(const struct sock_fprog *f, struct nucleus_result *res)
{
	struct why w;
	memset(res, 0, sizeof(*res));
	if (install_filter(f, &w) < 0 || verify_seccomp(&w) < 0)
		return fail_why(res, "seccomp", &w);
	return 0;
}
