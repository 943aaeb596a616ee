// Package strictflag is the --strict and --worktree flags of the example
// CLIs (nsattach, probe): the strict sandbox (harden.StrictPolicy) with the
// given work trees instead of the container's own confinement.
package strictflag

import (
	"errors"
	"flag"

	"nucleus/harden"
)

// Flags are --strict and --worktree.
type Flags struct {
	strict    bool
	worktrees []string
}

// Register adds the flags to f.
func (s *Flags) Register(f *flag.FlagSet) {
	f.BoolVar(&s.strict, "strict", false, "")
	f.Func("worktree", "", func(v string) error {
		if v == "" || v[0] != '/' {
			return errors.New("--worktree: give an absolute path inside the container")
		}
		s.worktrees = append(s.worktrees, v)
		return nil
	})
}

// Check refuses --worktree without --strict: the container policy has no
// Landlock domain, so a work tree would mean nothing.
func (s *Flags) Check() error {
	if len(s.worktrees) > 0 && !s.strict {
		return errors.New("--worktree needs --strict")
	}
	return nil
}

// Policy is the policy asked for; nil means the default (the container's).
func (s *Flags) Policy() *harden.Policy {
	if !s.strict {
		return nil
	}
	p := harden.StrictPolicy(s.worktrees...)
	return &p
}
