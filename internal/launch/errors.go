package launch

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ExecError reports that the command could not be executed — not found,
// not executable, refused by Landlock — so it never ran. Every other failure
// of Start is a setup step (the join, the hardening, a working directory
// that does not exist) even when it carries the same errno.
type ExecError struct {
	// Path is the command: as given when it was not found in PATH, else
	// the path execve was called with.
	Path string
	// Err is the cause, a syscall.Errno (ENOENT works with fs.ErrNotExist).
	Err error
	// RefusedBy names the layer that refused the execve when it was not
	// the file itself, e.g. "Landlock (strict policy)"; "" otherwise.
	RefusedBy string
	// SearchPath is the PATH that was searched for a command without a
	// slash.
	SearchPath string
}

func (e *ExecError) Error() string {
	if errors.Is(e.Err, syscall.ENOENT) && !strings.Contains(e.Path, "/") {
		return fmt.Sprintf("exec %q: not found in PATH %q", e.Path, e.SearchPath)
	}
	if e.RefusedBy != "" {
		return fmt.Sprintf("exec %q: %v: refused by %s: the path is not granted exec (harden.PathRule)", e.Path, e.Err, e.RefusedBy)
	}
	return fmt.Sprintf("exec %q: %v", e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *ExecError) Unwrap() error { return e.Err }
