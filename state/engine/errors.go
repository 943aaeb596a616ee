package engine

import (
	"errors"
	"fmt"
	"strings"
)

// NotFoundError is Find's answer when no container has the name: it says
// what was searched, which sockets and directories were absent (engine not
// installed or not running), and the errors of engines that failed.
type NotFoundError struct {
	// Name is what was looked up.
	Name string
	// Searched are the engines asked, with their sockets or directories.
	Searched []string
	// Absent are the engines whose socket or directory does not exist.
	Absent []string
	// Errors are the failures of engines that were present.
	Errors []error
}

// Error names the lookup, the engines searched and those absent.
func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine: no container %q", e.Name)
	if len(e.Searched) > 0 {
		fmt.Fprintf(&b, "; searched %s", strings.Join(e.Searched, ", "))
	} else {
		b.WriteString("; no engine could be searched")
	}
	if len(e.Absent) > 0 {
		fmt.Fprintf(&b, "; absent: %s", strings.Join(e.Absent, ", "))
	}
	if len(e.Errors) > 0 {
		fmt.Fprintf(&b, "; errors: %v", errors.Join(e.Errors...))
	}
	return b.String()
}

// Unwrap gives the engines' errors to errors.Is and errors.As.
func (e *NotFoundError) Unwrap() []error { return e.Errors }

// AmbiguousError is Find's answer when several containers match: acting on
// one of them would be a guess.
type AmbiguousError struct {
	// Name is what was looked up.
	Name string
	// Candidates are the containers that match.
	Candidates []Container
}

// Error lists the candidates by engine, name and ID.
func (e *AmbiguousError) Error() string {
	parts := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		parts[i] = fmt.Sprintf("%s %s (id %s)", c.Engine, c.Name, c.ID)
	}
	return fmt.Sprintf("engine: %q is ambiguous: %d containers match: %s; give a longer ID or the full name", e.Name, len(e.Candidates), strings.Join(parts, ", "))
}
