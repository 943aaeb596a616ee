// Package bpfasm holds the classic BPF building blocks that nucleus's
// seccomp filters share: the seccomp_data layout, the return values, the
// search tree on syscall numbers (Tree) and the assembly into sock_filter
// form. nucleus/harden (the container's OCI profile) and
// nucleus/harden/seccomppolicy (go-seccomp-bpf policies, and the
// generated floor) both build on it, so that there is one encoding of each.
package bpfasm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"nucleus/internal/hardencore"
)

// Seccomp return values of the errno action (SECCOMP_RET_ERRNO | errno).
const (
	RetErrnoEPERM  = uint32(unix.SECCOMP_RET_ERRNO) | uint32(unix.EPERM)
	RetErrnoENOSYS = uint32(unix.SECCOMP_RET_ERRNO) | uint32(unix.ENOSYS)
)

// seccomp_data offsets (struct seccomp_data: nr, arch, instruction_pointer,
// args[6]).
const (
	OffNr   = 0
	OffArch = 4
	OffArgs = 16
)

// LittleEndian reports the byte order of the running machine, which is the
// order the kernel lays out seccomp_data in. Every architecture nucleus
// generates tables for (amd64, arm64, 386, arm) is little-endian.
var LittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// OffArgLo is the offset of the low 32 bits of argument i.
func OffArgLo(i uint32) uint32 {
	off := OffArgs + 8*i
	if !LittleEndian {
		off += 4
	}
	return off
}

// BucketSize is the width of the syscall-number ranges the previous
// encoding (Dispatch) split a filter into. The kernel, when a filter is
// attached, runs it once per syscall number to precompute which calls are
// always allowed (the seccomp action cache): one linear chain of ~300
// comparisons made seccomp(2) alone cost ~250 µs, a dispatch on ranges of
// 64 numbers a fraction of that, and Tree less again.
const BucketSize = 64

// Dispatch appends to prog, which leaves the syscall number in A, a jump
// to the bucket of each number (bucket i holds the numbers [i*width,
// (i+1)*width), the last one every number above too), then the buckets:
// for each bucket but the last, "nr >= next start? look further : jump to
// this bucket", then a jump to the last one. The jumps to the buckets are
// unconditional (32-bit offsets), since a conditional jump reaches only
// 255 instructions.
//
// It is the encoding nucleus's filters had before Tree (issue #12), kept
// as the reference the tests prove Tree's filters equivalent to and the
// benchmarks measure them beside.
func Dispatch(prog []bpf.Instruction, buckets [][]bpf.Instruction, width int) []bpf.Instruction {
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

// Finish assembles a program into the sock_filter form, within the
// kernel's length limit (BPF_MAXINSNS).
func Finish(prog []bpf.Instruction) ([]hardencore.SockFilter, error) {
	if len(prog) > hardencore.BPFMaxInsns {
		return nil, fmt.Errorf("filter of %d instructions exceeds the kernel's %d", len(prog), hardencore.BPFMaxInsns)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, err
	}
	out := make([]hardencore.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = hardencore.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// OCIArch is the SCMP_ARCH_* name an OCI profile's architectures list uses
// for a Go architecture, "" for one nucleus has no seccomp tables for.
func OCIArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "SCMP_ARCH_X86_64"
	case "arm64":
		return "SCMP_ARCH_AARCH64"
	case "386":
		return "SCMP_ARCH_X86"
	case "arm":
		return "SCMP_ARCH_ARM"
	}
	return ""
}

// SeccompData is the input of a seccomp filter (struct seccomp_data).
type SeccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// NewVM loads a filter into golang.org/x/net/bpf's interpreter.
func NewVM(filter []hardencore.SockFilter) (*bpf.VM, error) {
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

// RunVM runs a loaded filter on d and returns the seccomp action value.
func RunVM(vm *bpf.VM, d SeccompData) (uint32, error) {
	// The interpreter loads 32-bit words big-endian (network order); the
	// kernel loads them in native order. Lay out each 32-bit word so that
	// the interpreter sees the value the kernel would.
	var in [64]byte
	be := binary.BigEndian
	be.PutUint32(in[OffNr:], uint32(d.Nr))
	be.PutUint32(in[OffArch:], d.Arch)
	put64 := func(off int, v uint64) {
		lo, hi := uint32(v), uint32(v>>32)
		if !LittleEndian {
			lo, hi = hi, lo
		}
		be.PutUint32(in[off:], lo)
		be.PutUint32(in[off+4:], hi)
	}
	put64(8, d.IP)
	for i, a := range d.Args {
		put64(OffArgs+8*i, a)
	}
	ret, err := vm.Run(in[:])
	return uint32(ret), err
}
