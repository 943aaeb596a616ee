// The grandchild's C side (child.c): the config record of
// nucleus/internal/child (config.go), the container's user database and
// PATH, the exec.
#ifndef NUCLEUS_CHILD_H
#define NUCLEUS_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"

/* internal/child.ConfigVersion, MaxConfig and the Mode values. */
#define NUCLEUS_CONFIG_VERSION 4u
#define NUCLEUS_MAX_CONFIG (1 << 20)
#define NUCLEUS_MODE_EXEC 0
#define NUCLEUS_MODE_HOSTBIN 1
#define NUCLEUS_MODE_COPYTO 2
#define NUCLEUS_MODE_COPYFROM 3
/* Or'ed into an exec report's errno when Landlock refused the execve. */
#define NUCLEUS_EXEC_REFUSED_BY_LANDLOCK (1 << 16)

#define NUCLEUS_PASSWD "/etc/passwd"
#define NUCLEUS_GROUP "/etc/group"
/* What is read of either file at most. */
#define NUCLEUS_MAX_USER_FILE (1 << 20)

struct nucleus_user_file {
	const char *path;
	char *buf;
	size_t len;
	int missing;
};

extern uint8_t *nucleus_child_config;
extern uint32_t nucleus_child_config_len;

/* nsenter.c: one message to the parent on the bootstrap socket; a failed
 * step reported, and the process ended. */
void nucleus_send_msg(uint32_t type, int32_t value, const char *text);
__attribute__((noreturn)) void nucleus_fail(const char *step, int err);

/* Runs the grandchild: returns only for a copy worker, hardened. */
void nucleus_child_run(void);

int nucleus_read_user_file(const char *path, struct nucleus_user_file *f, char *err, size_t errsize);
void nucleus_user_file_free(struct nucleus_user_file *f);
int nucleus_resolve_user(const char *spec, size_t speclen, const char *passwd, const char *group, struct nucleus_identity *id, char *home, size_t homesize, char *err, size_t errsize);
int nucleus_home_of(uint32_t uid, const char *passwd, char *home, size_t homesize, char *err, size_t errsize);
char *nucleus_look_path(const struct nucleus_str *name, const struct nucleus_str *env, uint32_t nenv);
void nucleus_identity_free_gids(struct nucleus_identity *id);

#endif
