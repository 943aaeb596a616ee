// The grandchild's work once it is inside every namespace and cgroup of the
// target, before any Go runtime exists there: read the config record the
// parent sent after the go-ahead, resolve the user in the container's
// /etc/passwd and /etc/group, find the command in the container's PATH,
// apply the compiled Program (nucleus/internal/hardencore's apply.c) and
// execute the command — or the host binary by fd. Only the copy workers
// return into Go, already hardened: every thread the Go runtime then starts
// inherits the identity, capability sets, no_new_privs, Landlock domain and
// seccomp filters of this one.
//
// The config record is laid out by nucleus/internal/child (config.go).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply.h"
#include "child.h"
#include "nsenter.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* For the copy workers' Go side (nucleus/internal/child): the record. */
uint8_t *nucleus_child_config = NULL;
uint32_t nucleus_child_config_len = 0;

/* ---- reports ---- */

// report_exec says the command could not be executed, and ends the process.
static void report_exec(const char *path, int err)
{
	nucleus_send_msg(NUCLEUS_MSG_EXEC_ERROR, err, path);
	_exit(1);
}

static void report_apply(const struct nucleus_result *res)
{
	char text[sizeof(res->text) + 64];
	if (res->text[0])
		snprintf(text, sizeof(text), "harden: %s: %s", res->step, res->text);
	else
		snprintf(text, sizeof(text), "harden: %s", res->step);
	nucleus_fail(text, res->err);
}

/* ---- the container's user database ---- */

struct span {
	const char *s;
	size_t len;
};

static int span_eq(struct span a, const char *s, size_t len)
{
	return a.len == len && memcmp(a.s, s, len) == 0;
}

// The files belong to the container, which may be hostile:
//   - a missing file is an empty database (distroless and scratch images
//     have none): HOME is then "/" and only numeric ids resolve, as with
//     runc and docker;
//   - anything else that is not a plain text file of sane size — a FIFO, a
//     device, a directory, more than NUCLEUS_MAX_USER_FILE bytes, or a NUL
//     byte in the entry that would be used — is an error naming the file,
//     not a silent fallback (a NUL byte in a home directory used to surface
//     as `exec "/bin/sh": invalid argument`, issue #9 item 5).
// Files are read inside the container's mount namespace (joined), never
// through a host path, where a symlink in the rootfs would resolve against
// the host's root.
int nucleus_read_user_file(const char *path, struct nucleus_user_file *f, char *err, size_t errsize)
{
	struct stat st;
	char et[128];
	size_t cap = 0;
	int fd;

	memset(f, 0, sizeof(*f));
	f->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		f->missing = 1;
		return 0;
	}
	if (fd < 0) {
		snprintf(err, errsize, "container's %s: open: %s", path, nucleus_errtext(errno, et, sizeof(et)));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errsize, "container's %s: fstat: %s", path, nucleus_errtext(errno, et, sizeof(et)));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "container's %s: not a regular file", path);
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;
		if (f->len == cap) {
			char *b;
			if (cap > NUCLEUS_MAX_USER_FILE)
				break;
			cap = cap ? cap * 2 : 4096;
			b = realloc(f->buf, cap + 1);
			if (!b) {
				snprintf(err, errsize, "container's %s: read: %s", path, nucleus_errtext(ENOMEM, et, sizeof(et)));
				close(fd);
				return -1;
			}
			f->buf = b;
		}
		n = read(fd, f->buf + f->len, cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsize, "container's %s: read: %s", path, nucleus_errtext(errno, et, sizeof(et)));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		f->len += (size_t)n;
	}
	close(fd);
	if (f->len > NUCLEUS_MAX_USER_FILE) {
		snprintf(err, errsize, "container's %s: larger than %d bytes", path, NUCLEUS_MAX_USER_FILE);
		return -1;
	}
	return 0;
}

void nucleus_user_file_free(struct nucleus_user_file *f)
{
	free(f->buf);
	f->buf = NULL;
}

