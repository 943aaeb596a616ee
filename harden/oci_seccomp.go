package harden

import (
	"errors"
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"nucleus/harden/internal/bpfasm"
)

// CompileOCISeccomp compiles a container's own seccomp profile (the
// linux.seccomp of its OCI config) into a classic BPF filter that the
// container policy stacks on nucleus's floor, so that the command is denied
// whatever the container's processes are denied. nil compiles to nil.
//
// What the profile can say is compiled with its libseccomp meaning, as runc
// installs it: rules are syscall names with an action (SCMP_ACT_KILL,
// _KILL_THREAD, _KILL_PROCESS, _TRAP, _ERRNO with errnoRet, default
// EPERM, _TRACE, _LOG, _ALLOW) and argument conditions compared on all 64
// bits (SCMP_CMP_EQ, _NE, _LT, _LE, _GT, _GE, _MASKED_EQ with value as the
// mask and valueTwo as the expected value); the conditions of a rule must
// all hold, except that, as runc does, a rule that compares one argument
// several times becomes one rule per comparison, any of which applies.
// The first rule of a syscall that applies decides; defaultAction decides
// when none does, and for a non-native architecture (the floor denies
// those anyway).
//
// Syscall names this architecture does not know (profiles list those of
// every architecture) are skipped: an unknown call is one go-seccomp-bpf's
// table lacks, newer than any the floor allows, and the floor answers
// ENOSYS to those whatever the profile says.
//
// Refused, since nucleus cannot honour them: SCMP_ACT_NOTIFY and a
// listenerPath (a seccomp agent nucleus does not run), flags other than
// SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW and
// SECCOMP_FILTER_FLAG_TSYNC (logging and speculation mitigations are left
// at the kernel's defaults, which is never looser; the child is one thread
// at this point), an architectures list without the native architecture,
// an argument index above 5, an unknown operator or action, an errno above
// 0xffff, and a profile that denies execve (the command could never start).
func CompileOCISeccomp(s *specs.LinuxSeccomp) ([]SockFilter, error) {
	if s == nil {
		return nil, nil
	}
	info, err := nativeTables()
	if err != nil {
		return nil, fmt.Errorf("oci seccomp: %w", err)
	}
	if s.ListenerPath != "" {
		return nil, errors.New("oci seccomp: listenerPath (a seccomp agent) is not supported")
	}
	for _, f := range s.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, "SECCOMP_FILTER_FLAG_TSYNC":
		default:
			return nil, fmt.Errorf("oci seccomp: flag %q is not supported", f)
		}
	}
	if len(s.Architectures) > 0 {
		native := info.oci
		found := false
		for _, a := range s.Architectures {
			found = found || string(a) == native
		}
		if !found {
			return nil, fmt.Errorf("oci seccomp: architectures %v do not list the native %s", s.Architectures, native)
		}
	}
	def, err := ociAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("oci seccomp: defaultAction: %w", err)
	}

	// The rules of each call, in the profile's order, up to the first
	// that applies whatever the arguments.
	calls := make([]ociCall, info.maxNr+1)
	if err := ociRules(s, info, func(nr int, conds []specs.LinuxSeccompArg, ret uint32) error {
		return calls[nr].add(conds, ret)
	}); err != nil {
		return nil, err
	}
	spans := make([]bpfasm.Span, 0, len(calls)+1)
	for nr, c := range calls {
		spans = append(spans, bpfasm.Span{Lo: uint32(nr), Outcome: c.outcome(def)})
	}
	// A number above the table's, x32 ones included, meets the default.
	spans = append(spans, bpfasm.Span{Lo: uint32(len(calls)), Outcome: bpfasm.Outcome{Ret: def}})

	prog, err := bpfasm.Tree(ociPrologue(info, def), spans)
	if err != nil {
		return nil, fmt.Errorf("oci seccomp: %w", err)
	}
	out, err := bpfasm.Finish(prog)
	if err != nil {
		return nil, fmt.Errorf("oci seccomp: %w", err)
	}
	execve, _ := info.number("execve")
	ret, err := Simulate(out, SeccompData{Nr: int32(execve), Arch: info.audit})
	if err != nil {
		return nil, fmt.Errorf("oci seccomp: %w", err)
	}
	if act := ret & unix.SECCOMP_RET_ACTION_FULL; act != unix.SECCOMP_RET_ALLOW && act != unix.SECCOMP_RET_LOG {
		return nil, fmt.Errorf("oci seccomp: the container's profile denies execve (action %#x): no command could start", ret)
	}
	return out, nil
}

