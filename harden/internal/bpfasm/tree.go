package bpfasm

import (
	"fmt"
	"slices"

	"golang.org/x/net/bpf"
)

// Outcome is what a filter does for a syscall number: return Ret, or, when
// Code is not empty, run Code, which starts with the number in A and returns
// on every path (its jumps stay inside it and it ends with a return).
type Outcome struct {
	Ret  uint32
	Code []bpf.Instruction
}

// Span is the outcome of the syscall numbers from Lo up to the next span's
// Lo (the last span: up to 2^32-1). Numbers compare unsigned, so one span
// from the x32 bit (0x40000000) up covers every x32 number.
type Span struct {
	Lo uint32
	Outcome
}

// maxSkip is the farthest a conditional jump reaches (its offsets are 8
// bits).
const maxSkip = 255

// Tree appends to prog, which leaves the syscall number in A, a binary
// search over spans (sorted by Lo, the first from 0): adjacent spans with
// the same outcome are merged into one interval first, and each node of
// the search is one "jge bound" whose false branch is the lower half,
// right behind it, and whose true branch is the upper half. A leaf is its
// span's return or its Code.
//
// Why a tree: when a filter is attached, the kernel converts and
// JIT-compiles every instruction and runs the filter once per syscall
// number to fill its action cache (seccomp_cache_prepare: the numbers the
// filter allows whatever the arguments skip it from then on), and every
// other call runs it. A search over the hundred or so intervals of an
// allow-list costs a handful of comparisons per call and about one
// instruction per interval, where one comparison per listed syscall cost
// an instruction per syscall and as many comparisons.
//
// When the lower half is longer than a conditional jump reaches, the node
// becomes "jge bound" to an unconditional jump (32-bit offset) over the
// lower half, so any program within BPF_MAXINSNS assembles.
func Tree(prog []bpf.Instruction, spans []Span) ([]bpf.Instruction, error) {
	if len(spans) == 0 || spans[0].Lo != 0 {
		return nil, fmt.Errorf("syscall spans must start at number 0")
	}
	var merged []Span
	for i, s := range spans {
		if i > 0 && s.Lo <= spans[i-1].Lo {
			return nil, fmt.Errorf("syscall spans out of order at number %d", s.Lo)
		}
		if err := checkLeaf(s.Code); err != nil {
			return nil, fmt.Errorf("syscall number %d: %w", s.Lo, err)
		}
		if n := len(merged); n > 0 && sameOutcome(merged[n-1].Outcome, s.Outcome) {
			continue
		}
		merged = append(merged, s)
	}
	if shared, ok := sharedTree(merged); ok {
		return append(prog, shared...), nil
	}
	return append(prog, tree(merged)...), nil
}

// retJump is a branch of the instruction at (its true one when true) to
// the shared return of ret.
type retJump struct {
	at   int
	true bool
	ret  uint32
}

// sharedTree is the search over spans with the leaves that only return
// turned into branches to one return instruction per value, after the
// tree: half the instructions of tree, as many comparisons per call. It
// fails when a branch would not reach its target.
func sharedTree(spans []Span) ([]bpf.Instruction, bool) {
	if len(spans) == 1 {
		return tree(spans), true
	}
	var e sharedEmitter
	if !e.node(spans) {
		return nil, false
	}
	var rets []uint32 // the values in order of first use
	for _, j := range e.toRet {
		if !slices.Contains(rets, j.ret) {
			rets = append(rets, j.ret)
		}
	}
	n := len(e.out)
	for _, r := range rets {
		e.out = append(e.out, bpf.RetConstant{Val: r})
	}
	for _, j := range e.toRet {
		skip := n + slices.Index(rets, j.ret) - j.at - 1
		if skip > maxSkip {
			return nil, false
		}
		in := e.out[j.at].(bpf.JumpIf)
		if j.true {
			in.SkipTrue = uint8(skip)
		} else {
			in.SkipFalse = uint8(skip)
		}
		e.out[j.at] = in
	}
	return e.out, true
}

// sharedEmitter builds a shared tree: the instructions, and the branches
// among them still to be pointed at the shared returns.
type sharedEmitter struct {
	out   []bpf.Instruction
	toRet []retJump
}

// node emits the shared tree of at least two spans: "jge bound", its
// false branch to the lower half (a shared return, or the code right
// behind), its true branch to the upper half (a shared return, or the code
// after the lower half's). It fails when the true branch would not reach.
func (e *sharedEmitter) node(spans []Span) bool {
	mid := len(spans) / 2
	at := len(e.out)
	node := bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: spans[mid].Lo}
	e.out = append(e.out, nil)
	for i, half := range [][]Span{spans[:mid], spans[mid:]} {
		upper := i == 1
		switch {
		case len(half) == 1 && len(half[0].Code) == 0:
			e.toRet = append(e.toRet, retJump{at: at, true: upper, ret: half[0].Ret})
			continue
		case upper:
			skip := len(e.out) - at - 1 // over the lower half's code
			if skip > maxSkip {
				return false
			}
			node.SkipTrue = uint8(skip)
		}
		if len(half) == 1 {
			e.out = append(e.out, half[0].Code...)
		} else if !e.node(half) {
			return false
		}
	}
	e.out[at] = node
	return true
}

// tree is the search over spans, which are merged and not empty, with a
// return instruction in every leaf that only returns.
func tree(spans []Span) []bpf.Instruction {
	if len(spans) == 1 {
		if len(spans[0].Code) > 0 {
			return spans[0].Code
		}
		return []bpf.Instruction{bpf.RetConstant{Val: spans[0].Ret}}
	}
	mid := len(spans) / 2
	lower, upper := tree(spans[:mid]), tree(spans[mid:])
	bound := spans[mid].Lo
	var out []bpf.Instruction
	if len(lower) <= maxSkip {
		out = append(out, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: bound, SkipTrue: uint8(len(lower))})
	} else {
		out = append(out,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: bound, SkipFalse: 1},
			bpf.Jump{Skip: uint32(len(lower))})
	}
	out = append(out, lower...)
	return append(out, upper...)
}

// sameOutcome reports whether two outcomes are the same instructions.
func sameOutcome(a, b Outcome) bool {
	if len(a.Code) == 0 && len(b.Code) == 0 {
		return a.Ret == b.Ret
	}
	return slices.Equal(a.Code, b.Code)
}

// checkLeaf reports code that could run past its end: a leaf is followed
// by another leaf, which must never run for this number.
func checkLeaf(code []bpf.Instruction) error {
	if len(code) == 0 {
		return nil
	}
	for i, in := range code {
		last := len(code) - 1 - i // instructions behind this one
		far := false
		switch in := in.(type) {
		case bpf.JumpIf:
			far = int(in.SkipTrue) > last-1 || int(in.SkipFalse) > last-1
		case bpf.JumpIfX:
			far = int(in.SkipTrue) > last-1 || int(in.SkipFalse) > last-1
		case bpf.Jump:
			far = int(in.Skip) > last-1
		}
		if far {
			return fmt.Errorf("leaf jumps past its end at instruction %d", i)
		}
	}
	switch code[len(code)-1].(type) {
	case bpf.RetConstant, bpf.RetA:
		return nil
	}
	return fmt.Errorf("leaf does not end with a return")
}
