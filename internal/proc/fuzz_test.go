package proc

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The seed corpus lives in testdata/fuzz/<FuzzName>/ and is run by plain
// `go test`; the f.Add seeds below cover the shapes the kernel prints.

func FuzzParseStat(f *testing.F) {
	if b, err := os.ReadFile("testdata/stat-sleep.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("42 (a) b (c) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStat(b)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, st.PID, 0)
		// comm is exactly the bytes between the first '(' and the last ')'.
		open := bytes.IndexByte(b, '(')
		closing := bytes.LastIndexByte(b, ')')
		require.Equal(t, string(b[open+1:closing]), st.Comm)
		// Fields after comm never come from inside it.
		rest := bytes.Fields(b[closing+1:])
		require.Equal(t, rest[0][0], st.State)
		again, err := ParseStat(b)
		require.NoError(t, err)
		require.Equal(t, st, again)
	})
}

func FuzzParseStatus(f *testing.F) {
	if b, err := os.ReadFile("testdata/status-sleep-pidns.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Name:\tx\nState:\tR (running)\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t1 2\nNSpid:\t9\t1\nThreads:\t1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err != nil {
			return
		}
		for _, p := range s.NSpid {
			require.GreaterOrEqual(t, p, 0)
		}
		require.NotContains(t, s.Name, "\n")
		require.False(t, strings.ContainsRune(s.State, '\n'))
	})
}

func FuzzParseIDMap(f *testing.F) {
	f.Add([]byte("0 0 4294967295\n"))
	f.Add([]byte("0 1234 1\n1 100000 65536\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseIDMap(b)
		if err != nil {
			return
		}
		for _, e := range m {
			require.NotZero(t, e.Size)
			for _, off := range []uint32{0, e.Size / 2, e.Size - 1} {
				in, ok := ToInside(m, e.Outside+off)
				require.True(t, ok)
				require.Equal(t, e.Inside+off, in)
				out, ok := ToOutside(m, in)
				require.True(t, ok)
				require.Equal(t, e.Outside+off, out)
			}
		}
	})
}

// FuzzParseCgroupFile: /proc/PID/cgroup is printed by the kernel, but the
// paths in it are names a container with a delegated cgroup chose. Every
// line parsed keeps a non-negative hierarchy and an absolute path; printed
// again as "id:controllers:path" the lines parse to the same result.
func FuzzParseCgroupFile(f *testing.F) {
	f.Add([]byte("12:pids:/user.slice\n1:name=systemd:/init.scope\n0::/a:b/c\n"))
	f.Add([]byte("0::/\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := parseCgroupFile(b)
		if err != nil {
			require.Nil(t, lines)
			return
		}
		var again bytes.Buffer
		for _, l := range lines {
			require.GreaterOrEqual(t, l.hier, 0)
			require.True(t, strings.HasPrefix(l.path, "/"), l.path)
			require.NotContains(t, l.path, "\n")
			require.NotContains(t, l.controllers, ":")
			fmt.Fprintf(&again, "%d:%s:%s\n", l.hier, l.controllers, l.path)
		}
		got, err := parseCgroupFile(again.Bytes())
		require.NoError(t, err)
		require.Equal(t, lines, got)
	})
}

// FuzzParseCgroupMounts: mountinfo holds mount points and roots a container
// can choose (octal-escaped). Only cgroup and cgroup2 entries come out,
// each with its super options; the parse is deterministic.
func FuzzParseCgroupMounts(f *testing.F) {
	f.Add([]byte("30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:6 - cgroup2 cgroup2 rw,nsdelegate\n" +
		"33 25 0:29 / /sys/fs/cgroup/pids rw shared:12 - cgroup cgroup rw,pids\n" +
		"40 25 0:30 /a\\040b /mnt/x\\134y rw - cgroup cgroup rw,name=systemd\n" +
		"41 25 0:31 / / rw - ext4 /dev/sda1 rw\n"))
	f.Add([]byte("1 2 3:4 / /m rw - cgroup\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mounts, err := parseCgroupMounts(b)
		if err != nil {
			require.Nil(t, mounts)
			return
		}
		lines := bytes.Count(b, []byte{'\n'}) + 1
		require.LessOrEqual(t, len(mounts), lines)
		for _, m := range mounts {
			require.NotEmpty(t, m.opts, "super options")
		}
		again, err := parseCgroupMounts(b)
		require.NoError(t, err)
		require.Equal(t, mounts, again)
	})
}

// FuzzUnescapeMountField: whatever bytes a mount point holds, the kernel's
// octal escaping of space, tab, newline and backslash (what mountinfo
// prints) is undone exactly.
func FuzzUnescapeMountField(f *testing.F) {
	f.Add("/plain")
	f.Add("/with space\tand\nnewline\\back")
	f.Add("\\040")
	f.Fuzz(func(t *testing.T, s string) {
		var esc strings.Builder
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case ' ', '\t', '\n', '\\':
				fmt.Fprintf(&esc, "\\%03o", c)
			default:
				esc.WriteByte(c)
			}
		}
		got, err := unescapeMountField(esc.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
		// Anything else either unescapes or fails, never panics.
		_, _ = unescapeMountField(s)
	})
}
