package seccomppolicy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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
// Besides the policy, the filter holds what go-seccomp-bpf cannot express:
//
//   - architecture: go-seccomp-bpf sends a non-native architecture (an
//     i386 int $0x80 call from an x86_64 process reports AUDIT_ARCH_I386)
//     to the policy's default action, which for a deny-list policy
//     (default allow) would allow it. The filter denies it whatever the
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
//     all 64, so 1<<32|TIOCSTI would slip past), before the policy's own
//     rules for ioctl;
//   - socket(AF_VSOCK, ...) fails with EPERM, on the low 32 bits of the
//     domain, before the policy's own rules for socket: vsock is not
//     network-namespaced, so it would reach the host's (or hypervisor's)
//     vsock services from any container; Docker's default profile denies
//     this one family too.
//
// After the architecture check the filter is a binary search on the
// syscall number (bpfasm.Tree; see there for why): each run of numbers
// with the same answer is one interval, and a call whose answer depends on
// its arguments (clone, personality, ioctl, socket in the default policy)
// has a leaf of its own holding go-seccomp-bpf's checks for that call
// alone, group by group in the policy's order. For the default floor and
// the strict additions every call meets exactly what go-seccomp-bpf's
// whole program answers (TestTreeFilterEquivalent); where that program
// would compare a leftover argument with the numbers of later groups, the
// tree answers what the policy says (TestGoSeccompBPFReusesArgument).
func Assemble(pol *seccomp.Policy) ([]hardencore.SockFilter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	return assembleTree(pol, info)
}

// assembleTree is Assemble for info, which must be the running
// architecture's: go-seccomp-bpf assembles for no other.
func assembleTree(pol *seccomp.Policy, info *arch.Info) ([]hardencore.SockFilter, error) {
	if err := validate(pol, info); err != nil {
		return nil, err
	}
	if info.SeccompMask != 0 {
		return nil, errors.New("architecture " + info.Name + " numbers its syscalls with a mask")
	}
	if _, ok := info.SyscallNames["execve"]; !ok {
		return nil, errors.New("execve unknown on this architecture")
	}
	maxNr := 0
	for nr := range info.SyscallNumbers {
		maxNr = max(maxNr, nr)
	}

	parts := partsByNr(pol, info, maxNr)
	def := retOf(pol.DefaultAction)
	spans := make([]bpfasm.Span, 0, maxNr+3)
	for nr := 0; nr <= maxNr; nr++ {
		o, err := outcome(pol.DefaultAction, parts[nr])
		if err != nil {
			return nil, err
		}
		spans = append(spans, bpfasm.Span{Lo: uint32(nr), Outcome: o})
	}
	for _, c := range []struct {
		name  string
		check []bpf.Instruction
	}{{"socket", denyVsock}, {"ioctl", denyTerminalIoctls}} {
		if nr, ok := info.SyscallNames[c.name]; ok {
			spans[nr].Outcome = prepend(c.check, spans[nr].Outcome)
		}
	}
	above := def
	if pol.DefaultAction == seccomp.ActionErrno {
		above = bpfasm.RetErrnoENOSYS
	}
	spans = append(spans, bpfasm.Span{Lo: uint32(maxNr + 1), Outcome: bpfasm.Outcome{Ret: above}})
	if info.ID == arch.X86_64.ID {
		spans = append(spans, bpfasm.Span{Lo: uint32(arch.X32.SeccompMask), Outcome: bpfasm.Outcome{Ret: bpfasm.RetErrnoENOSYS}})
	}

	foreign := bpfasm.RetErrnoEPERM
	switch pol.DefaultAction {
	case seccomp.ActionKillThread, seccomp.ActionKillProcess, seccomp.ActionTrap:
		foreign = uint32(pol.DefaultAction)
	}
	prog, err := bpfasm.Tree([]bpf.Instruction{
		bpf.LoadAbsolute{Off: bpfasm.OffArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: foreign},
		bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4},
	}, spans)
	if err != nil {
		return nil, err
	}
	return bpfasm.Finish(prog)
}

