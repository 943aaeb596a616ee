package harden

import "nucleus/internal/hardencore"

// Confinement is what confines the target process, the container's own
// security settings as the parent reads them before the child starts (the
// launch engine reads /proc/PID/status, prlimit(2), /proc/PID/attr and the
// OCI config; see nucleus/internal/launch). The container policy gives the
// command exactly this, the strict policy at most this. Plain values.
type Confinement struct {
	// Caps are the target's five capability sets.
	Caps CapSets
	// NoNewPrivs is the target's no_new_privs bit (or the OCI config's
	// process.noNewPrivileges).
	NoNewPrivs bool
	// Seccomp are the container's own filters (CompileOCISeccomp of its
	// linux.seccomp), stacked on the floor.
	Seccomp [][]SockFilter
	// Rlimits are the target's resource limits (or the OCI config's
	// process.rlimits).
	Rlimits []Rlimit
	// LSMExec is the target's LSM label, as it is written for execve;
	// empty when no LSM is active or the target is unconfined.
	LSMExec LSMExec
}

// CapSets are the five capability sets of a thread (bit n = capability n).
type CapSets = hardencore.CapSets

// Rlimit is one resource limit: RLIMIT_* number, soft and hard values.
type Rlimit = hardencore.Rlimit

// LSMExec is an LSM label written to /proc/thread-self/<Attr> before execve.
type LSMExec = hardencore.LSMExec
