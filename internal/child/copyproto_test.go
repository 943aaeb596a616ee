package child

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordRoundTrip(t *testing.T) {
	r := Record{Kind: KindSymlink, Mode: 0o120777, UID: 1000, GID: 4294967295, Size: 1 << 40,
		Mtime: -5, MtimeNsec: 999999999, Name: "a/ü b", Link: "/etc/shadow", Errno: 13, Rdev: 1<<63 | 7}
	b := AppendRecord([]byte("x"), &r)
	require.Len(t, b, 1+RecordHeaderSize+len(r.Name)+len(r.Link))
	got, nl, ll, err := ParseRecordHeader(b[1:])
	require.NoError(t, err)
	got.Name = string(b[1+RecordHeaderSize : 1+RecordHeaderSize+nl])
	got.Link = string(b[1+RecordHeaderSize+nl : 1+RecordHeaderSize+nl+ll])
	assert.Equal(t, r, got)

	// A length beyond PATH_MAX is refused before anything is allocated.
	putU32(b[1+36:], MaxRecordName+1)
	_, _, _, err = ParseRecordHeader(b[1:])
	assert.Error(t, err)
}

// Only names that stay below the copy's root are accepted.
func TestCheckRecordName(t *testing.T) {
	for _, ok := range []string{".", "a", "a/b", "a/.b", "..a", "a..", ".nucleus-cp-1"} {
		assert.True(t, CheckRecordName(ok), ok)
	}
	for _, bad := range []string{"", "/", "/a", "a/", "a//b", "./a", "a/.", "..", "../a", "a/../b", "a/..", "a\x00b"} {
		assert.False(t, CheckRecordName(bad), "%q", bad)
	}
}

func TestSplitName(t *testing.T) {
	for name, want := range map[string][2]string{"a": {"", "a"}, "a/b/c": {"a/b", "c"}, "/etc": {"", "etc"}, "/": {"", ""}, "/a/b": {"/a", "b"}} {
		p, b := splitName(name)
		assert.Equal(t, want, [2]string{p, b}, name)
	}
	assert.Equal(t, "a/b/c", join([]string{"a", "b", "c"}))
	assert.Equal(t, "", join(nil))
}
