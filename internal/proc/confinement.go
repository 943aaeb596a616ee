package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NumRlimits is the number of RLIMIT_* resources Linux has (RLIM_NLIMITS).
const NumRlimits = 16

// Rlimit is one resource limit of a process.
type Rlimit struct {
	Resource int
	Cur, Max uint64
}

// Rlimits returns every resource limit of pid, read with prlimit(2) (which
// needs the right to ptrace-read pid's credentials, as for /proc/PID/limits,
// but reads no file the process controls). Resources the kernel does not
// know (EINVAL) are left out.
func Rlimits(pid int) ([]Rlimit, error) {
	out := make([]Rlimit, 0, NumRlimits)
	for r := 0; r < NumRlimits; r++ {
		var old unix.Rlimit
		if err := unix.Prlimit(pid, r, nil, &old); err != nil {
			if errors.Is(err, unix.EINVAL) {
				continue
			}
			return nil, fmt.Errorf("proc: prlimit %d resource %d: %w", pid, r, err)
		}
		out = append(out, Rlimit{Resource: r, Cur: old.Cur, Max: old.Max})
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

func readAttr(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, maxLabel+1)
	n, err := f.Read(b)
	if err != nil {
		return nil, err
	}
	if n > maxLabel {
		return nil, fmt.Errorf("%s: label longer than %d bytes", path, maxLabel)
	}
	return b[:n], nil
}
