package harden

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

	"nucleus/harden/internal/bpfasm"
	"nucleus/internal/hardencore"
)

// Program is a Policy compiled in the parent for one target: capability
// sets, the seccomp filters assembled into classic BPF, the Landlock rules
// as access masks, rlimits and the LSM label. It crosses to the child in nucleus/internal/launch's binary
// config record (JSON tags are kept for logs and tools), where Apply only
// performs system calls with it. A Program must not be modified after Compile: the
// default Program's slices are shared between callers.
//
// Its fields are those of nucleus/internal/hardencore's Program, the form
// the launch engine's child applies without importing this package:
//
//	Caps CapSets                 `json:"caps"`           // the five capability sets the command gets
//	NoNewPrivs bool              `json:"no_new_privs"`   // PR_SET_NO_NEW_PRIVS
//	Strict bool                  `json:"strict"`         // compiled from the strict policy
//	Seccomp []SockFilter         `json:"seccomp"`        // the floor filter, as the sock_filter array seccomp(2) takes
//	SeccompStack [][]SockFilter  `json:"seccomp_stack"`  // filters stacked on it (the container's, the strict additions)
//	Landlock []LandlockRule      `json:"landlock"`       // path rules with their LANDLOCK_ACCESS_FS_* rights; nil: no Landlock
//	LandlockBestEffort bool      `json:"landlock_best_effort,omitempty"` // a kernel without Landlock is tolerated
//	Rlimits []Rlimit             `json:"rlimits"`        // resource limits set before execve
//	LSMExec LSMExec              `json:"lsm_exec"`       // the LSM label written to attr/exec
type Program hardencore.Program

// SockFilter is one classic BPF instruction (struct sock_filter).
type SockFilter = hardencore.SockFilter

// bpfMaxInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const bpfMaxInsns = hardencore.BPFMaxInsns

// Compile is CompileFor without a target: only a strict policy can be
// compiled so (its capabilities are then checked against the kernel only);
// the container policy needs the target's Confinement.
func Compile(p Policy) (*Program, error) {
	return CompileFor(p, nil)
}

// CompileFor validates p and compiles it into a Program for a target
// confined by c (nil: no target, strict policies only). It is meant to run
// in the parent; the default floor and the strict additions are assembled
// ahead of time (see archTables), so compiling costs copies, not
// assemblies.
//
// Every capability set of the Program is a subset of c's, c's seccomp
// filters are stacked on the floor, c's rlimits and LSM label are kept,
// and no_new_privs is set when c has it, p asks for it, or p is strict.
//
// CompileFor refuses: a container policy without c; a capability the
// running kernel does not have, or (strict) one the target lacks; a
// seccomp floor (Policy.Seccomp) that is empty, longer than BPF_MAXINSNS,
// holds an instruction the interpreter does not know, does not allow
// execve on the native architecture, or allows it from a foreign one; a
// Landlock rule whose path is
// not absolute or holds a NUL, or whose Access is empty or unknown; an
// empty, non-nil Landlock list.
func CompileFor(p Policy, c *Confinement) (*Program, error) {
	if c == nil && !p.Strict {
		return nil, errors.New("harden: compile: the container policy needs the target's confinement (CompileFor), or use StrictPolicy")
	}
	prog := &Program{Strict: p.Strict, NoNewPrivs: p.NoNewPrivs || p.Strict, LandlockBestEffort: p.LandlockBestEffort}

	known := cap.MaxBits() // discovered from the running kernel
	var mask uint64
	for _, v := range p.Capabilities {
		if v >= known || v >= 64 {
			return nil, fmt.Errorf("harden: compile: capability %d is not a capability of this kernel (it has %d)", int(v), int(known))
		}
		mask |= 1 << uint(v)
	}
	switch {
	case p.Strict:
		if c != nil {
			if lack := mask &^ (c.Caps.Bounding & c.Caps.Permitted); lack != 0 {
				return nil, fmt.Errorf("harden: compile: capabilities %s cannot be kept: the target does not hold them (never looser than the container)", hardencore.CapNames(lack))
			}
		}
		prog.Caps = CapSets{Bounding: mask, Permitted: mask, Effective: mask}
	default:
		prog.Caps = c.Caps
		if p.Capabilities != nil {
			prog.Caps = CapSets{Bounding: c.Caps.Bounding & mask, Permitted: c.Caps.Permitted & mask,
				Effective: c.Caps.Effective & mask, Inheritable: c.Caps.Inheritable & mask, Ambient: c.Caps.Ambient & mask}
		}
	}
	if c != nil {
		prog.NoNewPrivs = prog.NoNewPrivs || c.NoNewPrivs
		prog.Rlimits = c.Rlimits
		prog.LSMExec = c.LSMExec
		prog.SeccompStack = append(prog.SeccompStack, c.Seccomp...)
	}

	tables, err := nativeTables()
	if err != nil {
		return nil, fmt.Errorf("harden: compile: seccomp: %w", err)
	}
	if p.Seccomp == nil {
		prog.Seccomp = tables.floor
	} else {
		if err := checkFloor(p.Seccomp, tables); err != nil {
			return nil, fmt.Errorf("harden: compile: seccomp: %w", err)
		}
		prog.Seccomp = p.Seccomp
	}
	if p.Strict {
		prog.SeccompStack = append(prog.SeccompStack, tables.strict)
	}

	rules := p.Landlock
	if rules == nil && p.Strict {
		rules = DefaultLandlockRules()
	} else if rules != nil && len(rules) == 0 {
		return nil, errors.New("harden: compile: landlock: empty rule list would deny everything, even executing the command (use nil for the default rules)")
	}
	if rules == nil {
		return prog, nil
	}
	prog.Landlock = make([]LandlockRule, 0, len(rules))
	for _, r := range rules {
		if r.Path == "" || r.Path[0] != '/' || strings.IndexByte(r.Path, 0) >= 0 {
			return nil, fmt.Errorf("harden: compile: landlock: path %q must be absolute and without NUL", r.Path)
		}
		if r.Access == 0 || r.Access&^accessAll != 0 {
			return nil, fmt.Errorf("harden: compile: landlock: path %q: invalid access %#x", r.Path, uint32(r.Access))
		}
		prog.Landlock = append(prog.Landlock, LandlockRule{Path: filepath.Clean(r.Path), Access: landlockRights(r.Access)})
	}
	return prog, nil
}

