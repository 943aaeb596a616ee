package harden

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/cap"

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

// defaultFilter is the default seccomp profile assembled once per process:
// Compile with a nil Policy.Seccomp costs a copy, not an assembly.
var defaultFilter struct {
	once   sync.Once
	filter []SockFilter
	err    error
}

// strictFilter is the strict policy's addition to the floor, assembled once
// per process.
var strictFilter struct {
	once   sync.Once
	filter []SockFilter
	err    error
}

// Compile is CompileFor without a target: only a strict policy can be
// compiled so (its capabilities are then checked against the kernel only);
// the container policy needs the target's Confinement.
func Compile(p Policy) (*Program, error) {
	return CompileFor(p, nil)
}

// CompileFor validates p and compiles it into a Program for a target
// confined by c (nil: no target, strict policies only). It is meant to run
// in the parent; the floor and strict filters are assembled only once per
// process, so compiling repeatedly costs copies, not assemblies.
//
// Every capability set of the Program is a subset of c's, c's seccomp
// filters are stacked on the floor, c's rlimits and LSM label are kept,
// and no_new_privs is set when c has it, p asks for it, or p is strict.
//
// CompileFor refuses: a container policy without c; a capability the
// running kernel does not have, or (strict) one the target lacks; a
// seccomp policy go-seccomp-bpf cannot assemble (unknown syscall names,
// invalid actions), one longer than BPF_MAXINSNS, or one that does not
// allow execve on the native architecture; a Landlock rule whose path is
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

	if p.Seccomp == nil {
		defaultFilter.once.Do(func() {
			defaultFilter.filter, defaultFilter.err = assemble(DefaultSeccompPolicy())
		})
		if defaultFilter.err != nil {
			return nil, fmt.Errorf("harden: compile: default seccomp profile: %w", defaultFilter.err)
		}
		prog.Seccomp = defaultFilter.filter
	} else {
		f, err := assemble(p.Seccomp)
		if err != nil {
			return nil, fmt.Errorf("harden: compile: seccomp: %w", err)
		}
		prog.Seccomp = f
	}
	if p.Strict {
		strictFilter.once.Do(func() {
			strictFilter.filter, strictFilter.err = assemble(strictSeccompPolicy())
		})
		if strictFilter.err != nil {
			return nil, fmt.Errorf("harden: compile: strict seccomp additions: %w", strictFilter.err)
		}
		prog.SeccompStack = append(prog.SeccompStack, strictFilter.filter)
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

// Seccomp return values.
const (
	retErrnoEPERM  = uint32(seccomp.ActionErrno) | uint32(unix.EPERM)
	retErrnoENOSYS = uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)
)

// seccomp_data offsets (struct seccomp_data: nr, arch, instruction_pointer,
// args[6]).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// offArgLo is the offset of the low 32 bits of argument i.
func offArgLo(i uint32) uint32 {
	off := offArgs + 8*i
	if !littleEndian {
		off += 4
	}
	return off
}

// bucketSize is the width of the syscall-number ranges the filter is split
// into (see assemble).
const bucketSize = 64

// assemble turns a go-seccomp-bpf policy into the raw filter, behind a
// prologue of what go-seccomp-bpf cannot express:
//
//   - architecture: go-seccomp-bpf sends a non-native architecture (an
//     i386 int $0x80 call from an x86_64 process reports AUDIT_ARCH_I386)
//     to the policy's default action, which for a deny-list policy
//     (default allow) would allow it. The prologue denies it whatever the
//     policy: with the default action when that denies, else EPERM. x32
//     calls (same arch value, bit 30 set in the number) get ENOSYS, as
//     go-seccomp-bpf does.
//   - syscalls newer than go-seccomp-bpf's table (numbers above the highest
//     it knows) fail with ENOSYS, not EPERM, when the default action is
//     errno, so that libc falls back to older calls as it does on an older
//     kernel (runc does the same);
//   - ioctl TIOCSTI/TIOCLINUX (terminal input injection) and TIOCSETD
//     (line disciplines, a history of kernel bugs: CVE-2017-2636 n_hdlc,
//     CVE-2019-11815, CVE-2020-14416) fail with EPERM, comparing only the
//     low 32 bits of the request as the kernel does (go-seccomp-bpf compares
//     all 64, so 1<<32|TIOCSTI would slip past);
//   - socket(AF_VSOCK, ...) fails with EPERM, on the low 32 bits of the
//     domain: vsock is not network-namespaced, so it would reach the
//     host's (or hypervisor's) vsock services from any container; Docker's
//     default profile denies this one family too.
//
// go-seccomp-bpf emits one linear chain of comparisons, and the kernel, when
// a filter is attached, runs it once per syscall number to precompute which
// calls are always allowed (the seccomp action cache): for a ~300-entry
// allow-list that made seccomp(2) alone cost ~250 µs. So the policy is split
// by syscall number into ranges of bucketSize, each assembled by
// go-seccomp-bpf on its own, and a short dispatch on the number jumps to
// the right one. Every call meets exactly the checks the unsplit policy
// would make for it, in the same order (TestBucketedFilterEquivalent).
func assemble(pol *seccomp.Policy) ([]SockFilter, error) {
	return assembleWith(pol, bucketSize)
}

