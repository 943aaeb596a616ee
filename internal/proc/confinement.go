package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// NumRlimits is the number of RLIMIT_* resources Linux has (RLIM_NLIMITS).
const NumRlimits = 16

// Rlimit is one resource limit of a process.
type Rlimit struct {
	Resource int
	Cur, Max uint64
}

// Rlimits returns every resource limit of pid, read with prlimit(2). The
// kernel allows that only to a caller with the target's uids and gids or
// CAP_SYS_RESOURCE over its user namespace; a caller without them (a root
// that was not given CAP_SYS_RESOURCE, an unprivileged owner of a rootless
// container) reads /proc/PID/limits instead, which the kernel writes from
// the same values and lets anyone read. Resources the kernel does not know
// (EINVAL) are left out.
func Rlimits(pid int) ([]Rlimit, error) {
	out := make([]Rlimit, 0, NumRlimits)
	for r := 0; r < NumRlimits; r++ {
		var old unix.Rlimit
		if err := unix.Prlimit(pid, r, nil, &old); err != nil {
			if errors.Is(err, unix.EINVAL) {
				continue
			}
			if errors.Is(err, unix.EPERM) {
				return readLimits(pid)
			}
			return nil, fmt.Errorf("proc: prlimit %d resource %d: %w", pid, r, err)
		}
		out = append(out, Rlimit{Resource: r, Cur: old.Cur, Max: old.Max})
	}
	return out, nil
}

// readLimits reads /proc/PID/limits.
func readLimits(pid int) ([]Rlimit, error) {
	b, err := ReadFile(procPath(pid, "limits"))
	if err != nil {
		return nil, fmt.Errorf("proc: read limits: %w", err)
	}
	l, err := ParseLimits(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, procPath(pid, "limits"))
	}
	return l, nil
}

// ParseLimits parses /proc/PID/limits: a header line, then one line per
// resource in RLIMIT_* order, printed as "%-25s %-20s %-20s %-10s" (name,
// soft, hard, units), a value being a decimal number or "unlimited".
func ParseLimits(b []byte) ([]Rlimit, error) {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) < 2 || !bytes.HasPrefix(lines[0], []byte("Limit ")) {
		return nil, errors.New("proc: limits: no header")
	}
	lines = lines[1:]
	if len(lines) > NumRlimits {
		return nil, fmt.Errorf("proc: limits: %d resources, at most %d known", len(lines), NumRlimits)
	}
	out := make([]Rlimit, 0, len(lines))
	for i, l := range lines {
		if len(l) < 26 {
			return nil, fmt.Errorf("proc: limits: line %d too short", i+2)
		}
		f := bytes.Fields(l[26:])
		if len(f) < 2 {
			return nil, fmt.Errorf("proc: limits: line %d: no soft and hard values", i+2)
		}
		var v [2]uint64
		for j := range v {
			if string(f[j]) == "unlimited" {
				v[j] = unix.RLIM_INFINITY
				continue
			}
			n, err := strconv.ParseUint(string(f[j]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("proc: limits: line %d: %w", i+2, err)
			}
			v[j] = n
		}
		out = append(out, Rlimit{Resource: i, Cur: v[0], Max: v[1]})
	}
	return out, nil
}

// LSM names the Linux security module a label belongs to.
type LSM string

// The LSMs whose labels nucleus carries over.
const (
	AppArmor LSM = "apparmor"
	SELinux  LSM = "selinux"
)

// maxLabel bounds an LSM label read from /proc.
const maxLabel = 4096

// LSMLabel returns the LSM label pid runs under and the module it belongs
// to: AppArmor's profile name from attr/apparmor/current (its mode suffix,
// " (enforce)", removed), else the context in attr/current (SELinux or
// another module that provides it). It returns "" with no error when no
// such LSM is active (the files are missing or the kernel answers EINVAL)
// or the process is unconfined. The kernel writes these files; the
// container cannot forge them.
func LSMLabel(pid int) (string, LSM, error) {
	b, err := readAttr(procPath(pid, "attr/apparmor/current"))
	if err == nil {
		label := string(bytes.TrimSpace(b))
		if i := bytes.LastIndex([]byte(label), []byte(" (")); i > 0 {
			label = label[:i]
		}
		if label == "unconfined" || label == "" {
			return "", AppArmor, nil
		}
		return label, AppArmor, nil
	}
	if !noLSM(err) {
		return "", "", fmt.Errorf("proc: lsm label of %d: %w", pid, err)
	}
	b, err = readAttr(procPath(pid, "attr/current"))
	if noLSM(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("proc: lsm label of %d: %w", pid, err)
	}
	label := string(bytes.TrimRight(b, "\x00\n"))
	if label == "" || label == "unconfined" || label == "kernel" {
		return "", SELinux, nil
	}
	return label, SELinux, nil
}

func noLSM(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT)
}

// readAttr reads an LSM attribute file: O_NONBLOCK, as these are never
// meant to block, and at most maxLabel bytes. An empty read is io.EOF, as
// os.File.Read reports it.
func readAttr(path string) ([]byte, error) {
	b, err := readUpTo(path, maxLabel+1, unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, &fs.PathError{Op: "read", Path: path, Err: io.EOF}
	}
	if len(b) > maxLabel {
		return nil, fmt.Errorf("%s: label longer than %d bytes", path, maxLabel)
	}
	return b, nil
}
