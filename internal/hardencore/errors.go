package hardencore

import "strconv"

// Step names reported in StepError.Step, one per step of Apply in the order
// the steps run. They are stable: callers (and logs) may match on them.
const (
	StepSetgroups  = "setgroups"    // supplementary groups (setgroups(2))
	StepSetresgid  = "setresgid"    // real, effective and saved gid
	StepSetresuid  = "setresuid"    // real, effective and saved uid
	StepCapBSet    = "capbset"      // drop the capability bounding set (PR_CAPBSET_DROP)
	StepAmbient    = "ambient"      // clear the ambient set (PR_CAP_AMBIENT_CLEAR_ALL)
	StepCapset     = "capset"       // inheritable, later effective+permitted (capset(2)), ambient raise
	StepRlimit     = "rlimit"       // the target's resource limits (prlimit64(2))
	StepLSM        = "lsm"          // the LSM label for the command (attr/exec)
	StepNoNewPrivs = "no_new_privs" // PR_SET_NO_NEW_PRIVS
	StepLandlock   = "landlock"     // Landlock ruleset creation and landlock_restrict_self
	StepCloseRange = "close_range"  // every fd >= 3 marked close-on-exec
	StepChdir      = "chdir"        // chdir into the requested directory
	StepGetcwd     = "getcwd"       // verify the cwd is inside the process root
	StepDumpable   = "dumpable"     // PR_SET_DUMPABLE 0
	StepSeccomp    = "seccomp"      // install the filters and verify they are active
	// StepProgram names the failure of a nil Program; no step ran.
	StepProgram = "program"
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

// Unwrap returns the cause, so errors.Is(err, syscall.EPERM) works.
func (e *StepError) Unwrap() error { return e.Err }

func stepErr(step string, err error) error { return &StepError{Step: step, Err: err} }

// wrapped is what fmt.Errorf("<msg>: %w", err) makes, without fmt.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg + ": " + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }

// wrap returns an error reading "msg: err" that unwraps to err.
func wrap(msg string, err error) error { return &wrapped{msg: msg, err: err} }

// textError is an error with a fixed text and no cause (errors.New without
// the import, built from concatenations).
type textError string

func (e textError) Error() string { return string(e) }

// Formatting helpers, each what the fmt verb of the old code printed.

func itoa(v int) string    { return strconv.Itoa(v) }           // %d
func utoa(v uint64) string { return strconv.FormatUint(v, 10) } // %d
