package hardencore

// Program is a compiled hardening policy: the capability sets, the
// no_new_privs bit, the seccomp filters as classic BPF, the Landlock rules
// as access masks, the resource limits and the LSM label the command gets.
// nucleus/harden defines its public Program over this type (type Program
// hardencore.Program), so the JSON tags are part of harden's API.
type Program struct {
	// Caps are the capability sets the command is given. Every set is a
	// subset of the target's (harden.CompileFor guarantees it), so the
	// command never holds a capability the container's process lacks.
	Caps CapSets `json:"caps"`
	// NoNewPrivs sets PR_SET_NO_NEW_PRIVS. Without it the filters are
	// installed while the thread still holds CAP_SYS_ADMIN (see Apply).
	NoNewPrivs bool `json:"no_new_privs"`
	// Strict marks the strict sandbox (harden.StrictPolicy): kept
	// capabilities must survive execve, and errors name the policy.
	Strict bool `json:"strict,omitempty"`
	// Seccomp is nucleus's floor filter, as the sock_filter array
	// seccomp(2) takes. It is always installed.
	Seccomp []SockFilter `json:"seccomp"`
	// SeccompStack are further filters stacked on the floor (the
	// container's own profile, the strict additions); the kernel runs
	// every filter and the most restrictive answer wins.
	SeccompStack [][]SockFilter `json:"seccomp_stack,omitempty"`
	// Landlock are the path rules with their LANDLOCK_ACCESS_FS_* rights;
	// nil means no Landlock domain.
	Landlock []LandlockRule `json:"landlock"`
	// LandlockBestEffort: a kernel without Landlock is tolerated.
	LandlockBestEffort bool `json:"landlock_best_effort,omitempty"`
	// Rlimits are set with prlimit64 on the thread before execve.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// LSMExec is the LSM label for the command, written to the thread's
	// attr/exec file before execve; empty Attr means none.
	LSMExec LSMExec `json:"lsm_exec,omitempty"`
}

// CapSets are the five capability sets of a thread (bit n = capability n),
// as /proc/PID/status prints them.
type CapSets struct {
	Bounding    uint64 `json:"bounding"`
	Permitted   uint64 `json:"permitted"`
	Effective   uint64 `json:"effective"`
	Inheritable uint64 `json:"inheritable"`
	Ambient     uint64 `json:"ambient"`
}

// Rlimit is one resource limit (struct rlimit64 with its RLIMIT_* number).
type Rlimit struct {
	Resource uint32 `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

// LSMExec is an LSM label to take at execve: Value is written to Attr, a
// path below /proc/thread-self (e.g. "attr/apparmor/exec" with
// "exec <profile>", or "attr/exec" with an SELinux context).
type LSMExec struct {
	Attr  string `json:"attr,omitempty"`
	Value string `json:"value,omitempty"`
}

// SockFilter is one classic BPF instruction (struct sock_filter).
type SockFilter struct {
	Code uint16 `json:"code"`
	Jt   uint8  `json:"jt"`
	Jf   uint8  `json:"jf"`
	K    uint32 `json:"k"`
}

// LandlockRule is a compiled path rule: the path and the Landlock file
// system access rights (LANDLOCK_ACCESS_FS_* bits) it grants.
type LandlockRule struct {
	Path   string `json:"path"`
	Access uint64 `json:"access"`
}

// Identity is the process identity to take, as seen inside the container's
// user namespace (the fields of nucleus/state.ProcessIdentity, which this
// package cannot import: state pulls in encoding/json and os).
type Identity struct {
	UID            uint32
	GID            uint32
	AdditionalGIDs []uint32
}

// BPFMaxInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const BPFMaxInsns = 4096
