package harden

import (
	"math/rand/v2"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ociReference is the meaning of an OCI profile for one call, written
// plainly: the first rule of the syscall whose conditions hold decides
// (all conditions when each argument appears once; any one of them when
// an argument repeats), else the default action.
func ociReference(t *testing.T, s *specs.LinuxSeccomp, name string, args [6]uint64) uint32 {
	holds := func(a specs.LinuxSeccompArg) bool {
		v := args[a.Index]
		switch a.Op {
		case specs.OpEqualTo:
			return v == a.Value
		case specs.OpNotEqual:
			return v != a.Value
		case specs.OpLessThan:
			return v < a.Value
		case specs.OpLessEqual:
			return v <= a.Value
		case specs.OpGreaterThan:
			return v > a.Value
		case specs.OpGreaterEqual:
			return v >= a.Value
		case specs.OpMaskedEqual:
			return v&a.Value == a.ValueTwo
		}
		t.Fatalf("op %s", a.Op)
		return false
	}
	for _, sc := range s.Syscalls {
		found := false
		for _, n := range sc.Names {
			found = found || n == name
		}
		if !found {
			continue
		}
		seen, repeated := map[uint]bool{}, false
		for _, a := range sc.Args {
			repeated = repeated || seen[a.Index]
			seen[a.Index] = true
		}
		match := !repeated
		for _, a := range sc.Args {
			if repeated {
				match = match || holds(a)
			} else {
				match = match && holds(a)
			}
		}
		if match {
			ret, err := ociAction(sc.Action, sc.ErrnoRet)
			require.NoError(t, err)
			return ret
		}
	}
	ret, err := ociAction(s.DefaultAction, s.DefaultErrnoRet)
	require.NoError(t, err)
	return ret
}

// Every operator, on all 64 bits, compiled and run in the BPF interpreter,
// answers what the reference says, for values around the boundaries
// (equal, one off, differing only in the high or the low word) and random
// ones.
func TestOCISeccompOperators(t *testing.T) {
	info := nativeArch(t)
	errno := uint(unix.EACCES)
	const v = uint64(0x0000_0001_8000_0000) // high word 1, low word with the top bit
	ops := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
		specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}
	var rules []specs.LinuxSyscall
	names := []string{"read", "write", "openat", "close", "fstat", "lseek", "mmap"}
	for i, op := range ops {
		rules = append(rules, specs.LinuxSyscall{Names: []string{names[i]}, Action: specs.ActErrno, ErrnoRet: &errno,
			Args: []specs.LinuxSeccompArg{{Index: uint(i % 6), Value: v, ValueTwo: v & 0x0000_0001_0000_0000, Op: op}}})
	}
	// Two arguments at once (AND), one argument twice (OR), and a later
	// rule of the same call that applies only when the first does not.
	rules = append(rules,
		specs.LinuxSyscall{Names: []string{"getdents64"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: 3, Op: specs.OpEqualTo}, {Index: 2, Value: 100, Op: specs.OpGreaterThan}}},
		specs.LinuxSyscall{Names: []string{"pread64"}, Action: specs.ActTrap, Args: []specs.LinuxSeccompArg{
			{Index: 1, Value: 7, Op: specs.OpEqualTo}, {Index: 1, Value: 1 << 40, Op: specs.OpGreaterEqual}}},
		specs.LinuxSyscall{Names: []string{"pread64"}, Action: specs.ActKillProcess},
		specs.LinuxSyscall{Names: []string{"no_such_call", "mkdirat"}, Action: specs.ActLog},
	)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: rules}
	f, err := CompileOCISeccomp(s)
	require.NoError(t, err)

	values := []uint64{0, 3, 7, 99, 100, 101, v, v - 1, v + 1, v ^ 1<<32, v ^ 1<<31, v & 0xffffffff, v | 0xffff_0000_0000_0000,
		1 << 40, 1<<40 - 1, ^uint64(0)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		values = append(values, r.Uint64(), r.Uint64()>>32, v&^r.Uint64()|r.Uint64()&0xff)
	}
	for _, name := range append(names, "getdents64", "pread64", "mkdirat", "execve", "getpid") {
		for _, a := range values {
			for _, b := range []uint64{0, 101, a} {
				args := [6]uint64{a, a, b, a, a, a}
				nr := info.SyscallNames[name]
				got, err := Simulate(f, SeccompData{Nr: int32(nr), Arch: uint32(info.ID), Args: args})
				require.NoError(t, err)
				require.Equal(t, ociReference(t, s, name, args), got, "%s(%#x, ..., %#x)", name, a, b)
			}
		}
	}
	// A foreign architecture meets the default action.
	got, err := Simulate(f, SeccompData{Nr: 0, Arch: 0x40000003})
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.SECCOMP_RET_ALLOW), got)
}

// What cannot be honoured is refused, never dropped.
func TestOCISeccompRefuses(t *testing.T) {
	big := uint(0x10000)
	for name, s := range map[string]*specs.LinuxSeccomp{
		"notify":        {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}},
		"listener":      {DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock"},
		"flag":          {DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NEW_LISTENER"}},
		"foreign arch":  {DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchMIPS}},
		"index":         {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
		"operator":      {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_FUZZY"}}}}},
		"action":        {DefaultAction: "SCMP_ACT_MAYBE"},
		"errno":         {DefaultAction: specs.ActErrno, DefaultErrnoRet: &big},
		"denies execve": {DefaultAction: specs.ActErrno},
		"execve killed": {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"execve"}, Action: specs.ActKill}}},
	} {
		_, err := CompileOCISeccomp(s)
		assert.Error(t, err, name)
		if err != nil {
			assert.Contains(t, err.Error(), "oci seccomp", name)
		}
	}
	f, err := CompileOCISeccomp(nil)
	assert.NoError(t, err)
	assert.Nil(t, f)
}
