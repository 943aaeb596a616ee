// What nucleus/attach/oneshot asks of a program's start, before its Go
// runtime exists: the executable view made on a thread of its own
// (view.c), and the runtime started with one P.
//
// Why one P from the first instruction: the runtime sizes its scheduler
// from the CPUs the main thread may run on (sched_getaffinity, read once at
// start), and with a P per CPU it wakes and spins a thread for every
// goroutine made ready during its start and the program's package
// initialisation, then a call of runtime.GOMAXPROCS(1) stops the world to
// drop the extra Ps. Measured on two cores: ≈ 0.1–0.2 ms of a one-shot
// attach, and one thread more to wake and kill at exit. GOMAXPROCS in the
// environment would say it, but it would be nsattach's caller's to set.
// So the main thread is held on the CPU it is on until the runtime has
// read its affinity; nucleus_oneshot_release, called from the package's Go
// init, gives every thread the mask the program started with back.

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "oneshot.h"
#include "view.h"

static cpu_set_t start_mask;
static int held;

void nucleus_oneshot_start(void)
{
	cpu_set_t one;
	int cpu;

	// First, so that its thread keeps every CPU.
	nucleus_view_prefetch();

	// A GOMAXPROCS of the caller's is the runtime's to honour.
	if (getenv("GOMAXPROCS") != NULL)
		return;
	if (sched_getaffinity(0, sizeof(start_mask), &start_mask) < 0 || CPU_COUNT(&start_mask) < 2)
		return;
	cpu = sched_getcpu();
	if (cpu < 0 || !CPU_ISSET(cpu, &start_mask))
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == 0)
		held = 1;
}

int nucleus_oneshot_release(void)
{
	int changed = 1, pass;

	if (!held)
		return 0;
	held = 0;
	// Every thread made so far inherited the one CPU from the main
	// thread. A thread made during a pass by one not yet released may be
	// missed by it: passes repeat until one changes nothing.
	for (pass = 0; changed && pass < 8; pass++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;

		if (d == NULL) {
			// A /proc of another PID namespace: release this
			// thread at least.
			int err = errno;
			sched_setaffinity(0, sizeof(start_mask), &start_mask);
			return err ? err : ENOENT;
		}
		changed = 0;
		while ((e = readdir(d)) != NULL) {
			cpu_set_t cur;
			int tid = atoi(e->d_name);

			if (tid <= 0)
				continue;
			if (sched_getaffinity(tid, sizeof(cur), &cur) == 0 && CPU_EQUAL(&cur, &start_mask))
				continue;
			// ESRCH: the thread exited since readdir.
			if (sched_setaffinity(tid, sizeof(start_mask), &start_mask) == 0)
				changed = 1;
		}
		closedir(d);
	}
	return 0;
}

int nucleus_oneshot_held(void)
{
	return held;
}