// assembleWith is assemble with a given bucket width; 0 means one bucket
// (go-seccomp-bpf's program unsplit).
func assembleWith(pol *seccomp.Policy, width int) ([]SockFilter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	maxNr := 0
	for nr := range info.SyscallNumbers {
		maxNr = max(maxNr, nr)
	}
	if width <= 0 {
		width = maxNr + 1
	}

	// The buckets, each a complete go-seccomp-bpf program (arch check
	// included) for the calls of its range.
	var buckets [][]bpf.Instruction
	for lo := 0; lo <= maxNr; lo += width {
		hi := lo + width
		if hi > maxNr {
			hi = int(^uint32(0) >> 1) // the last range is open-ended
		}
		sub, ok := policyRange(pol, info, lo, hi)
		if !ok {
			buckets = append(buckets, []bpf.Instruction{bpf.RetConstant{Val: retOf(pol.DefaultAction)}})
			continue
		}
		insts, err := sub.Assemble()
		if err != nil {
			return nil, err
		}
		buckets = append(buckets, insts)
	}

	foreign := retErrnoEPERM
	switch pol.DefaultAction {
	case seccomp.ActionKillThread, seccomp.ActionKillProcess, seccomp.ActionTrap:
		foreign = uint32(pol.DefaultAction)
	}
	all := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: foreign},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if info.ID == arch.X86_64.ID {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(arch.X32.SeccompMask), SkipFalse: 1},
			bpf.RetConstant{Val: retErrnoENOSYS},
		)
	}
	if pol.DefaultAction == seccomp.ActionErrno {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(maxNr), SkipFalse: 1},
			bpf.RetConstant{Val: retErrnoENOSYS},
		)
	}
	if socketNr, ok := info.SyscallNames["socket"]; ok {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(socketNr), SkipFalse: 3},
			bpf.LoadAbsolute{Off: offArgLo(0), Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_VSOCK, SkipFalse: 1},
			bpf.RetConstant{Val: retErrnoEPERM},
			bpf.LoadAbsolute{Off: offNr, Size: 4},
		)
	}
	if ioctlNr, ok := info.SyscallNames["ioctl"]; ok {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ioctlNr), SkipFalse: 5},
			bpf.LoadAbsolute{Off: offArgLo(1), Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCSTI, SkipTrue: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCLINUX, SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCSETD, SkipFalse: 1},
			bpf.RetConstant{Val: retErrnoEPERM},
		)
	}

	all = append(all, bpf.LoadAbsolute{Off: offNr, Size: 4})
	out, err := finish(dispatch(all, buckets, width))
	if err != nil {
		return nil, err
	}

	// The filter is installed before execve: a policy that denies it
	// could never start anything.
	execve, ok := info.SyscallNames["execve"]
	if !ok {
		return nil, errors.New("execve unknown on this architecture")
	}
	ret, err := Simulate(out, SeccompData{Nr: int32(execve), Arch: uint32(info.ID)})
	if err != nil {
		return nil, err
	}
	if ret&unix.SECCOMP_RET_ACTION_FULL != unix.SECCOMP_RET_ALLOW {
		return nil, fmt.Errorf("the policy does not allow execve (action %#x): the filter is installed before the command is executed", ret)
	}
	return out, nil
}