// next_line returns the next line of f from *off (without "\n" or a
// trailing "\r"); 0 at the end.
static int next_line(const struct nucleus_user_file *f, size_t *off, struct span *line)
{
	const char *nl;
	size_t n;
	if (f->buf == NULL || *off >= f->len)
		return 0;
	line->s = f->buf + *off;
	nl = memchr(line->s, '\n', f->len - *off);
	n = nl ? (size_t)(nl - line->s) : f->len - *off;
	*off += n + (nl ? 1 : 0);
	if (n > 0 && line->s[n - 1] == '\r')
		n--;
	line->len = n;
	return 1;
}

// split_fields splits line at sep into at most max spans and returns the
// number of fields it has.
static int split_fields(struct span line, char sep, struct span *out, int max)
{
	int n = 0;
	size_t start = 0, i;
	for (i = 0; i <= line.len; i++) {
		if (i == line.len || line.s[i] == sep) {
			if (n < max) {
				out[n].s = line.s + start;
				out[n].len = i - start;
			}
			n++;
			start = i + 1;
		}
	}
	return n;
}

// parse_id parses a decimal uid or gid in [0, 2^31-1] (moby and runc refuse
// larger ones; 2^32-1 is the kernel's "no id"); -1 for anything else.
static int parse_id(struct span s, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;
	if (s.len == 0)
		return -1;
	for (i = 0; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s.s[i] - '0');
		if (x > 0x7fffffff)
			return -1;
	}
	*v = (uint32_t)x;
	return 0;
}

struct pw_entry {
	struct span name, home;
	uint32_t uid, gid;
};

// find_passwd finds the first entry named name or, when numeric, with uid
// uid (first match wins, as with glibc and moby). Lines that are not
// name:pw:uid:gid:gecos:home:shell with numeric ids are skipped: a
// malformed uid never reads as 0. 1 found, 0 not, -1 error.
static int find_passwd(const struct nucleus_user_file *f, const char *name, size_t nlen, uint32_t uid, int numeric, struct pw_entry *pw, char *err, size_t errsize)
{
	struct span line, fl[7];
	size_t off = 0;
	int i = 0;
	for (; next_line(f, &off, &line); i++) {
		uint32_t u, g;
		if (split_fields(line, ':', fl, 7) < 7)
			continue;
		if (parse_id(fl[2], &u) < 0 || parse_id(fl[3], &g) < 0)
			continue;
		if ((numeric && u == uid) || (!numeric && span_eq(fl[0], name, nlen))) {
			if (memchr(line.s, 0, line.len)) { /* only the entry used is refused */
				snprintf(err, errsize, "container's %s: line %d contains a NUL byte", f->path, i + 1);
				return -1;
			}
			pw->name = fl[0];
			pw->home = fl[5];
			pw->uid = u;
			pw->gid = g;
			return 1;
		}
	}
	return 0;
}

// group_match is one of the two questions asked of /etc/group: the entry
// named or numbered like the user spec's group, or the entries listing a
// user as a member.
struct group_query {
	int by_member;
	struct span member; /* by_member */
	struct span name;   /* !by_member, when !numeric */
	uint32_t gid;
	int numeric;
};

static int group_matches(const struct group_query *q, struct span name, uint32_t gid, struct span members)
{
	struct span m;
	size_t start = 0, i;
	if (!q->by_member)
		return q->numeric ? gid == q->gid : span_eq(name, q->name.s, q->name.len);
	if (members.len == 0)
		return 0;
	for (i = 0; i <= members.len; i++) {
		if (i == members.len || members.s[i] == ',') {
			m.s = members.s + start;
			m.len = i - start;
			if (span_eq(m, q->member.s, q->member.len))
				return 1;
			start = i + 1;
		}
	}
	return 0;
}

// find_groups collects the gids of the well-formed entries that match q
// (at most max); a matching line with a NUL byte is an error. It returns
// the number found, or -1.
static int find_groups(const struct nucleus_user_file *f, const struct group_query *q, uint32_t *gids, int max, char *err, size_t errsize)
{
	struct span line, fl[4];
	size_t off = 0;
	int i = 0, n = 0;
	for (; next_line(f, &off, &line); i++) {
		uint32_t gid;
		if (split_fields(line, ':', fl, 4) < 4)
			continue;
		if (parse_id(fl[2], &gid) < 0)
			continue;
		/* the members are the rest of the line */
		fl[3].len = (size_t)(line.s + line.len - fl[3].s);
		if (!group_matches(q, fl[0], gid, fl[3]))
			continue;
		if (memchr(line.s, 0, line.len)) {
			snprintf(err, errsize, "container's %s: line %d contains a NUL byte", f->path, i + 1);
			return -1;
		}
		if (n < max)
			gids[n++] = gid;
	}
	return n;
}

