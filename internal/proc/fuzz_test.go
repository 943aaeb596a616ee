package proc

import (
	"bytes"
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
