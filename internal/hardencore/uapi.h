// The kernel ABI the hardening steps speak, written out here rather than
// taken from <linux/*.h>: those headers come with the kernel's headers
// package, which a musl toolchain (the static release build, see
// examples/nsattach/static.go) does not search. Each definition is the
// kernel's own, a stable ABI; the file that holds it is named.
#ifndef NUCLEUS_UAPI_H
#define NUCLEUS_UAPI_H

#include <stdint.h>

/* include/uapi/linux/filter.h: a classic BPF program. */
struct sock_filter {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

struct sock_fprog {
	unsigned short len;
	struct sock_filter *filter;
};

/* include/uapi/linux/seccomp.h */
#define NUCLEUS_SECCOMP_MODE_FILTER 2     /* prctl(PR_GET_SECCOMP) */
#define NUCLEUS_SECCOMP_SET_MODE_FILTER 1 /* seccomp(2) operation */

/* include/uapi/linux/capability.h: capget(2) and capset(2), version 3 (two
 * data structs, capabilities 0-31 and 32-63). */
#define NUCLEUS_CAPABILITY_VERSION_3 0x20080522

struct nucleus_cap_header {
	uint32_t version;
	int pid;
};

struct nucleus_cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};

#endif