// nucleus_resolve_user resolves a user spec — "user", "uid", "user:group",
// "uid:gid" and the mixed forms — with the rules of `docker exec -u`
// (moby's GetExecUser, which runc also applies):
//   - the user part matches an entry by name, or by uid when numeric; the
//     entry gives the uid, the primary gid and HOME. A name without an
//     entry is an error; a numeric uid without one is that uid with gid 0
//     (docker's default) and HOME "/";
//   - without a group part, the supplementary groups are the gids of every
//     /etc/group entry listing the user's name (none when no entry matched);
//   - a group part replaces the primary gid (by name: the group must
//     exist; numeric: any gid) and then no supplementary group is added.
// id->gids is malloc'ed; home receives HOME. 0, or -1 with err set.
int nucleus_resolve_user(const char *spec, size_t speclen, const char *passwd, const char *group, struct nucleus_identity *id, char *home, size_t homesize, char *err, size_t errsize)
{
	struct nucleus_user_file pf, gf;
	struct pw_entry pw;
	struct span usr = {spec, speclen}, grp = {NULL, 0};
	const char *colon = memchr(spec, ':', speclen);
	uint32_t uid = 0;
	int numeric, found, rc = -1;

	memset(id, 0, sizeof(*id));
	memset(&gf, 0, sizeof(gf));
	if (colon) {
		usr.len = (size_t)(colon - spec);
		grp.s = colon + 1;
		grp.len = speclen - usr.len - 1;
	}
	if (nucleus_read_user_file(passwd, &pf, err, errsize) < 0)
		return -1;
	numeric = parse_id(usr, &uid) == 0;
	found = find_passwd(&pf, usr.s, usr.len, uid, numeric, &pw, err, errsize);
	if (found < 0)
		goto out;
	snprintf(home, homesize, "/");
	if (found) {
		id->uid = pw.uid;
		id->gid = pw.gid;
		if (pw.home.len > 0 && pw.home.s[0] == '/' && pw.home.len < homesize) {
			memcpy(home, pw.home.s, pw.home.len);
			home[pw.home.len] = 0;
		}
	} else if (numeric) {
		id->uid = uid;
	} else {
		snprintf(err, errsize, "no entry in the container's %s", passwd);
		goto out;
	}
	if (!colon && !found) {
		rc = 0;
		goto out;
	}
	if (nucleus_read_user_file(group, &gf, err, errsize) < 0)
		goto out;
	if (colon) {
		struct group_query q = {0};
		uint32_t g;
		int n;
		q.numeric = parse_id(grp, &q.gid) == 0;
		q.name = grp;
		n = find_groups(&gf, &q, &g, 1, err, errsize);
		if (n < 0)
			goto out;
		if (n > 0) {
			id->gid = g;
		} else if (q.numeric) {
			id->gid = q.gid;
		} else {
			char qt[300];
			nucleus_quote(qt, sizeof(qt), grp.s, grp.len);
			snprintf(err, errsize, "group %s: no entry in the container's %s", qt, group);
			goto out;
		}
		rc = 0;
		goto out;
	}
	{
		struct group_query q = {0};
		int n, max = 65536; /* NGROUPS_MAX */
		q.by_member = 1;
		q.member = pw.name;
		id->gids = malloc(sizeof(uint32_t) * (size_t)max);
		if (!id->gids) {
			snprintf(err, errsize, "out of memory");
			goto out;
		}
		n = find_groups(&gf, &q, id->gids, max, err, errsize);
		if (n < 0)
			goto out;
		id->ngids = (uint32_t)n;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(id->gids);
		id->gids = NULL;
		id->ngids = 0;
	}
	nucleus_user_file_free(&pf);
	nucleus_user_file_free(&gf);
	return rc;
}

