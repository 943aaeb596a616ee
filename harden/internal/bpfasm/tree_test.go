package bpfasm

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/bpf"
)

// run assembles prog and runs it on a call numbered nr with args.
func run(t *testing.T, prog []bpf.Instruction, nr uint32, args [6]uint64) uint32 {
	t.Helper()
	f, err := Finish(prog)
	require.NoError(t, err)
	vm, err := NewVM(f)
	require.NoError(t, err)
	ret, err := RunVM(vm, SeccompData{Nr: int32(nr), Args: args})
	require.NoError(t, err)
	return ret
}

var loadNr = []bpf.Instruction{bpf.LoadAbsolute{Off: OffNr, Size: 4}}

// argLeaf returns 1000+nr when argument 0's low word is nr, else nr.
func argLeaf(nr uint32) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: OffArgLo(0), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: 1},
		bpf.RetConstant{Val: 1000 + nr},
		bpf.RetConstant{Val: nr},
	}
}

// Every number meets its own span's outcome, whatever the tree's shape:
// runs of one return merged, returns shared, leaves with code, and trees
// too long for a conditional jump (long jumps, and returns out of a
// conditional jump's reach: no shared returns).
func TestTreeAnswers(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 64, 300} {
		var spans []Span
		want := func(nr uint32, arg uint64) uint32 {
			switch {
			case nr >= uint32(3*n):
				return 7
			case nr%3 == 0:
				return 1
			case nr%3 == 1:
				if uint32(arg) == nr {
					return 1000 + nr
				}
				return nr
			}
			return 2
		}
		for nr := uint32(0); nr < uint32(3*n); nr++ {
			switch nr % 3 {
			case 0:
				spans = append(spans, Span{Lo: nr, Outcome: Outcome{Ret: 1}})
			case 1:
				spans = append(spans, Span{Lo: nr, Outcome: Outcome{Code: argLeaf(nr)}})
			case 2:
				spans = append(spans, Span{Lo: nr, Outcome: Outcome{Ret: 2}})
			}
		}
		spans = append(spans, Span{Lo: uint32(3 * n), Outcome: Outcome{Ret: 7}})
		prog, err := Tree(slices.Clone(loadNr), spans)
		require.NoError(t, err)
		for nr := uint32(0); nr < uint32(3*n+5); nr++ {
			for _, arg := range []uint64{0, uint64(nr), 1<<32 | uint64(nr)} {
				require.Equal(t, want(nr, arg), run(t, prog, nr, [6]uint64{arg}), "n %d nr %d arg %#x", n, nr, arg)
			}
		}
		assert.Equal(t, uint32(7), run(t, prog, 0xffffffff, [6]uint64{}))
		if n == 300 {
			long := false
			for _, in := range prog {
				_, ok := in.(bpf.Jump)
				long = long || ok
			}
			assert.True(t, long, "a tree of %d instructions needs long jumps", len(prog))
		}
	}
}

// Equal neighbours are one interval, and leaves that only return share
// one return instruction per value.
func TestTreeMergesAndShares(t *testing.T) {
	var spans []Span
	for nr := uint32(0); nr < 100; nr++ {
		spans = append(spans, Span{Lo: nr, Outcome: Outcome{Ret: nr / 50}})
	}
	prog, err := Tree(nil, spans)
	require.NoError(t, err)
	assert.Len(t, prog, 3, "one comparison, two returns: %v", prog)

	spans = spans[:0]
	for nr := uint32(0); nr < 40; nr++ {
		spans = append(spans, Span{Lo: nr, Outcome: Outcome{Ret: nr % 2}})
	}
	prog, err = Tree(nil, spans)
	require.NoError(t, err)
	assert.Len(t, prog, 39+2, "39 comparisons, 2 shared returns")
}

// What would run into the next leaf, or cannot be searched, is refused.
func TestTreeRefuses(t *testing.T) {
	for name, spans := range map[string][]Span{
		"empty":         nil,
		"not from 0":    {{Lo: 1}},
		"out of order":  {{Lo: 0}, {Lo: 5}, {Lo: 5}},
		"no return":     {{Lo: 0, Outcome: Outcome{Code: []bpf.Instruction{bpf.LoadAbsolute{Off: OffNr, Size: 4}}}}},
		"jumps outside": {{Lo: 0, Outcome: Outcome{Code: []bpf.Instruction{bpf.JumpIf{Cond: bpf.JumpEqual, SkipTrue: 1}, bpf.RetA{}}}}},
		"long jump out": {{Lo: 0, Outcome: Outcome{Code: []bpf.Instruction{bpf.Jump{Skip: 1}, bpf.RetA{}}}}},
	} {
		_, err := Tree(nil, spans)
		assert.Error(t, err, name)
	}
}
