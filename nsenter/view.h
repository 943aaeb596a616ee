// The overlay view of the running program (view.c).
#ifndef NUCLEUS_VIEW_H
#define NUCLEUS_VIEW_H

struct nucleus_view {
	int fd;         /* the binary, read-only, in the detached overlay; -1 on failure */
	int err;        /* the errno of the failed step, 0 when there is none */
	char step[512]; /* the failed step */
	char name[256]; /* the binary's file name */
};

/* Makes the view into *v. */
void nucleus_view_make(struct nucleus_view *v);

/* Starts making the view on a thread of its own (nucleus/attach/oneshot). */
void nucleus_view_prefetch(void);

/* Waits for the view nucleus_view_prefetch started and moves it into *v:
 * 1, or 0 when none was started (or it was taken already). */
int nucleus_view_take_prefetched(struct nucleus_view *v);

#endif
