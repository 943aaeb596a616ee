//go:build linux && cgo

package nsenter

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWireMatchesHeader(t *testing.T) {
	req, err := Request{}.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, req, RequestSize)
	want := map[string]int{
		"FdSocket": FdSocket, "FdPidfd": FdPidfd, "FdHostBinary": FdHostBinary, "FdCgroup": FdCgroup, "MaxCgroups": MaxCgroups,
		"magic": magic, "version": version,
		"FlagTTY": FlagTTY, "FlagHostBinary": FlagHostBinary, "Go": Go, "MsgPID": MsgPID, "MsgError": MsgError, "MsgExecError": MsgExecError,
		"MessageSize": MessageSize, "RequestSize": len(req),
	}
	assert.Equal(t, want, headerConstants())
}

func TestRequestCgroupsBounded(t *testing.T) {
	_, err := Request{Cgroups: MaxCgroups + 1}.MarshalBinary()
	assert.Error(t, err)
	b, err := Request{NSFlags: 1, Flags: FlagTTY, Cgroups: 3}.AppendBinary([]byte{'x'})
	require.NoError(t, err)
	assert.Len(t, b, 1+RequestSize)
}

func TestMessageRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteMessage(&buf, Message{Type: MsgError, Value: int32(syscall.ENOENT), Text: `exec "/nope"`}))
	require.Equal(t, MessageSize, buf.Len())
	m, err := ReadMessage(&buf)
	require.NoError(t, err)
	err = m.Err()
	assert.EqualError(t, err, `exec "/nope": no such file or directory`)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	_, err = ReadMessage(&buf)
	assert.ErrorIs(t, err, io.EOF)
	_, err = ReadMessage(bytes.NewReader(make([]byte, 10)))
	assert.Error(t, err)
	assert.False(t, errors.Is(err, io.EOF))
}

func TestRemoteErrorText(t *testing.T) {
	e := &RemoteError{Text: "harden: landlock: open /etc: permission denied", Errno: syscall.EACCES}
	assert.Equal(t, "harden: landlock: open /etc: permission denied", e.Error())
	assert.Equal(t, "no errno", (&RemoteError{Text: "no errno"}).Error())
	assert.NoError(t, (&RemoteError{Text: "x"}).Unwrap())
}

func TestNotJoinedOutsideChild(t *testing.T) {
	assert.True(t, Available())
	assert.False(t, Joined(), "only a nucleus grandchild may report a join")
}
