package seccomppolicy

import (
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"nucleus/harden/internal/bpfasm"
	"nucleus/harden/internal/bpftest"
)

// policyConsts are the argument values pol's conditions compare, and those
// of the checks Assemble adds (socket domain, ioctl requests).
func policyConsts(pol *seccomp.Policy) []uint64 {
	out := []uint64{unix.AF_VSOCK, ioctlTIOCSTI, ioctlTIOCLINUX, ioctlTIOCSETD, unix.TCGETS}
	for _, g := range pol.Syscalls {
		for _, nc := range g.NamesWithCondtions {
			for _, c := range nc.Conditions {
				out = append(out, c.Value)
			}
		}
	}
	return out
}

// mixedPolicy is a deny-list with conditions of several operators, a
// kill action and a call named in two groups.
func mixedPolicy() *seccomp.Policy {
	return &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: []string{"mount", "bpf", "keyctl"}, Action: seccomp.ActionErrno},
			{NamesWithCondtions: []seccomp.NameWithConditions{
				{Name: "clone", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.BitsSet, Value: unix.CLONE_NEWUSER}}},
				{Name: "personality", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.NotEqual, Value: 0}}},
				{Name: "mmap", Conditions: []seccomp.Condition{
					{Argument: 2, Operation: seccomp.GreaterOrEqual, Value: 1<<32 | 4},
					{Argument: 3, Operation: seccomp.LessThan, Value: 0x20}}},
				{Name: "ioctl", Conditions: []seccomp.Condition{{Argument: 1, Operation: seccomp.Equal, Value: unix.TIOCGWINSZ}}},
			}, Action: seccomp.ActionKillProcess},
			{Names: []string{"clone3", "unshare", "ioctl"}, Action: actionENOSYS},
			{NamesWithCondtions: []seccomp.NameWithConditions{
				{Name: "socket", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.LessOrEqual, Value: unix.AF_INET6}}},
				{Name: "socket", Conditions: []seccomp.Condition{{Argument: 1, Operation: seccomp.GreaterThan, Value: 5}}},
				{Name: "mprotect", Conditions: []seccomp.Condition{{Argument: 2, Operation: seccomp.BitsNotSet, Value: unix.PROT_EXEC}}},
			}, Action: seccomp.ActionTrap},
		},
	}
}

// reference is what a policy means for one call, written plainly, with the
// additions Assemble documents: a foreign architecture is denied, x32 and
// numbers above the table get ENOSYS (the latter with an errno default),
// socket(AF_VSOCK) and the terminal ioctls EPERM on the low 32 bits, then
// the first group that names the call decides if it names it without
// conditions or one of its alternatives holds entirely, else the default.
func reference(pol *seccomp.Policy, info *arch.Info, maxNr int, d bpfasm.SeccompData) uint32 {
	if d.Arch != uint32(info.ID) {
		switch pol.DefaultAction {
		case seccomp.ActionKillThread, seccomp.ActionKillProcess, seccomp.ActionTrap:
			return uint32(pol.DefaultAction)
		}
		return retEPERM
	}
	nr := uint32(d.Nr)
	if info.ID == arch.X86_64.ID && nr >= uint32(arch.X32.SeccompMask) {
		return retENOSYS
	}
	if nr > uint32(maxNr) && pol.DefaultAction == seccomp.ActionErrno {
		return retENOSYS
	}
	name := info.SyscallNumbers[int(nr)]
	switch {
	case name == "socket" && uint32(d.Args[0]) == unix.AF_VSOCK,
		name == "ioctl" && (uint32(d.Args[1]) == ioctlTIOCSTI || uint32(d.Args[1]) == ioctlTIOCLINUX || uint32(d.Args[1]) == ioctlTIOCSETD):
		return retEPERM
	}
	holds := func(c seccomp.Condition) bool {
		v := d.Args[c.Argument]
		switch c.Operation {
		case seccomp.Equal:
			return v == c.Value
		case seccomp.NotEqual:
			return v != c.Value
		case seccomp.GreaterThan:
			return v > c.Value
		case seccomp.GreaterOrEqual:
			return v >= c.Value
		case seccomp.LessThan:
			return v < c.Value
		case seccomp.LessOrEqual:
			return v <= c.Value
		case seccomp.BitsSet:
			return v&c.Value != 0
		case seccomp.BitsNotSet:
			return v&c.Value == 0
		}
		panic(c.Operation)
	}
	for _, g := range pol.Syscalls {
		for _, n := range g.Names {
			if n == name {
				return retOf(g.Action)
			}
		}
		for _, nc := range g.NamesWithCondtions {
			all := nc.Name == name
			for _, c := range nc.Conditions {
				all = all && holds(c)
			}
			if all {
				return retOf(g.Action)
			}
		}
	}
	return retOf(pol.DefaultAction)
}