// ociRules calls rule for each (call, conditions) pair of the profile
// that the running architecture's table knows, in the profile's order
// (names it does not know are skipped, as runc does): conds is one
// alternative of the rule's conditions (ociConditions), all of which must
// hold, and ret the rule's action. An error names the rule.
func ociRules(s *specs.LinuxSeccomp, info *archTables, rule func(nr int, conds []specs.LinuxSeccompArg, ret uint32) error) error {
	for i, sc := range s.Syscalls {
		ret, err := ociAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return fmt.Errorf("oci seccomp: syscalls[%d] %v: %w", i, sc.Names, err)
		}
		conds, err := ociConditions(sc.Args)
		if err != nil {
			return fmt.Errorf("oci seccomp: syscalls[%d] %v: %w", i, sc.Names, err)
		}
		for _, name := range sc.Names {
			nr, ok := info.number(name)
			if !ok {
				continue
			}
			for _, c := range conds {
				if err := rule(nr, c, ret); err != nil {
					return fmt.Errorf("oci seccomp: syscalls[%d] %s: %w", i, name, err)
				}
			}
		}
	}
	return nil
}

// ociPrologue sends a call of another architecture to the profile's
// default action and leaves a native call's number in A.
func ociPrologue(info *archTables, def uint32) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: bpfasm.OffArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: info.audit, SkipTrue: 1},
		bpf.RetConstant{Val: def},
		bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4},
	}
}

// ociAction is the seccomp return value of an OCI action.
func ociAction(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > unix.SECCOMP_RET_DATA {
			return 0, fmt.Errorf("errnoRet %d above %#x", *errnoRet, unix.SECCOMP_RET_DATA)
		}
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActNotify:
		return 0, errors.New("SCMP_ACT_NOTIFY needs a seccomp agent, which nucleus does not run")
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// ociConditions groups a rule's argument comparisons into the
// alternatives that each must hold entirely: one group of all of them, or,
// when an argument is compared more than once, one group per comparison.
func ociConditions(args []specs.LinuxSeccompArg) ([][]specs.LinuxSeccompArg, error) {
	seen := map[uint]bool{}
	repeated := false
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("argument index %d (0 to 5)", a.Index)
		}
		switch a.Op {
		case specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
			specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual:
		default:
			return nil, fmt.Errorf("unknown operator %q", a.Op)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
	}
	if !repeated {
		return [][]specs.LinuxSeccompArg{args}, nil
	}
	out := make([][]specs.LinuxSeccompArg, len(args))
	for i := range args {
		out[i] = args[i : i+1]
	}
	return out, nil
}

// ociCall is what a profile says of one syscall: the checks of its
// conditional rules in order and, once a rule applies whatever the
// arguments, that rule's action.
type ociCall struct {
	code []bpf.Instruction
	done bool
	ret  uint32 // the unconditional rule's action, when done
}

// add appends a rule, all of whose conditions must hold; later rules of a
// call that is done never run, and are left out.
func (c *ociCall) add(conds []specs.LinuxSeccompArg, ret uint32) error {
	if c.done {
		return nil
	}
	if len(conds) == 0 {
		c.done, c.ret = true, ret
		return nil
	}
	rule, err := ociRule(conds, ret)
	if err != nil {
		return err
	}
	c.code = append(c.code, rule...)
	return nil
}

