// Package strictflag is the --strict and --workdir flags of the example
// CLIs (nsattach, probe): the strict sandbox (harden.StrictPolicy) with the
// given work trees instead of the container's own confinement.
package strictflag

import (
	"errors"
	"flag"

	"nucleus/harden"
)

// Flags are --strict and --workdir.
type Flags struct {
	strict   bool
	workdirs []string
}

// Register adds the flags to f.
func (s *Flags) Register(f *flag.FlagSet) {
	f.BoolVar(&s.strict, "strict", false, "")
	f.Func("workdir", "", func(v string) error {
		if v == "" || v[0] != '/' {
			return errors.New("--workdir: give an absolute path inside the container")
		}
		s.workdirs = append(s.workdirs, v)
		return nil
	})
}

// Check refuses --workdir without --strict: the container policy has no
// Landlock domain, so a work tree would mean nothing.
func (s *Flags) Check() error {
	if len(s.workdirs) > 0 && !s.strict {
		return errors.New("--workdir needs --strict")
	}
	return nil
}

// Policy is the policy asked for; nil means the default (the container's).
func (s *Flags) Policy() *harden.Policy {
	if !s.strict {
		return nil
	}
	p := harden.StrictPolicy(s.workdirs...)
	return &p
}
