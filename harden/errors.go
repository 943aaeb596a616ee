package harden

// Step names reported in StepError.Step, one per step of Apply in the order
// the steps run. They are stable: callers (and logs) may match on them.
const (
	StepSetgroups  = "setgroups"    // supplementary groups (setgroups(2))
	StepSetresgid  = "setresgid"    // real, effective and saved gid
	StepSetresuid  = "setresuid"    // real, effective and saved uid
	StepCapBSet    = "capbset"      // drop the capability bounding set (PR_CAPBSET_DROP)
	StepAmbient    = "ambient"      // clear the ambient set (PR_CAP_AMBIENT_CLEAR_ALL)
	StepCapset     = "capset"       // clear inheritable, later effective+permitted (capset(2))
	StepNoNewPrivs = "no_new_privs" // PR_SET_NO_NEW_PRIVS
	StepLandlock   = "landlock"     // Landlock ruleset creation and landlock_restrict_self
	StepCloseRange = "close_range"  // every fd >= 3 marked close-on-exec
	StepChdir      = "chdir"        // chdir into the requested directory
	StepGetcwd     = "getcwd"       // verify the cwd is inside the process root
	StepDumpable   = "dumpable"     // PR_SET_DUMPABLE 0
	StepSeccomp    = "seccomp"      // install the filter and verify it is active
)

// StepError is the error returned by (*Program).Apply: the step that failed
// and why. Err is usually a syscall.Errno from the kernel, so callers can use
// errors.As/errors.Is on it (the launch engine forwards the errno to the
// parent). When Apply fails, the calling thread is partially hardened and
// must never be returned to the Go scheduler's pool nor exec anything: the
// caller should report the error and exit.
type StepError struct {
	Step string // one of the Step* constants
	Err  error
}

// Error returns "harden: <step>: <err>".
func (e *StepError) Error() string {
	if e.Err == nil {
		return "harden: " + e.Step + ": failed"
	}
	return "harden: " + e.Step + ": " + e.Err.Error()
}

// Unwrap returns the cause, so errors.Is(err, unix.EPERM) works.
func (e *StepError) Unwrap() error { return e.Err }

func stepErr(step string, err error) error { return &StepError{Step: step, Err: err} }