// nucleus_home_of finds the home directory of uid in passwd: "/" when the
// file or the entry is missing or the home is not absolute (runc's
// default), an error when the file is hostile (see above).
int nucleus_home_of(uint32_t uid, const char *passwd, char *home, size_t homesize, char *err, size_t errsize)
{
	struct nucleus_user_file pf;
	struct pw_entry pw;
	int found;
	if (nucleus_read_user_file(passwd, &pf, err, errsize) < 0)
		return -1;
	found = find_passwd(&pf, "", 0, uid, 1, &pw, err, errsize);
	if (found >= 0) {
		snprintf(home, homesize, "/");
		if (found && pw.home.len > 0 && pw.home.s[0] == '/' && pw.home.len < homesize) {
			memcpy(home, pw.home.s, pw.home.len);
			home[pw.home.len] = 0;
		}
	}
	nucleus_user_file_free(&pf);
	return found < 0 ? -1 : 0;
}

/* ---- PATH ---- */

// nucleus_look_path finds a command without a slash in the first PATH of
// its environment (the one getenv(3) gives the command), inside the
// container: a regular file with an execute bit. Relative PATH entries are
// skipped, as they would depend on the cwd. NULL when not found; a name
// with a slash is returned as it is.
char *nucleus_look_path(const struct nucleus_str *name, const struct nucleus_str *env, uint32_t nenv)
{
	uint32_t i;
	if (memchr(name->s, '/', name->len))
		return name->s;
	if (memchr(name->s, 0, name->len) || name->len == 0)
		return NULL;
	for (i = 0; i < nenv; i++) {
		const char *p, *end;
		if (env[i].len < 5 || memcmp(env[i].s, "PATH=", 5) != 0)
			continue;
		p = env[i].s + 5;
		end = env[i].s + env[i].len;
		while (p <= end) {
			const char *c = memchr(p, ':', (size_t)(end - p));
			size_t dl = (size_t)((c ? c : end) - p);
			if (dl > 0 && p[0] == '/' && !memchr(p, 0, dl)) {
				struct stat st;
				char *full = malloc(dl + 1 + name->len + 1);
				if (!full)
					return NULL;
				memcpy(full, p, dl);
				full[dl] = '/';
				memcpy(full + dl + 1, name->s, name->len + 1);
				if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
					return full;
				free(full);
			}
			if (!c)
				break;
			p = c + 1;
		}
		break;
	}
	return NULL;
}

/* ---- the config record ---- */

struct child_config {
	uint32_t nargs, nenv;
	struct nucleus_str *args, *env;
	int need_home;
	struct nucleus_str dir, user;
	struct nucleus_identity id;
	uint8_t mode;
	struct nucleus_program prog;
};

static struct nucleus_str *rd_strings(struct nucleus_reader *r, uint32_t *n)
{
	uint32_t i;
	struct nucleus_str *l;
	*n = nucleus_rd_count(r, 4);
	l = calloc((size_t)*n + 1, sizeof(*l));
	if (!l) {
		r->ok = 0;
		return NULL;
	}
	for (i = 0; i < *n && r->ok; i++)
		l[i] = nucleus_rd_str(r);
	return l;
}

static const char *decode_config(const uint8_t *b, size_t len, struct child_config *c)
{
	static char msg[96];
	struct nucleus_reader r = {b, len, 1, NULL};
	uint32_t v, i;
	memset(c, 0, sizeof(*c));
	v = nucleus_rd_u32(&r);
	if (r.ok && v != NUCLEUS_CONFIG_VERSION) {
		snprintf(msg, sizeof(msg), "config: version %u, want %u", v, NUCLEUS_CONFIG_VERSION);
		return msg;
	}
	c->args = rd_strings(&r, &c->nargs);
	c->env = rd_strings(&r, &c->nenv);
	c->need_home = nucleus_rd_bool(&r);
	c->dir = nucleus_rd_str(&r);
	c->id.uid = nucleus_rd_u32(&r);
	c->id.gid = nucleus_rd_u32(&r);
	c->id.ngids = nucleus_rd_count(&r, 4);
	c->id.gids = calloc((size_t)c->id.ngids + 1, sizeof(uint32_t));
	if (!c->id.gids)
		return "config: out of memory";
	for (i = 0; i < c->id.ngids; i++)
		c->id.gids[i] = nucleus_rd_u32(&r);
	c->mode = nucleus_rd_u8(&r);
	c->user = nucleus_rd_str(&r);
	if (r.ok && nucleus_decode_program(&r, &c->prog) < 0)
		r.ok = 0;
	if (!r.ok && r.why) {
		snprintf(msg, sizeof(msg), "config: %s", r.why);
		return msg;
	}
	if (!r.ok)
		return "config: truncated record";
	if (r.len != 0) {
		snprintf(msg, sizeof(msg), "config: %zu bytes after the record", r.len);
		return msg;
	}
	if (c->nargs == 0)
		return "incomplete config";
	return NULL;
}