// SeccompData is the input of a seccomp filter (struct seccomp_data), as
// Simulate takes it.
type SeccompData = bpfasm.SeccompData

// checkFloor checks a caller's floor filter: the kernel's length limit,
// and, in the BPF interpreter, that a native execve is allowed (the filter
// is installed before the command is executed, so a floor that denies it
// could never start anything) and that calls of a foreign architecture
// are not (an i386 int $0x80 from an x86_64 process would otherwise bypass
// a deny-list; seccomppolicy.Assemble puts that check in every filter).
func checkFloor(f []SockFilter, t *archTables) error {
	if len(f) == 0 {
		return errors.New("empty floor filter (nil means the default floor)")
	}
	if len(f) > bpfMaxInsns {
		return fmt.Errorf("floor filter of %d instructions exceeds the kernel's %d", len(f), bpfMaxInsns)
	}
	vm, err := bpfasm.NewVM(f)
	if err != nil {
		return err
	}
	execve, ok := t.number("execve")
	if !ok {
		return errors.New("execve unknown on this architecture")
	}
	const arch64Bit = 0x80000000 // __AUDIT_ARCH_64BIT: flipped, a foreign architecture
	for _, c := range []struct {
		arch  uint32
		allow bool
	}{{t.audit, true}, {t.audit ^ arch64Bit, false}} {
		ret, err := bpfasm.RunVM(vm, SeccompData{Nr: int32(execve), Arch: c.arch})
		if err != nil {
			return err
		}
		allowed := ret&unix.SECCOMP_RET_ACTION_FULL == unix.SECCOMP_RET_ALLOW
		switch {
		case c.allow && !allowed:
			return fmt.Errorf("the floor does not allow execve (action %#x): the filter is installed before the command is executed", ret)
		case !c.allow && allowed:
			return fmt.Errorf("the floor allows execve from a foreign architecture (audit arch %#x): assemble it with nucleus/harden/seccomppolicy, which denies those", c.arch)
		}
	}
	return nil
}

// Simulate runs a filter in golang.org/x/net/bpf's interpreter on d and
// returns the seccomp action value (SECCOMP_RET_*), e.g. to check what a
// Program answers to a call without installing it.
func Simulate(filter []SockFilter, d SeccompData) (uint32, error) {
	vm, err := bpfasm.NewVM(filter)
	if err != nil {
		return 0, err
	}
	return bpfasm.RunVM(vm, d)
}
