// Package bpftest holds what the tests and benchmarks of nucleus's seccomp
// encodings share: the inputs that prove two filters equivalent in the
// BPF interpreter, the comparison itself, and the installation of filters
// on a throw-away thread. It is a package of its own so that no program
// that attaches links it.
package bpftest

import (
	"fmt"
	"slices"

	"nucleus/harden/internal/bpfasm"
	"nucleus/internal/hardencore"
)

// Inputs are the seccomp_data a proof of two encodings' equivalence runs
// them on (TestTreeFilterEquivalent, TestOCITreeEquivalent): every syscall
// number from 0 to maxNr+64 and a few far above (the x32 bit, the
// largest, -1), for the native architecture audit and each of foreign;
// for the native one, arguments around every constant the policy
// compares (consts: the exact value, its neighbours, in the low and the
// high word, with the other word 0, 1, all ones or the constant's own),
// in all six arguments at once and in one argument at a time.
func Inputs(audit uint32, foreign []uint32, maxNr int, consts []uint64) []bpfasm.SeccompData {
	var nrs []int32
	for nr := 0; nr <= maxNr+64; nr++ {
		nrs = append(nrs, int32(nr))
	}
	nrs = append(nrs, 0x3fffffff, 0x40000000, 0x40000000|16, 0x40000000|int32(maxNr), 0x7fffffff, -1)

	words := []uint32{0, 1, 0x7fffffff, 0x80000000, 0xffffffff}
	for _, c := range consts {
		for _, w := range []uint32{uint32(c), uint32(c >> 32)} {
			words = append(words, w, w-1, w+1)
		}
	}
	slices.Sort(words)
	words = slices.Compact(words)
	var values []uint64
	for _, lo := range words {
		for _, hi := range []uint32{0, 1, 0xffffffff, lo} {
			values = append(values, uint64(hi)<<32|uint64(lo))
		}
	}
	slices.Sort(values)
	values = slices.Compact(values)
	var argSets [][6]uint64
	for _, v := range values {
		argSets = append(argSets, [6]uint64{v, v, v, v, v, v})
		for i := range 6 {
			var a [6]uint64
			a[i] = v
			argSets = append(argSets, a)
		}
	}

	var in []bpfasm.SeccompData
	for _, nr := range nrs {
		for _, a := range argSets {
			in = append(in, bpfasm.SeccompData{Nr: nr, Arch: audit, Args: a})
		}
		for _, f := range foreign {
			in = append(in, bpfasm.SeccompData{Nr: nr, Arch: f}, bpfasm.SeccompData{Nr: nr, Arch: f, Args: argSets[len(argSets)-1]})
		}
	}
	return in
}

// Equivalent runs two filters on every input and reports the first input
// they answer differently, or a filter the interpreter cannot load.
func Equivalent(a, b []hardencore.SockFilter, inputs []bpfasm.SeccompData) error {
	va, err := bpfasm.NewVM(a)
	if err != nil {
		return err
	}
	vb, err := bpfasm.NewVM(b)
	if err != nil {
		return err
	}
	for _, d := range inputs {
		ra, err := bpfasm.RunVM(va, d)
		if err != nil {
			return err
		}
		rb, err := bpfasm.RunVM(vb, d)
		if err != nil {
			return err
		}
		if ra != rb {
			return fmt.Errorf("arch %#x nr %d args %#x: %#x, %#x", d.Arch, d.Nr, d.Args, ra, rb)
		}
	}
	return nil
}
