package launch

import (
	"syscall"

	"nucleus/harden"
	"nucleus/internal/child"
	"nucleus/state"
)

// program compiles the policy (nil: the container policy) for the target,
// from the target's confinement read now (readConfinement), and returns it
// with its wire form (programBytes). The floor filter and the OCI profile
// are assembled once (per process, per target); the rest is a few reads of
// /proc and prlimit calls per attach.
func program(p *harden.Policy, st *state.ContainerState) (*harden.Program, []byte, error) {
	var pol harden.Policy
	if p != nil {
		pol = *p
	}
	conf, err := readConfinement(st)
	if err != nil {
		return nil, nil, err
	}
	prog, err := harden.CompileFor(pol, conf)
	if err != nil {
		return nil, nil, err
	}
	return prog, programBytes(prog), nil
}

// execError is the error of the child's exec report: the path, the errno,
// and the layer that refused, which the child flags for Landlock.
func execError(path string, value int32, prog *harden.Program) *ExecError {
	e := &ExecError{Path: path, Err: syscall.Errno(value &^ child.ExecRefusedByLandlock)}
	if value&child.ExecRefusedByLandlock != 0 {
		e.RefusedBy = "Landlock (container policy with Landlock rules)"
		if prog.Strict {
			e.RefusedBy = "Landlock (strict policy)"
		}
	}
	return e
}
