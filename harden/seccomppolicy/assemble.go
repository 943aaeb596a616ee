package seccomppolicy

import (
	"errors"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"nucleus/harden/internal/bpfasm"
	"nucleus/internal/hardencore"
)

// Assemble turns a go-seccomp-bpf policy into a floor filter for the
// running architecture, the classic BPF program harden.Policy.Seccomp
// takes (hardencore.SockFilter is harden.SockFilter). harden's CompileFor
// then checks that the filter allows execve (it is installed before the
// command is executed) and denies calls of a foreign architecture.
//
// Behind the policy comes a prologue of what go-seccomp-bpf cannot express:
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
// The policy is split by syscall number into ranges of bpfasm.BucketSize,
// each assembled by go-seccomp-bpf on its own, behind a short dispatch on
// the number (see bpfasm.BucketSize for why). Every call meets exactly the
// checks the unsplit policy would make for it, in the same order
// (TestBucketedFilterEquivalent).
func Assemble(pol *seccomp.Policy) ([]hardencore.SockFilter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	return assembleFor(pol, info, bpfasm.BucketSize)
}

// assembleFor is Assemble with a given bucket width; 0 means one bucket
// (go-seccomp-bpf's program unsplit). info must be the running
// architecture's: go-seccomp-bpf assembles for no other.
func assembleFor(pol *seccomp.Policy, info *arch.Info, width int) ([]hardencore.SockFilter, error) {
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

	foreign := bpfasm.RetErrnoEPERM
	switch pol.DefaultAction {
	case seccomp.ActionKillThread, seccomp.ActionKillProcess, seccomp.ActionTrap:
		foreign = uint32(pol.DefaultAction)
	}
	all := []bpf.Instruction{
		bpf.LoadAbsolute{Off: bpfasm.OffArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: foreign},
		bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4},
	}
	if info.ID == arch.X86_64.ID {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(arch.X32.SeccompMask), SkipFalse: 1},
			bpf.RetConstant{Val: bpfasm.RetErrnoENOSYS},
		)
	}
	if pol.DefaultAction == seccomp.ActionErrno {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(maxNr), SkipFalse: 1},
			bpf.RetConstant{Val: bpfasm.RetErrnoENOSYS},
		)
	}
	if socketNr, ok := info.SyscallNames["socket"]; ok {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(socketNr), SkipFalse: 3},
			bpf.LoadAbsolute{Off: bpfasm.OffArgLo(0), Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_VSOCK, SkipFalse: 1},
			bpf.RetConstant{Val: bpfasm.RetErrnoEPERM},
			bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4},
		)
	}
	if ioctlNr, ok := info.SyscallNames["ioctl"]; ok {
		all = append(all,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ioctlNr), SkipFalse: 5},
			bpf.LoadAbsolute{Off: bpfasm.OffArgLo(1), Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCSTI, SkipTrue: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCLINUX, SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCSETD, SkipFalse: 1},
			bpf.RetConstant{Val: bpfasm.RetErrnoEPERM},
		)
	}

	all = append(all, bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4})
	out, err := bpfasm.Finish(bpfasm.Dispatch(all, buckets, width))
	if err != nil {
		return nil, err
	}
	if _, ok := info.SyscallNames["execve"]; !ok {
		return nil, errors.New("execve unknown on this architecture")
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
		return bpfasm.RetErrnoEPERM
	}
	return uint32(a)
}
