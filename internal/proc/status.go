package proc

import (
	"bytes"
	"fmt"
	"strconv"
)

// Status is the subset of /proc/PID/status that nucleus uses (proc(5)).
//
// The kernel translates uids and gids into the user namespace of the
// process that opened the file, so a host caller sees host ids even for a
// process inside a user namespace; use ReadIDMap and ToInside to get the ids
// the process sees itself.
type Status struct {
	// Name is the comm value (escaped by the kernel: "\n" and "\\").
	Name string
	// State is the full state text, e.g. "S (sleeping)".
	State string
	// Tgid is the thread group id (the process id); it differs from the
	// PID the file was read for when that PID names a non-leader thread.
	Tgid int
	// UID and GID are real, effective, saved set and file system ids.
	UID, GID [4]uint32
	// Groups is the supplementary group list.
	Groups []uint32
	// CapInh, CapPrm, CapEff, CapBnd and CapAmb are the capability sets as
	// bit masks (bit n = capability n, capabilities(7)).
	CapInh, CapPrm, CapEff, CapBnd, CapAmb uint64
	// NoNewPrivs is 1 when PR_SET_NO_NEW_PRIVS is set (Linux 4.10+ prints it).
	NoNewPrivs int
	// Seccomp is the seccomp mode: 0 disabled, 1 strict, 2 filter.
	Seccomp int
	// SeccompFilters is the number of seccomp filters attached (Linux
	// 5.9+ prints it; 0 when absent).
	SeccompFilters int
	// NSpid lists the PID in every PID namespace the process belongs to,
	// from the namespace of the procfs mount outwards-in: NSpid[0] is the PID
	// as seen by this procfs, the last element the PID inside the process's
	// own namespace.
	NSpid []int
	// Threads is the number of threads in the thread group.
	Threads int
}

// ParseStatus parses the contents of a /proc/PID/status file. Unknown keys
// are ignored, so newer kernels that add lines still parse; keys that are
// present must be well formed. Name, State, Uid, Gid and Threads are
// required because every kernel nucleus supports prints them.
func ParseStatus(b []byte) (Status, error) {
	var s Status
	var seen uint
	const (
		seenName = 1 << iota
		seenState
		seenUID
		seenGID
		seenThreads
		seenAll = seenName | seenState | seenUID | seenGID | seenThreads
	)
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key := string(line[:colon])
		val := line[colon+1:]
		var err error
		switch key {
		case "Name":
			// The kernel prints a tab and then the escaped comm; keep any
			// other leading or trailing spaces, they belong to the name.
			s.Name = string(bytes.TrimPrefix(val, []byte{'\t'}))
			seen |= seenName
		case "State":
			s.State = string(bytes.TrimSpace(val))
			seen |= seenState
		case "Tgid":
			s.Tgid, err = strconv.Atoi(string(bytes.TrimSpace(val)))
		case "Uid":
			err = parseIDQuad(val, &s.UID)
			seen |= seenUID
		case "Gid":
			err = parseIDQuad(val, &s.GID)
			seen |= seenGID
		case "Groups":
			s.Groups, err = parseUint32List(val)
		case "CapInh":
			s.CapInh, err = parseHex64(val)
		case "CapPrm":
			s.CapPrm, err = parseHex64(val)
		case "CapEff":
			s.CapEff, err = parseHex64(val)
		case "CapBnd":
			s.CapBnd, err = parseHex64(val)
		case "CapAmb":
			s.CapAmb, err = parseHex64(val)
		case "NoNewPrivs":
			s.NoNewPrivs, err = strconv.Atoi(string(bytes.TrimSpace(val)))
		case "Seccomp":
			s.Seccomp, err = strconv.Atoi(string(bytes.TrimSpace(val)))
		case "Seccomp_filters":
			s.SeccompFilters, err = strconv.Atoi(string(bytes.TrimSpace(val)))
		case "NSpid":
			s.NSpid, err = parseIntList(val)
		case "Threads":
			s.Threads, err = strconv.Atoi(string(bytes.TrimSpace(val)))
			seen |= seenThreads
		}
		if err != nil {
			return Status{}, fmt.Errorf("proc: parse status: %s: %w", key, err)
		}
	}
	if seen != seenAll {
		return Status{}, fmt.Errorf("proc: parse status: missing one of Name, State, Uid, Gid, Threads")
	}
	return s, nil
}

// ReadStatus reads and parses /proc/PID/status; pid 0 means the calling
// process.
func ReadStatus(pid int) (Status, error) {
	if pid < 0 {
		return Status{}, fmt.Errorf("proc: read status: invalid pid %d", pid)
	}
	b, err := ReadFile(procPath(pid, "status"))
	if err != nil {
		return Status{}, fmt.Errorf("proc: read status: %w", err)
	}
	s, err := ParseStatus(b)
	if err != nil {
		return Status{}, fmt.Errorf("%w (%s)", err, procPath(pid, "status"))
	}
	return s, nil
}

func parseIDQuad(val []byte, out *[4]uint32) error {
	f := bytes.Fields(val)
	if len(f) != 4 {
		return fmt.Errorf("want 4 ids, got %d", len(f))
	}
	for i := range f {
		v, err := strconv.ParseUint(string(f[i]), 10, 32)
		if err != nil {
			return err
		}
		out[i] = uint32(v)
	}
	return nil
}

func parseUint32List(val []byte) ([]uint32, error) {
	f := bytes.Fields(val)
	if len(f) == 0 {
		return nil, nil
	}
	out := make([]uint32, 0, len(f))
	for _, x := range f {
		v, err := strconv.ParseUint(string(x), 10, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

func parseIntList(val []byte) ([]int, error) {
	f := bytes.Fields(val)
	if len(f) == 0 {
		return nil, nil
	}
	out := make([]int, 0, len(f))
	for _, x := range f {
		v, err := strconv.Atoi(string(x))
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, fmt.Errorf("negative pid %d", v)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseHex64(val []byte) (uint64, error) {
	return strconv.ParseUint(string(bytes.TrimSpace(val)), 16, 64)
}