// validate makes go-seccomp-bpf's checks of a whole policy, with its
// messages, without assembling the whole of it: a valid default action and
// some groups, and, in each group, names known on this architecture and
// listed once; the conditional entries (argument indexes, a call both
// conditional and not) go through go-seccomp-bpf's assembly of them with
// the unconditional names they share, which is cheap.
func validate(pol *seccomp.Policy, info *arch.Info) error {
	if err := pol.Validate(); err != nil {
		return err
	}
	var problems []string
	for _, g := range pol.Syscalls {
		seen := map[string]bool{}
		conditional := map[string]bool{}
		for _, nc := range g.NamesWithCondtions {
			conditional[nc.Name] = true
		}
		sub := seccomp.SyscallGroup{Action: g.Action, NamesWithCondtions: g.NamesWithCondtions}
		for _, n := range g.Names {
			switch _, known := info.SyscallNames[n]; {
			case !known:
				problems = append(problems, fmt.Sprintf("found unknown syscalls for arch %v: %v", info.Name, n))
			case seen[n]:
				problems = append(problems, fmt.Sprintf("found duplicate syscall %v", n))
			case conditional[n]:
				sub.Names = append(sub.Names, n)
			}
			seen[n] = true
		}
		if len(problems) == 0 && len(sub.NamesWithCondtions) > 0 {
			p := seccomp.Policy{DefaultAction: pol.DefaultAction, Syscalls: []seccomp.SyscallGroup{sub}}
			if _, err := p.Assemble(); err != nil {
				return err
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// denyVsock fails socket(AF_VSOCK, ...) with EPERM, on the low 32 bits of
// the domain, and falls through otherwise.
var denyVsock = []bpf.Instruction{
	bpf.LoadAbsolute{Off: bpfasm.OffArgLo(0), Size: 4},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_VSOCK, SkipFalse: 1},
	bpf.RetConstant{Val: bpfasm.RetErrnoEPERM},
}

// denyTerminalIoctls fails ioctl TIOCSTI, TIOCLINUX and TIOCSETD with
// EPERM, on the low 32 bits of the request, and falls through otherwise.
var denyTerminalIoctls = []bpf.Instruction{
	bpf.LoadAbsolute{Off: bpfasm.OffArgLo(1), Size: 4},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCSTI, SkipTrue: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCLINUX, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: ioctlTIOCSETD, SkipFalse: 1},
	bpf.RetConstant{Val: bpfasm.RetErrnoEPERM},
}

// prepend puts check, which clobbers A and falls through when it does not
// deny, in front of a call's outcome.
func prepend(check []bpf.Instruction, o bpfasm.Outcome) bpfasm.Outcome {
	code := slices.Clone(check)
	if len(o.Code) == 0 {
		code = append(code, bpf.RetConstant{Val: o.Ret})
	} else {
		code = append(code, bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4})
		code = append(code, o.Code...)
	}
	return bpfasm.Outcome{Code: code}
}

// partsByNr splits pol by syscall number (0 to maxNr): for each number,
// the groups that name it, in the policy's order, each holding only that
// call.
func partsByNr(pol *seccomp.Policy, info *arch.Info, maxNr int) [][]seccomp.SyscallGroup {
	parts := make([][]seccomp.SyscallGroup, maxNr+1)
	inGroup := make([]int, maxNr+1) // 1 + the last group that named the number
	for gi, g := range pol.Syscalls {
		part := func(name string) *seccomp.SyscallGroup {
			nr := info.SyscallNames[name] // every name is known: validated
			if inGroup[nr] != gi+1 {
				inGroup[nr] = gi + 1
				parts[nr] = append(parts[nr], seccomp.SyscallGroup{Action: g.Action})
			}
			return &parts[nr][len(parts[nr])-1]
		}
		for _, n := range g.Names {
			p := part(n)
			p.Names = append(p.Names, n)
		}
		for _, nc := range g.NamesWithCondtions {
			p := part(nc.Name)
			p.NamesWithCondtions = append(p.NamesWithCondtions, nc)
		}
	}
	return parts
}

// outcome is what a call that the groups parts (its parts of the
// policy, in order) name meets: the default action when none does, the
// first group's action when that one names the call without conditions,
// else the groups' checks one after the other, each go-seccomp-bpf's
// program of that group alone (groupChecks), up to the first that names
// the call without conditions, then the default action.
//
// Each group is assembled on its own, not all of them at once, because
// go-seccomp-bpf leaves the argument it compared last in A when a call's
// conditions fail and the next group compares A with syscall numbers
// (TestGoSeccompBPFReusesArgument); here each group starts from the
// number.
func outcome(def seccomp.Action, parts []seccomp.SyscallGroup) (bpfasm.Outcome, error) {
	if len(parts) == 0 {
		return bpfasm.Outcome{Ret: retOf(def)}, nil
	}
	if len(parts[0].NamesWithCondtions) == 0 {
		return bpfasm.Outcome{Ret: retOf(parts[0].Action)}, nil
	}
	var code []bpf.Instruction
	for i, g := range parts {
		if len(g.NamesWithCondtions) == 0 {
			return bpfasm.Outcome{Code: append(code, bpf.RetConstant{Val: retOf(g.Action)})}, nil
		}
		if i > 0 {
			code = append(code, bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4})
		}
		checks, err := groupChecks(g)
		if err != nil {
			return bpfasm.Outcome{}, err
		}
		code = append(code, checks...)
	}
	return bpfasm.Outcome{Code: append(code, bpf.RetConstant{Val: retOf(def)})}, nil
}

// groupChecks is go-seccomp-bpf's program of the one group g without its
// prologue (architecture check, number load, x32 check) and without its
// last instruction, the default action, which every failing check jumps
// to: the code starts with the number in A, returns the group's action
// when one of its alternatives holds, and runs on past its end otherwise.
func groupChecks(g seccomp.SyscallGroup) ([]bpf.Instruction, error) {
	const sentinel = seccomp.ActionLog // the default of the one-group program
	sub := seccomp.Policy{DefaultAction: sentinel, Syscalls: []seccomp.SyscallGroup{g}}
	prog, err := sub.Assemble()
	if err != nil {
		return nil, err
	}
	i := slices.Index(prog, bpf.Instruction(bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4}))
	if i < 0 || prog[len(prog)-1] != bpf.Instruction(bpf.RetConstant{Val: uint32(sentinel)}) {
		return nil, errors.New("go-seccomp-bpf's program is not laid out as expected")
	}
	body := prog[i+1 : len(prog)-1]
	x32 := []bpf.Instruction{
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(arch.X32.SeccompMask), SkipFalse: 1},
		bpf.RetConstant{Val: bpfasm.RetErrnoENOSYS},
	}
	if len(body) >= len(x32) && slices.Equal(body[:len(x32)], x32) {
		body = body[len(x32):]
	}
	return body, nil
}

// retOf is the return value of an action, as go-seccomp-bpf encodes it
// (plain errno means EPERM).
func retOf(a seccomp.Action) uint32 {
	if a == seccomp.ActionErrno {
		return bpfasm.RetErrnoEPERM
	}
	return uint32(a)
}
