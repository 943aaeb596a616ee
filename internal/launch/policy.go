package launch

import (
	"nucleus/harden"
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
