package launch

import (
	"sync"

	"nucleus/harden"
)

// defaultProgram is the default policy compiled once per process: the
// seccomp program is assembled and the Landlock rules encoded a single time,
// not per command.
var defaultProgram struct {
	once sync.Once
	prog *harden.Program
	err  error
}

func program(p *harden.Policy) (*harden.Program, error) {
	if p != nil {
		return harden.Compile(*p)
	}
	defaultProgram.once.Do(func() {
		defaultProgram.prog, defaultProgram.err = harden.Compile(harden.Policy{})
	})
	return defaultProgram.prog, defaultProgram.err
}
