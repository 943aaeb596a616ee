package state

import (
	"bytes"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A process writes its own /proc/PID/cmdline; these fuzz targets feed the
// parsers every shape of it. Seed corpora are in testdata/fuzz/<name>/.

// FuzzSplitCmdline: the arguments are the NUL-separated pieces, none holds
// a NUL, and joined again they give the command line back.
func FuzzSplitCmdline(f *testing.F) {
	f.Add([]byte("sleep\x00100\x00"))
	f.Add([]byte(""))
	f.Add([]byte("a\x00\x00b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		argv := splitCmdline(b)
		require.NotNil(t, argv)
		for _, a := range argv {
			require.NotContains(t, a, "\x00")
		}
		require.Equal(t, string(bytes.TrimSuffix(b, []byte{0})), strings.Join(argv, "\x00"))
	})
}

// FuzzParseSandbox: a command line read as a sandbox supervisor's claim.
// Only runsc's names make a claim; the id is boot's last argument and the
// root the value of a global --root; and what setSandbox makes of the claim
// never takes an identity or an unchecked root from it: the process's own
// identity stays, a recorded root passes CheckRuntimeRoot, an id passes
// ValidateID.
func FuzzParseSandbox(f *testing.F) {
	f.Add([]byte("runsc-sandbox\x00--root=/var/run/runsc\x00--network=none\x00boot\x00--bundle=/b\x00--controller-fd=3\x00id\x00"))
	f.Add([]byte("runsc\x00-root\x00/tmp\x00boot\x00-bundle\x00/etc\x00x\x00"))
	f.Add([]byte("runsc-sandbox\x00--root=/proc/self/root\x00boot\x00../victim\x00"))
	f.Add([]byte("/bin/runsc\x00--\x00boot\x00x\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		argv := splitCmdline(b)
		sb, ok := parseSandbox(argv)
		if !ok {
			require.Equal(t, sandbox{}, sb)
			return
		}
		name := path.Base(argv[0])
		require.True(t, name == "runsc" || name == "runsc-sandbox", name)
		if sb.id != "" {
			require.Equal(t, argv[len(argv)-1], sb.id)
			require.False(t, strings.HasPrefix(sb.id, "-"))
			boot := slices.Index(argv, "boot")
			require.True(t, boot > 0 && boot < len(argv)-1, "the id follows boot")
		}
		if sb.root != "" {
			i := slices.IndexFunc(argv[1:], func(a string) bool {
				return a == "--root="+sb.root || a == "-root="+sb.root
			})
			j := slices.IndexFunc(argv[1:len(argv)-1], func(a string) bool { return a == "--root" || a == "-root" })
			require.True(t, i >= 0 || j >= 0, "root %q is a --root value", sb.root)
		}
		s := &ContainerState{ID: "42", Name: "42", ProcessUID: 1234, ProcessGID: 5678, AdditionalGIDs: []uint32{9}}
		s.setSandbox(sb, "")
		require.True(t, s.UsingGVisor)
		require.Equal(t, ProcessIdentity{UID: 1234, GID: 5678, AdditionalGIDs: []uint32{9}}, s.Identity(),
			"the identity never comes from the command line")
		if s.ID != "42" {
			require.Equal(t, sb.id, s.ID)
			require.NoError(t, ValidateID(s.ID))
		}
		if s.RuntimeRoot != "" {
			owner, err := CheckRuntimeRoot(s.RuntimeRoot)
			require.NoError(t, err)
			require.Equal(t, owner, s.CreatorUID)
		} else {
			require.Zero(t, s.CreatorUID)
		}
	})
}

// FuzzParseOCI: the OCI state parser behind FromOCI, which also reads what
// `runsc state` prints when a gVisor claim is verified. An accepted state
// has an id without NUL, a known status and a pid wherever the status needs
// one; encoded again it parses to the same state.
func FuzzParseOCI(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.2.1","id":"nucleus-gv-1","status":"running","pid":16692,"bundle":"/tmp/b"}`))
	f.Add([]byte(`{"id":"x","status":"creating"}`))
	f.Add([]byte(`{"id":"x","status":"paused","pid":7,"annotations":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, status, err := parseOCI(b)
		if err != nil {
			require.Nil(t, o)
			return
		}
		require.NotEmpty(t, o.ID)
		require.NotContains(t, o.ID, "\x00")
		require.True(t, status.valid() || status == StatusPaused, status)
		if o.PID != nil {
			require.GreaterOrEqual(t, *o.PID, 0)
		}
		if status != StatusStopped && status != StatusCreating {
			require.NotNil(t, o.PID)
			require.Positive(t, *o.PID)
		}
		enc, err := json.Marshal(o)
		require.NoError(t, err)
		o2, status2, err := parseOCI(enc)
		require.NoError(t, err)
		require.Equal(t, status, status2)
		require.Equal(t, o, o2)
	})
}