// read_socket fills buf from the bootstrap socket or fails the step "read
// config": "EOF" when nothing came at all, "unexpected EOF" when the peer
// closed early (the texts of io.ReadFull's errors).
static void read_socket(void *buf, size_t len, int first)
{
	char text[160], et[128];
	size_t off;
	for (off = 0; off < len;) {
		ssize_t k = read(NUCLEUS_FD_SOCK, (char *)buf + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(text, sizeof(text), "read config: %s", nucleus_errtext(errno, et, sizeof(et)));
			nucleus_fail(text, 0);
		}
		if (k == 0)
			nucleus_fail(first && off == 0 ? "read config: EOF" : "read config: unexpected EOF", 0);
		off += (size_t)k;
	}
}

// read_config reads the length-prefixed record from the bootstrap socket.
static uint8_t *read_config(uint32_t *len)
{
	char text[160];
	uint8_t *b;
	read_socket(len, 4, 1);
	if (*len > NUCLEUS_MAX_CONFIG) {
		snprintf(text, sizeof(text), "read config: config of %u bytes", *len);
		nucleus_fail(text, 0);
	}
	b = malloc(*len ? *len : 1);
	if (!b)
		nucleus_fail("read config: out of memory", ENOMEM);
	read_socket(b, *len, 0);
	return b;
}

// argv_of makes a NULL-terminated vector; NULL when a string holds a NUL
// byte, which execve could not pass (EINVAL, as Go's exec reported it).
static char **argv_of(const struct nucleus_str *l, uint32_t n, const char *extra)
{
	char **v = calloc((size_t)n + 2, sizeof(char *));
	uint32_t i;
	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		if (memchr(l[i].s, 0, l[i].len))
			return NULL;
		v[i] = l[i].s;
	}
	v[n] = (char *)extra;
	return v;
}

static void apply_or_report(struct child_config *c)
{
	struct nucleus_result res;
	if (nucleus_apply(&c->prog, &c->id, &c->dir, &res) < 0)
		report_apply(&res);
}

