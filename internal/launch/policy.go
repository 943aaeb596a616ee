package launch

import (
	"sync"

	"nucleus/harden"
)

// defaultProgram is the default policy compiled once per process: the
// seccomp program is assembled, the Landlock rules encoded and the whole
// Program put in its wire form a single time, not per command.
var defaultProgram struct {
	once  sync.Once
	prog  *harden.Program
	bytes []byte
	err   error
}

// program returns the compiled policy and its wire form (programBytes).
func program(p *harden.Policy) (*harden.Program, []byte, error) {
	if p != nil {
		prog, err := harden.Compile(*p)
		if err != nil {
			return nil, nil, err
		}
		return prog, programBytes(prog), nil
	}
	defaultProgram.once.Do(func() {
		defaultProgram.prog, defaultProgram.err = harden.Compile(harden.Policy{})
		if defaultProgram.err == nil {
			defaultProgram.bytes = programBytes(defaultProgram.prog)
		}
	})
	return defaultProgram.prog, defaultProgram.bytes, defaultProgram.err
}
