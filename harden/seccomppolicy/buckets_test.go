package seccomppolicy

import (
	"errors"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"

	"nucleus/harden/internal/bpfasm"
	"nucleus/internal/hardencore"
)

// assembleBuckets is the encoding Assemble made before the search tree
// (issue #12), kept as the reference TestTreeFilterEquivalent proves the
// tree against: the prologue's checks in a row, then the policy split by
// syscall number into ranges of width, each assembled by go-seccomp-bpf on
// its own, behind bpfasm.Dispatch; width 0 means one range
// (go-seccomp-bpf's program unsplit). info must be the running
// architecture's: go-seccomp-bpf assembles for no other.
func assembleBuckets(pol *seccomp.Policy, info *arch.Info, width int) ([]hardencore.SockFilter, error) {
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
	// The checks of socket and ioctl, the tree's leaves' own, behind a
	// comparison of the number, which is reloaded after them.
	if socketNr, ok := info.SyscallNames["socket"]; ok {
		all = append(all, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(socketNr), SkipFalse: uint8(len(denyVsock))})
		all = append(all, denyVsock...)
		all = append(all, bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4})
	}
	if ioctlNr, ok := info.SyscallNames["ioctl"]; ok {
		all = append(all, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ioctlNr), SkipFalse: uint8(len(denyTerminalIoctls))})
		all = append(all, denyTerminalIoctls...)
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
