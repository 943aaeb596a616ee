package hardencore

import "syscall"

// TestHook, when set (by tests only), is called with the name of every step
// Apply entered, in order, so that tests can assert the order. The steps
// run in C (apply.c), so the names are replayed once Apply returns.
var TestHook func(step string)

// Apply hardens the calling OS thread, which must be locked and must call
// execve right after a successful return. It is the implementation of
// nucleus/harden's (*Program).Apply, whose documentation gives the steps
// and their order; every failure is a *StepError naming the step.
//
// The steps are those the grandchild's constructor runs before any Go
// runtime exists in the container (apply.c, called from nucleus/nsenter):
// one implementation, reached here through cgo for the Go API and its
// tests. Every call in it is a raw single-thread system call.
func (p *Program) Apply(id Identity, dir string) error {
	if p == nil {
		return stepErr(StepProgram, textError("nil Program"))
	}
	for _, r := range p.Rlimits {
		if r.Resource == syscall.RLIMIT_NOFILE {
			// Go's syscall package raised this process's soft NOFILE
			// limit at init and restores the one it found in
			// syscall.Exec, which would undo the target's. Its own
			// Setrlimit (of the current values) tells it not to.
			var lim syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
				_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
			}
			break
		}
	}
	return applyProgram(AppendProgram(nil, p), id, dir)
}

// resultError is the *StepError for a failed step as apply.c reports it:
// the step, a text (may be empty) and an errno (0 when none).
func resultError(step, text string, errno syscall.Errno) error {
	switch {
	case text == "" && errno != 0:
		return stepErr(step, errno)
	case errno == 0:
		return stepErr(step, textError(text))
	}
	return stepErr(step, wrap(text, errno))
}

// replayTrace hands the steps Apply entered to TestHook.
func replayTrace(steps []string) {
	if TestHook == nil {
		return
	}
	for _, s := range steps {
		TestHook(s)
	}
}