// outcome is the call's leaf of the filter's search tree: the rules'
// checks, then the unconditional rule's action, or def when there is
// none.
func (c *ociCall) outcome(def uint32) bpfasm.Outcome {
	last := def
	if c.done {
		last = c.ret
	}
	if len(c.code) == 0 {
		return bpfasm.Outcome{Ret: last}
	}
	return bpfasm.Outcome{Code: append(slices.Clip(c.code), bpf.RetConstant{Val: last})}
}

// failJump marks a jump offset to be patched to the end of the rule.
const failJump = 0xff

// ociRule emits one conditional rule: "if every condition holds, return
// ret", running on past its end otherwise (where the call's next rule, or
// its last action, follows).
func ociRule(conds []specs.LinuxSeccompArg, ret uint32) ([]bpf.Instruction, error) {
	var in []bpf.Instruction
	for _, c := range conds {
		lo := bpfasm.OffArgLo(uint32(c.Index))
		hi := lo ^ 4
		vhi, vlo := uint32(c.Value>>32), uint32(c.Value)
		ld := func(off uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: off, Size: 4} }
		j := func(cond bpf.JumpTest, v uint32, t, f uint8) bpf.Instruction {
			return bpf.JumpIf{Cond: cond, Val: v, SkipTrue: t, SkipFalse: f}
		}
		switch c.Op {
		case specs.OpEqualTo:
			in = append(in, ld(hi), j(bpf.JumpEqual, vhi, 0, failJump), ld(lo), j(bpf.JumpEqual, vlo, 0, failJump))
		case specs.OpNotEqual:
			in = append(in, ld(hi), j(bpf.JumpEqual, vhi, 0, 2), ld(lo), j(bpf.JumpEqual, vlo, failJump, 0))
		case specs.OpMaskedEqual:
			mhi, mlo := vhi, vlo
			whi, wlo := uint32(c.ValueTwo>>32), uint32(c.ValueTwo)
			in = append(in, ld(hi), bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mhi}, j(bpf.JumpEqual, whi, 0, failJump),
				ld(lo), bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mlo}, j(bpf.JumpEqual, wlo, 0, failJump))
		case specs.OpGreaterThan, specs.OpGreaterEqual:
			last := bpf.JumpGreaterThan
			if c.Op == specs.OpGreaterEqual {
				last = bpf.JumpGreaterOrEqual
			}
			in = append(in, ld(hi), j(bpf.JumpGreaterThan, vhi, 3, 0), j(bpf.JumpEqual, vhi, 0, failJump), ld(lo), j(last, vlo, 0, failJump))
		case specs.OpLessThan:
			in = append(in, ld(hi), j(bpf.JumpGreaterOrEqual, vhi, 0, 3), j(bpf.JumpEqual, vhi, 0, failJump), ld(lo), j(bpf.JumpGreaterOrEqual, vlo, failJump, 0))
		case specs.OpLessEqual:
			in = append(in, ld(hi), j(bpf.JumpGreaterThan, vhi, failJump, 0), j(bpf.JumpEqual, vhi, 0, 2), ld(lo), j(bpf.JumpGreaterThan, vlo, failJump, 0))
		}
	}
	in = append(in, bpf.RetConstant{Val: ret})
	fail := len(in) // the first instruction after the rule
	for i, x := range in {
		jf, ok := x.(bpf.JumpIf)
		if !ok {
			continue
		}
		skip := fail - i - 1
		if skip > 254 {
			return nil, fmt.Errorf("rule of %d instructions is too long", len(in))
		}
		if jf.SkipTrue == failJump {
			jf.SkipTrue = uint8(skip)
		}
		if jf.SkipFalse == failJump {
			jf.SkipFalse = uint8(skip)
		}
		in[i] = jf
	}
	return in, nil
}
