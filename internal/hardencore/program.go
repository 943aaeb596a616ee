package hardencore

// Program is a compiled hardening policy: capabilities as a mask, the
// seccomp filter as classic BPF, the Landlock rules as access masks.
// nucleus/harden defines its public Program over this type (type Program
// hardencore.Program), so the JSON tags are part of harden's API.
type Program struct {
	// KeepCaps is the mask (bit n = capability n) of capabilities kept in
	// the bounding, permitted and effective sets.
	KeepCaps uint64 `json:"keep_caps"`
	// Seccomp is the filter, as the sock_filter array seccomp(2) takes.
	Seccomp []SockFilter `json:"seccomp"`
	// Landlock are the path rules with their LANDLOCK_ACCESS_FS_* rights.
	Landlock []LandlockRule `json:"landlock"`
	// LandlockBestEffort: a kernel without Landlock is tolerated.
	LandlockBestEffort bool `json:"landlock_best_effort,omitempty"`
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