void nucleus_child_run(void)
{
	struct child_config c;
	const char *bad;
	char *homeenv = NULL, *path;
	char **argv, **envp;
	uint8_t *rec;
	uint32_t len;
	int err;

	rec = read_config(&len);
	bad = decode_config(rec, len, &c);
	if (bad) {
		char text[160];
		snprintf(text, sizeof(text), "read config: %s", bad);
		nucleus_fail(text, 0);
	}
	if (c.user.len > 0) {
		char home[4096], e[600], text[1000], q[300];
		nucleus_identity_free_gids(&c.id);
		if (nucleus_resolve_user(c.user.s, c.user.len, NUCLEUS_PASSWD, NUCLEUS_GROUP, &c.id, home, sizeof(home), e, sizeof(e)) < 0) {
			nucleus_quote(q, sizeof(q), c.user.s, c.user.len);
			snprintf(text, sizeof(text), "user %s: %s", q, e);
			nucleus_fail(text, 0);
		}
		if (c.need_home && (homeenv = malloc(strlen(home) + 6)))
			sprintf(homeenv, "HOME=%s", home);
	}
	if (c.need_home && !homeenv) {
		char home[4096], e[600], text[1000];
		if (nucleus_home_of(c.id.uid, NUCLEUS_PASSWD, home, sizeof(home), e, sizeof(e)) < 0) {
			snprintf(text, sizeof(text), "HOME: %s (set HOME to skip the lookup)", e);
			nucleus_fail(text, 0);
		}
		homeenv = malloc(strlen(home) + 6);
		if (!homeenv)
			nucleus_fail("HOME: out of memory", ENOMEM);
		sprintf(homeenv, "HOME=%s", home);
	}

	switch (c.mode) {
	case NUCLEUS_MODE_EXEC:
		path = nucleus_look_path(&c.args[0], c.env, c.nenv);
		if (!path)
			report_exec(c.args[0].s, ENOENT);
		apply_or_report(&c);
		argv = argv_of(c.args, c.nargs, NULL);
		envp = argv_of(c.env, c.nenv, homeenv);
		if (!argv || !envp)
			report_exec(path, EINVAL);
		execve(path, argv, envp);
		err = errno;
		// Landlock or the file's mode? access(2) applies the same DAC
		// checks (and noexec mounts) but Landlock does not restrict it,
		// so an EACCES that access(X_OK) does not reproduce came from
		// Landlock.
		if (err == EACCES && c.prog.has_landlock && faccessat(AT_FDCWD, path, X_OK, 0) == 0)
			err |= NUCLEUS_EXEC_REFUSED_BY_LANDLOCK;
		report_exec(path, err);
		break;
	case NUCLEUS_MODE_HOSTBIN: {
		char text[300];
		if (c.prog.nrules > 0) {
			// Landlock checks execute (and read) on the file when
			// execveat opens it; the host file is beneath none of the
			// container's paths, so it gets a rule of its own, made from
			// the fd itself (landlock_add_rule takes any fd that has a
			// path as parent_fd): no /proc needed in the container.
			static char name[] = "host binary (fd 5)";
			struct nucleus_rule *r = realloc(c.prog.rules, sizeof(*r) * (c.prog.nrules + 1));
			if (!r)
				nucleus_fail("host binary: out of memory", ENOMEM);
			c.prog.rules = r;
			memset(&r[c.prog.nrules], 0, sizeof(r[c.prog.nrules]));
			r[c.prog.nrules].path.s = name;
			r[c.prog.nrules].path.len = sizeof(name) - 1;
			r[c.prog.nrules].access = 1 /* execute */ | 4 /* read_file */;
			r[c.prog.nrules].by_fd = 1;
			r[c.prog.nrules].fd = NUCLEUS_FD_HOSTBIN;
			c.prog.nrules++;
		}
		// The fd is close-on-exec after the close_range step
		// (CVE-2024-21626), so the program does not inherit it; that is
		// why the parent refuses scripts: their interpreter would have to
		// reopen the closed /dev/fd/N.
		apply_or_report(&c);
		snprintf(text, sizeof(text), "host binary %s", c.args[0].s);
		argv = argv_of(c.args, c.nargs, NULL);
		envp = argv_of(c.env, c.nenv, homeenv);
		if (!argv || !envp)
			report_exec(text, EINVAL);
		// No path is looked up inside the container (which may have no
		// /proc for /proc/self/fd/N): the file is the one the parent
		// checked on the host before the join.
		syscall(SYS_execveat, NUCLEUS_FD_HOSTBIN, "", argv, envp, AT_EMPTY_PATH);
		report_exec(text, errno);
		break;
	}
	case NUCLEUS_MODE_COPYTO:
	case NUCLEUS_MODE_COPYFROM: {
		struct nucleus_result res;
		if (c.nargs != 2 || c.args[1].len == 0 || c.args[1].s[0] != '/')
			nucleus_fail("copy: bad worker arguments", EINVAL);
		apply_or_report(&c);
		memset(&res, 0, sizeof(res));
		if (nucleus_as_after_exec(&c.prog, &c.id, &res) < 0)
			report_apply(&res);
		// Hardened before the Go runtime starts: its threads inherit
		// all of it. The worker (nucleus/internal/child) decodes the
		// record again for its arguments.
		nucleus_child_config = rec;
		nucleus_child_config_len = len;
		return;
	}
	default:
		nucleus_fail("child: unknown mode", EINVAL);
	}
	_exit(1);
}

void nucleus_identity_free_gids(struct nucleus_identity *id)
{
	free(id->gids);
	id->gids = NULL;
	id->ngids = 0;
}
