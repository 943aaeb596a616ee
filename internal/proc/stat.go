package proc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Stat is the subset of /proc/PID/stat that nucleus uses (proc(5)).
type Stat struct {
	// PID is field 1, the process id as seen from the procfs instance read.
	PID int
	// Comm is field 2 without the surrounding parentheses. It is chosen by
	// the process (prctl(PR_SET_NAME), the executable name) and may contain
	// spaces, parentheses and other bytes, so it is never trusted.
	Comm string
	// State is field 3: R, S, D, Z, T, t, X, I, ...
	State byte
	// PPID, PGRP and Session are fields 4, 5 and 6.
	PPID, PGRP, Session int
	// StartTicks is field 22, the time the process started after boot in
	// clock ticks (USER_HZ). Together with PID it names a process uniquely
	// for the life of the machine: a recycled PID gets a new start time.
	StartTicks uint64
}

// startTimeField is the 1-based index of starttime in /proc/PID/stat.
const startTimeField = 22

// ParseStat parses the contents of a /proc/PID/stat file.
//
// The comm field is enclosed in parentheses but may itself contain ')' and
// spaces (a process can name itself "a) b (c"), so the fields after it are
// located from the LAST ')' in the line: the kernel prints nothing after
// comm that can contain ')'.
func ParseStat(b []byte) (Stat, error) {
	var st Stat
	b = bytes.TrimRight(b, "\n")
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return st, errors.New("proc: parse stat: no (comm) field")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return st, fmt.Errorf("proc: parse stat: pid: %w", err)
	}
	if pid < 0 {
		return st, fmt.Errorf("proc: parse stat: negative pid %d", pid)
	}
	st.PID = pid
	st.Comm = string(b[open+1 : closing])
	// Fields 3.. follow ") ".
	rest := bytes.Fields(b[closing+1:])
	// rest[0] is field 3; we need up to field 22.
	if len(rest) < startTimeField-2 {
		return st, fmt.Errorf("proc: parse stat: %d fields after comm, want at least %d", len(rest), startTimeField-2)
	}
	if len(rest[0]) != 1 {
		return st, fmt.Errorf("proc: parse stat: state %q is not one character", rest[0])
	}
	st.State = rest[0][0]
	ints := []*int{&st.PPID, &st.PGRP, &st.Session}
	for i, p := range ints {
		v, err := strconv.Atoi(string(rest[1+i]))
		if err != nil {
			return st, fmt.Errorf("proc: parse stat: field %d: %w", 4+i, err)
		}
		*p = v
	}
	st.StartTicks, err = strconv.ParseUint(string(rest[startTimeField-3]), 10, 64)
	if err != nil {
		return st, fmt.Errorf("proc: parse stat: starttime (field %d): %w", startTimeField, err)
	}
	return st, nil
}

// ReadStat reads and parses /proc/PID/stat; pid 0 means the calling process.
// A process that no longer exists yields an error wrapping fs.ErrNotExist
// (or ESRCH if it died while the file was being read).
func ReadStat(pid int) (Stat, error) {
	if pid < 0 {
		return Stat{}, fmt.Errorf("proc: read stat: invalid pid %d", pid)
	}
	b, err := ReadFile(procPath(pid, "stat"))
	if err != nil {
		return Stat{}, fmt.Errorf("proc: read stat: %w", err)
	}
	st, err := ParseStat(b)
	if err != nil {
		return Stat{}, fmt.Errorf("%w (%s)", err, procPath(pid, "stat"))
	}
	return st, nil
}

// StartTicks returns field 22 of /proc/PID/stat (pid 0 = self): the start
// time of the process in clock ticks since boot. It is the second half of a
// process's identity, checked before and after every operation that names a
// process by number.
func StartTicks(pid int) (uint64, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return 0, err
	}
	return st.StartTicks, nil
}

// procPath returns /proc/PID/name, or /proc/self/name for pid 0.
func procPath(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}
