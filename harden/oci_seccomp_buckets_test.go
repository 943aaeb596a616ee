package harden

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"nucleus/harden/internal/bpfasm"
)

// compileOCISeccompBuckets is the encoding CompileOCISeccomp made before
// the search tree (issue #12), kept as the reference
// TestOCITreeEquivalent proves the tree against and
// BenchmarkCompileOCISeccomp measures it beside: the rules in a row,
// split into ranges of bpfasm.BucketSize numbers behind bpfasm.Dispatch.
// s has passed CompileOCISeccomp's checks.
func compileOCISeccompBuckets(s *specs.LinuxSeccomp) ([]SockFilter, error) {
	info, err := nativeTables()
	if err != nil {
		return nil, err
	}
	def, err := ociAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	nBuckets := info.maxNr/bpfasm.BucketSize + 1
	buckets := make([][]bpf.Instruction, nBuckets)
	for i, sc := range s.Syscalls {
		ret, err := ociAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("oci seccomp: syscalls[%d] %v: %w", i, sc.Names, err)
		}
		conds, err := ociConditions(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("oci seccomp: syscalls[%d] %v: %w", i, sc.Names, err)
		}
		for _, name := range sc.Names {
			nr, ok := info.number(name)
			if !ok {
				continue
			}
			b := nr / bpfasm.BucketSize
			for _, c := range conds {
				rule, err := ociRuleBuckets(uint32(nr), c, ret)
				if err != nil {
					return nil, fmt.Errorf("oci seccomp: syscalls[%d] %s: %w", i, name, err)
				}
				buckets[b] = append(buckets[b], rule...)
			}
		}
	}

	all := []bpf.Instruction{
		bpf.LoadAbsolute{Off: bpfasm.OffArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: info.audit, SkipTrue: 1},
		bpf.RetConstant{Val: def},
		bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4},
	}
	// A number above the last bucket goes to the last one, where no rule
	// matches it; every bucket ends with the default action.
	for i := range buckets {
		buckets[i] = append(buckets[i], bpf.RetConstant{Val: def})
	}
	out, err := bpfasm.Finish(bpfasm.Dispatch(all, buckets, bpfasm.BucketSize))
	if err != nil {
		return nil, fmt.Errorf("oci seccomp: %w", err)
	}
	return out, nil
}

// ociRuleBuckets is the previous encoding of one rule: with the syscall number in A, "if nr matches and
// every condition holds, return ret", leaving the number in A otherwise.
func ociRuleBuckets(nr uint32, conds []specs.LinuxSeccompArg, ret uint32) ([]bpf.Instruction, error) {
	if len(conds) == 0 {
		return []bpf.Instruction{
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: 1},
			bpf.RetConstant{Val: ret},
		}, nil
	}
	in := []bpf.Instruction{bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: failJump}}
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
	fail := len(in) // the reload of the number below
	in = append(in, bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4})
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
