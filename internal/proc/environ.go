package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Bounds of an environment read from /proc/PID/environ. The bytes are the
// target's memory between its env_start and env_end, which the process can
// rewrite at will, so the reader bounds what it takes: the command's
// environment then travels in the child's config record, itself bounded to
// 1 MiB.
const (
	// MaxEnvironBytes is the most of /proc/PID/environ that is read.
	MaxEnvironBytes = 256 << 10
	// MaxEnvironEntries is the most entries ParseEnviron returns.
	MaxEnvironEntries = 4096
)

// ErrEnvironTooLarge: the environment exceeds MaxEnvironBytes or
// MaxEnvironEntries.
var ErrEnvironTooLarge = errors.New("environment too large")

// ParseEnviron parses the contents of /proc/PID/environ: KEY=VALUE entries,
// each ended by a NUL byte (the last one may lack it when the process
// rewrote its memory). The content is the target's to choose, so only
// entries that execve(2) would give a program a usable variable for are
// kept: an entry without '=' or with an empty key is dropped, and of
// several entries with one key only the first is kept (the one getenv(3)
// finds). The order is kept otherwise. More than MaxEnvironBytes of input
// or more than MaxEnvironEntries kept entries is ErrEnvironTooLarge.
func ParseEnviron(b []byte) ([]string, error) {
	if len(b) > MaxEnvironBytes {
		return nil, fmt.Errorf("proc: parse environ: %d bytes, at most %d: %w", len(b), MaxEnvironBytes, ErrEnvironTooLarge)
	}
	var env []string
	seen := make(map[string]struct{})
	for len(b) > 0 {
		entry := b
		if i := bytes.IndexByte(b, 0); i >= 0 {
			entry, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		eq := bytes.IndexByte(entry, '=')
		if eq <= 0 {
			continue
		}
		key := string(entry[:eq])
		if _, dup := seen[key]; dup {
			continue
		}
		if len(env) == MaxEnvironEntries {
			return nil, fmt.Errorf("proc: parse environ: more than %d entries: %w", MaxEnvironEntries, ErrEnvironTooLarge)
		}
		seen[key] = struct{}{}
		env = append(env, string(entry))
	}
	return env, nil
}

// ReadEnviron reads and parses /proc/PID/environ (pid 0 = self), the
// environment the process was executed with. Reading another process's
// needs the right to ptrace-read it (root, or its owner when it is
// dumpable). The file is read up to one byte past MaxEnvironBytes.
func ReadEnviron(pid int) ([]string, error) {
	if pid < 0 {
		return nil, fmt.Errorf("proc: read environ: invalid pid %d", pid)
	}
	p := procPath(pid, "environ")
	b, err := readUpTo(p, MaxEnvironBytes+1, 0)
	if err != nil {
		return nil, fmt.Errorf("proc: read environ: %w", err)
	}
	env, err := ParseEnviron(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, p)
	}
	return env, nil
}

// ReadCwd returns the working directory of process pid as the kernel
// prints it for /proc/PID/cwd. For a process in another mount namespace
// whose root was changed by pivot_root, the path is the one it has below
// its own root (the container's view), which the caller cannot reach; ""
// when the directory was deleted (the kernel then appends " (deleted)").
func ReadCwd(pid int) (string, error) {
	if pid < 0 {
		return "", fmt.Errorf("proc: read cwd: invalid pid %d", pid)
	}
	p := procPath(pid, "cwd")
	var buf [unix.PathMax]byte
	n, err := unix.Readlink(p, buf[:])
	if err != nil {
		return "", fmt.Errorf("proc: read cwd: %w", &os.PathError{Op: "readlink", Path: p, Err: err})
	}
	dir := string(buf[:n])
	if strings.HasSuffix(dir, " (deleted)") {
		return "", nil
	}
	return dir, nil
}