// The search tree (Assemble) answers, for every syscall number, both
// architecture values and the x32 bit, and arguments around every value
// the policy compares, what the policy means (reference) and, for the
// floor, the strict additions and an allow-list that kills, exactly what
// the previous encoding (the prologue, then go-seccomp-bpf's program split
// into ranges behind bpfasm.Dispatch) and go-seccomp-bpf's unsplit program
// behind the same prologue answer. The deny-list of every operator is
// checked against the reference only: there the previous encodings answer
// wrongly (TestGoSeccompBPFReusesArgument).
func TestTreeFilterEquivalent(t *testing.T) {
	info := nativeArch(t)
	maxNr := 0
	for nr := range info.SyscallNumbers {
		maxNr = max(maxNr, nr)
	}
	killer := Default()
	killer.DefaultAction = seccomp.ActionKillThread
	for _, tc := range []struct {
		name    string
		pol     *seccomp.Policy
		withOld bool
	}{
		{"default", Default(), true},
		{"strict", StrictAdditions(), true},
		{"kill", killer, true},
		{"mixed", mixedPolicy(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := assemble(t, tc.pol)
			inputs := bpftest.Inputs(uint32(info.ID), []uint32{uint32(arch.I386.ID), 0}, maxNr, policyConsts(tc.pol))
			vm, err := bpfasm.NewVM(tree)
			require.NoError(t, err)
			for _, d := range inputs {
				got, err := bpfasm.RunVM(vm, d)
				require.NoError(t, err)
				if want := reference(tc.pol, info, maxNr, d); got != want {
					t.Fatalf("arch %#x nr %d args %#x: %#x, the policy says %#x", d.Arch, d.Nr, d.Args, got, want)
				}
			}
			old, err := assembleBuckets(tc.pol, info, bpfasm.BucketSize)
			require.NoError(t, err)
			t.Logf("%s: %d instructions, %d before", tc.name, len(tree), len(old))
			assert.Less(t, len(tree), len(old))
			if !tc.withOld {
				return
			}
			for _, width := range []int{bpfasm.BucketSize, 0} {
				old, err := assembleBuckets(tc.pol, info, width)
				require.NoError(t, err)
				require.NoError(t, bpftest.Equivalent(tree, old, inputs), "tree vs buckets of %d", width)
			}
		})
	}
}

// go-seccomp-bpf v1.6.0 leaves the argument it compared last in A when a
// call's conditions fail and goes on comparing A with the syscall numbers
// of the groups that follow: mmap(..., prot=1<<32|8, flags=10<<32),
// which fails the flags condition on the high word 10, matches mprotect
// (number 10) in a later group, whose condition (prot without PROT_EXEC)
// holds, and meets its action. The
// tree never compares a number after an argument (each call's leaf holds
// only that call's checks), so it answers what the policy says. The
// default floor and the strict additions cannot meet this (their only
// conditions are in the last group, and a failing clone flag word is
// never a personality number), which TestTreeFilterEquivalent shows.
func TestGoSeccompBPFReusesArgument(t *testing.T) {
	info := nativeArch(t)
	if info.ID != arch.X86_64.ID {
		t.Skip("the numbers below are x86_64's")
	}
	pol := mixedPolicy()
	d := bpfasm.SeccompData{Nr: int32(info.SyscallNames["mmap"]), Arch: uint32(info.ID), Args: [6]uint64{0, 0, 1<<32 | 8, uint64(info.SyscallNames["mprotect"]) << 32}}
	old, err := assembleBuckets(pol, info, 0)
	require.NoError(t, err)
	got, err := run(old, d)
	require.NoError(t, err)
	assert.Equal(t, uint32(seccomp.ActionTrap), got, "go-seccomp-bpf's program")
	got, err = run(assemble(t, pol), d)
	require.NoError(t, err)
	assert.Equal(t, retAllow, got, "the tree")
	assert.Equal(t, retAllow, reference(pol, info, 0, d))
}

// Every argument rule of the default floor has a leaf of its own and
// every other number one return: the tree of the floor is short.
func TestTreeFloorSize(t *testing.T) {
	f := assemble(t, Default())
	assert.Less(t, len(f), 300, "the floor has %d instructions", len(f))
}
