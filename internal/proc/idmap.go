package proc

import (
	"bytes"
	"fmt"
	"strconv"
)

// IDMapping is one line of a uid_map or gid_map file (user_namespaces(7)):
// ids Inside..Inside+Size-1 in the process's user namespace correspond to
// Outside..Outside+Size-1 in the user namespace of whoever read the file.
type IDMapping struct{ Inside, Outside, Size uint32 }

// maxIDMapLines is the kernel's limit on extents in one map (Linux 4.15+;
// 5 before). A file with more lines did not come from the kernel.
const maxIDMapLines = 340

// ParseIDMap parses the contents of /proc/PID/uid_map or gid_map. Each line
// holds three unsigned decimal numbers. Mappings of size 0, ranges that run
// past 2^32-1 and overlapping ranges on either side are rejected, as the
// kernel rejects them when the map is written, so translation never has to
// choose between two answers.
func ParseIDMap(b []byte) ([]IDMapping, error) {
	var out []IDMapping
	for n := 1; len(b) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("proc: parse id map: line %d: want 3 fields, got %d", n, len(f))
		}
		var v [3]uint32
		for i := range f {
			x, err := strconv.ParseUint(string(f[i]), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("proc: parse id map: line %d: %w", n, err)
			}
			v[i] = uint32(x)
		}
		m := IDMapping{Inside: v[0], Outside: v[1], Size: v[2]}
		if m.Size == 0 {
			return nil, fmt.Errorf("proc: parse id map: line %d: size 0", n)
		}
		if uint64(m.Inside)+uint64(m.Size) > 1<<32 || uint64(m.Outside)+uint64(m.Size) > 1<<32 {
			return nil, fmt.Errorf("proc: parse id map: line %d: range overflows 32 bits", n)
		}
		for _, o := range out {
			if overlaps(o.Inside, o.Size, m.Inside, m.Size) || overlaps(o.Outside, o.Size, m.Outside, m.Size) {
				return nil, fmt.Errorf("proc: parse id map: line %d: overlaps an earlier line", n)
			}
		}
		if len(out) == maxIDMapLines {
			return nil, fmt.Errorf("proc: parse id map: more than %d lines", maxIDMapLines)
		}
		out = append(out, m)
	}
	return out, nil
}

func overlaps(a, an, b, bn uint32) bool {
	aEnd := uint64(a) + uint64(an)
	bEnd := uint64(b) + uint64(bn)
	return uint64(a) < bEnd && uint64(b) < aEnd
}

// ReadIDMap reads /proc/PID/FILE where file is "uid_map" or "gid_map"
// (pid 0 = self). The outside column is expressed in the reader's user
// namespace (the kernel translates it for the opener), so for a host caller
// it holds host ids even for nested namespaces.
func ReadIDMap(pid int, file string) ([]IDMapping, error) {
	if file != "uid_map" && file != "gid_map" {
		return nil, fmt.Errorf("proc: read id map: unknown file %q", file)
	}
	if pid < 0 {
		return nil, fmt.Errorf("proc: read id map: invalid pid %d", pid)
	}
	p := procPath(pid, file)
	b, err := ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("proc: read id map: %w", err)
	}
	m, err := ParseIDMap(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, p)
	}
	return m, nil
}

// ToInside translates an id seen by the reader of the map into the id the
// process sees inside its user namespace. ok is false when the id is not
// mapped; the kernel then shows the overflow id (65534) inside.
func ToInside(m []IDMapping, outside uint32) (uint32, bool) {
	for _, e := range m {
		if outside >= e.Outside && uint64(outside) < uint64(e.Outside)+uint64(e.Size) {
			return e.Inside + (outside - e.Outside), true
		}
	}
	return 0, false
}

// ToOutside translates an id inside the user namespace into the id the
// reader of the map sees. ok is false when the id is not mapped.
func ToOutside(m []IDMapping, inside uint32) (uint32, bool) {
	for _, e := range m {
		if inside >= e.Inside && uint64(inside) < uint64(e.Inside)+uint64(e.Size) {
			return e.Outside + (inside - e.Inside), true
		}
	}
	return 0, false
}
