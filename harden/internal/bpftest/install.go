package bpftest

import (
	"runtime"
	"time"

	"nucleus/internal/hardencore"
)

// InstallFresh installs filters, in order, on a new OS thread of this
// process, runs then there (when not nil) and ends the thread (it is never
// reused, so no other code runs under the filters), and returns how long
// the seccomp(2) calls took, which is what a child pays for its filters
// before exec: the kernel's checks and conversion of the program, its JIT
// compilation and the action cache (the filter run once per syscall
// number). For benchmarks; installing without no_new_privs needs
// CAP_SYS_ADMIN.
func InstallFresh(then func(), filters ...[]hardencore.SockFilter) (time.Duration, error) {
	type result struct {
		d   time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine, filters and all.
		runtime.LockOSThread()
		start := time.Now()
		for _, f := range filters {
			if err := hardencore.InstallSeccomp(f); err != nil {
				done <- result{err: err}
				return
			}
		}
		d := time.Since(start)
		if then != nil {
			then()
		}
		done <- result{d: d}
	}()
	r := <-done
	return r.d, r.err
}
