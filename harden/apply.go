package harden

import (
	"nucleus/internal/hardencore"
	"nucleus/state"
)

// Apply hardens the calling OS thread, which must be locked
// (runtime.LockOSThread) and must call execve right after a successful
// return: the exec'd image inherits this thread's credentials, capability
// sets, no_new_privs bit, Landlock domain and seccomp filter. Only this
// thread is changed: every call is a raw single-thread syscall (no psx, no
// syscall.AllThreadsSyscall, no Landlock or seccomp TSYNC); the other
// threads of the Go runtime keep their credentials and die at execve.
//
// id is the identity inside the container's user namespace; dir is the
// working directory inside the container ("" means "/"; it must be
// absolute). The steps, in order (see the package documentation for why
// this order):
//
//  1. setgroups(id.AdditionalGIDs) — tolerated to fail only when the
//     kernel refuses it with EPERM, /proc/self/setgroups says "deny" and no
//     additional gids were asked for; setresgid(id.GID);
//     setresuid(id.UID), with PR_SET_KEEPCAPS held around it so that the
//     permitted set survives for the later steps;
//  2. reduce the bounding set to Caps.Bounding;
//  3. set the rlimits (prlimit64 on this process);
//  4. without NoNewPrivs: install the seccomp filters now, while
//     CAP_SYS_ADMIN is held;
//  5. clear the ambient set, set the inheritable set to Caps.Inheritable;
//  6. write the LSM label to /proc/thread-self/<LSMExec.Attr>;
//  7. PR_SET_NO_NEW_PRIVS when NoNewPrivs;
//  8. Landlock, when there are rules: the rule paths are opened now
//     (O_PATH, inside the container's mount namespace), the rights masked
//     to what the kernel's Landlock ABI supports, and the ruleset enforced
//     on this thread;
//  9. set effective, permitted and inheritable to the Program's, raise its
//     ambient capabilities;
//  10. close_range(3, ~0U, CLOSE_RANGE_CLOEXEC): no fd but 0, 1, 2 survives
//     execve;
//  11. chdir(dir), then getcwd must be an absolute path (the kernel
//     prefixes "(unreachable)" to a cwd outside the process root);
//  12. PR_SET_DUMPABLE 0 again;
//  13. with NoNewPrivs: seccomp(SECCOMP_SET_MODE_FILTER) last, the floor
//     then the stacked filters, verified with PR_GET_SECCOMP (or
//     /proc/thread-self/status when a filter denies prctl).
//
// Refused before any step, as a StepCapset error: capability sets that are
// not nested as the kernel keeps them (ambient within permitted and
// inheritable, effective within permitted, permitted within bounding); and,
// for a strict Program, permitted capabilities beyond the ambient ones with
// a non-zero id.UID, which execve would drop.
//
// Every failure is a *StepError naming the step. After a failure the thread
// is partially hardened: the caller must not exec anything and should exit.
//
// The sequence itself is in C (nucleus/internal/hardencore's apply.c), its
// one implementation: the launch engine's grandchild runs it from its
// constructor, before any Go runtime starts in the container, and Apply
// reaches the same code through cgo on the calling thread. It therefore
// needs a cgo build; without cgo it fails with a StepProgram error.
func (p *Program) Apply(id state.ProcessIdentity, dir string) error {
	return (*hardencore.Program)(p).Apply(Identity(id), dir)
}

// Identity converts a state.ProcessIdentity to the form the hardening
// sequence (and the launch engine's wire record) carries.
func Identity(id state.ProcessIdentity) hardencore.Identity {
	return hardencore.Identity{UID: id.UID, GID: id.GID, AdditionalGIDs: id.AdditionalGIDs}
}
