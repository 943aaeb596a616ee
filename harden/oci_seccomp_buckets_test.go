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
// split into ranges of bpfasm.BucketSize numbers behind bpfasm.Dispatch,
// each rule's argument checks ociRule's as in the tree (the operators are
// proven on their own, TestOCISeccompOperators). s has passed
// CompileOCISeccomp's checks.
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
	if err := ociRules(s, info, func(nr int, conds []specs.LinuxSeccompArg, ret uint32) error {
		rule, err := ociRuleBuckets(uint32(nr), conds, ret)
		b := nr / bpfasm.BucketSize
		buckets[b] = append(buckets[b], rule...)
		return err
	}); err != nil {
		return nil, err
	}
	all := ociPrologue(info, def)
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

// ociRuleBuckets is one rule as the bucketed encoding chained them, with
// the syscall number in A: "if nr matches, the rule's checks (ociRule)",
// the number reloaded after them for the next rule.
func ociRuleBuckets(nr uint32, conds []specs.LinuxSeccompArg, ret uint32) ([]bpf.Instruction, error) {
	if len(conds) == 0 {
		return []bpf.Instruction{
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: 1},
			bpf.RetConstant{Val: ret},
		}, nil
	}
	rule, err := ociRule(conds, ret)
	if err != nil {
		return nil, err
	}
	if len(rule) > 255 {
		return nil, fmt.Errorf("rule of %d instructions is too long", len(rule))
	}
	in := append([]bpf.Instruction{bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: uint8(len(rule))}}, rule...)
	return append(in, bpf.LoadAbsolute{Off: bpfasm.OffNr, Size: 4}), nil
}