// dispatch appends to prog, which leaves the syscall number in A, a jump
// to the bucket of each number (bucket i holds the numbers [i*width,
// (i+1)*width), the last one every number above too), then the buckets:
// for each bucket but the last, "nr >= next start? look further : jump to
// this bucket", then a jump to the last one. The jumps to the buckets are
// unconditional (32-bit offsets), since a conditional jump reaches only
// 255 instructions.
func dispatch(prog []bpf.Instruction, buckets [][]bpf.Instruction, width int) []bpf.Instruction {
	jumps := make([]int, len(buckets)) // index of the jump to bucket i
	for i := range buckets {
		if i < len(buckets)-1 {
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32((i + 1) * width), SkipTrue: 1})
		}
		jumps[i] = len(prog)
		prog = append(prog, bpf.Jump{})
	}
	for i, b := range buckets {
		prog[jumps[i]] = bpf.Jump{Skip: uint32(len(prog) - jumps[i] - 1)}
		prog = append(prog, b...)
	}
	return prog
}

// finish assembles a program into the sock_filter form, within the
// kernel's length limit.
func finish(prog []bpf.Instruction) ([]SockFilter, error) {
	if len(prog) > bpfMaxInsns {
		return nil, fmt.Errorf("filter of %d instructions exceeds the kernel's %d", len(prog), bpfMaxInsns)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, err
	}
	out := make([]SockFilter, len(raw))
	for i, r := range raw {
		out[i] = SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// policyRange returns the part of pol about the syscalls numbered in
// [lo, hi), with the groups in their order, and whether there is any.
// Names unknown on this architecture stay in the first range, so that
// go-seccomp-bpf reports them.
func policyRange(pol *seccomp.Policy, info *arch.Info, lo, hi int) (seccomp.Policy, bool) {
	in := func(name string) bool {
		nr, ok := info.SyscallNames[name]
		if !ok {
			return lo == 0
		}
		return nr >= lo && nr < hi
	}
	sub := seccomp.Policy{DefaultAction: pol.DefaultAction}
	for _, g := range pol.Syscalls {
		part := seccomp.SyscallGroup{Action: g.Action}
		for _, n := range g.Names {
			if in(n) {
				part.Names = append(part.Names, n)
			}
		}
		for _, nc := range g.NamesWithCondtions {
			if in(nc.Name) {
				part.NamesWithCondtions = append(part.NamesWithCondtions, nc)
			}
		}
		if len(part.Names)+len(part.NamesWithCondtions) > 0 {
			sub.Syscalls = append(sub.Syscalls, part)
		}
	}
	return sub, len(sub.Syscalls) > 0
}

// retOf is the return value of an action, as go-seccomp-bpf encodes it
// (plain errno means EPERM).
func retOf(a seccomp.Action) uint32 {
	if a == seccomp.ActionErrno {
		return retErrnoEPERM
	}
	return uint32(a)
}

// SeccompData is the input of a seccomp filter (struct seccomp_data).
type SeccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// Simulate runs a filter in golang.org/x/net/bpf's interpreter on d and
// returns the seccomp action value (SECCOMP_RET_*), e.g. to check what a
// Program answers to a call without installing it.
func Simulate(filter []SockFilter, d SeccompData) (uint32, error) {
	vm, err := newFilterVM(filter)
	if err != nil {
		return 0, err
	}
	return runFilterVM(vm, d)
}

func newFilterVM(filter []SockFilter) (*bpf.VM, error) {
	raw := make([]bpf.RawInstruction, len(filter))
	for i, f := range filter {
		raw[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, errors.New("filter holds instructions the interpreter does not know")
	}
	return bpf.NewVM(insts)
}

func runFilterVM(vm *bpf.VM, d SeccompData) (uint32, error) {
	// The interpreter loads 32-bit words big-endian (network order); the
	// kernel loads them in native order. Lay out each 32-bit word so that
	// the interpreter sees the value the kernel would.
	var in [64]byte
	be := binary.BigEndian
	be.PutUint32(in[offNr:], uint32(d.Nr))
	be.PutUint32(in[offArch:], d.Arch)
	put64 := func(off int, v uint64) {
		lo, hi := uint32(v), uint32(v>>32)
		if !littleEndian {
			lo, hi = hi, lo
		}
		be.PutUint32(in[off:], lo)
		be.PutUint32(in[off+4:], hi)
	}
	put64(8, d.IP)
	for i, a := range d.Args {
		put64(offArgs+8*i, a)
	}
	ret, err := vm.Run(in[:])
	return uint32(ret), err
}
