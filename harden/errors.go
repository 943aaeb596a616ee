package harden

import "nucleus/internal/hardencore"

// Step names reported in StepError.Step, one per step of Apply in the order
// the steps run. They are stable: callers (and logs) may match on them.
const (
	StepSetgroups  = hardencore.StepSetgroups  // supplementary groups (setgroups(2))
	StepSetresgid  = hardencore.StepSetresgid  // real, effective and saved gid
	StepSetresuid  = hardencore.StepSetresuid  // real, effective and saved uid
	StepCapBSet    = hardencore.StepCapBSet    // drop the capability bounding set (PR_CAPBSET_DROP)
	StepAmbient    = hardencore.StepAmbient    // clear the ambient set (PR_CAP_AMBIENT_CLEAR_ALL)
	StepCapset     = hardencore.StepCapset     // inheritable, later effective+permitted (capset(2)), ambient raise
	StepRlimit     = hardencore.StepRlimit     // the target's resource limits (prlimit64(2))
	StepLSM        = hardencore.StepLSM        // the LSM label for the command (attr/exec)
	StepNoNewPrivs = hardencore.StepNoNewPrivs // PR_SET_NO_NEW_PRIVS
	StepLandlock   = hardencore.StepLandlock   // Landlock ruleset creation and landlock_restrict_self
	StepCloseRange = hardencore.StepCloseRange // every fd >= 3 marked close-on-exec
	StepChdir      = hardencore.StepChdir      // chdir into the requested directory
	StepGetcwd     = hardencore.StepGetcwd     // verify the cwd is inside the process root
	StepDumpable   = hardencore.StepDumpable   // PR_SET_DUMPABLE 0
	StepSeccomp    = hardencore.StepSeccomp    // install the filter and verify it is active
)

// StepProgram names the failure of a nil Program; no step ran.
const StepProgram = hardencore.StepProgram

// StepError is the error returned by (*Program).Apply: the step that failed
// and why. Err is usually a syscall.Errno from the kernel, so callers can use
// errors.As/errors.Is on it (the launch engine forwards the errno to the
// parent). When Apply fails, the calling thread is partially hardened and
// must never be returned to the Go scheduler's pool nor exec anything: the
// caller should report the error and exit. Its Error is
// "harden: <step>: <err>" and it unwraps to Err.
//
// It is an alias of the type the low-level sequence returns
// (nucleus/internal/hardencore), so errors.As with a *harden.StepError
// matches the errors of the launch engine's child too.
type StepError = hardencore.StepError
