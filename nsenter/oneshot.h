// The start of a program that links nucleus/attach/oneshot (oneshot.c).
#ifndef NUCLEUS_ONESHOT_H
#define NUCLEUS_ONESHOT_H

/* Called by the constructor, before the Go runtime starts. */
void nucleus_oneshot_start(void);

/* Gives every thread the CPU affinity the program started with back: 0, or
 * the errno of reading /proc/self/task (then only the calling thread got
 * it back). */
int nucleus_oneshot_release(void);

/* Whether the main thread is still held on one CPU. */
int nucleus_oneshot_held(void);

#endif
