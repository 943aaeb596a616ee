package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// The constants below mirror nsenter.h; TestWireMatchesHeader keeps them in
// step.
const (
	// Env is the environment variable whose presence makes the constructor
	// act. The parent sets it for the child only; the child never passes it on.
	Env = "_NUCLEUS_BOOTSTRAP"
	// FdSocket is the bootstrap socket's fd number in the child.
	FdSocket = 3
	// FdPidfd is the target pidfd's fd number in the child.
	FdPidfd = 4
	// FdHostBinary is, with FlagHostBinary, a host executable the parent
	// opened before any join; the grandchild executes it by fd. Without
	// the flag the constructor closes the slot.
	FdHostBinary = 5
	// FdCgroup is the first of Request.Cgroups cgroup v1 "tasks" files,
	// opened for writing by the parent, that the child moves itself into
	// before it joins any namespace.
	FdCgroup = 6
	// MaxCgroups bounds Request.Cgroups.
	MaxCgroups = 64
	// Go is the byte the parent sends to let the grandchild start Go.
	Go = 'G'

	magic   = 0x4e55434c
	version = 3

	// FlagTTY asks the grandchild to make fd 0 its controlling terminal.
	FlagTTY = 1
	// FlagHostBinary says FdHostBinary holds the executable to run.
	FlagHostBinary = 2

	// MsgPID carries the grandchild's PID (in the parent's PID namespace).
	MsgPID = 1
	// MsgError carries a failed step and its errno.
	MsgError = 2
	// MsgExecError says the command could not be executed: Text is the
	// command, Value the errno. Only the Go side of the grandchild sends
	// it, so that the parent can tell "the command never ran" from a
	// failed setup step.
	MsgExecError = 3

	// MessageSize is the size of one Message on the wire.
	MessageSize = 256
)

// Request is what the parent sends first: the namespaces to join, as a mask
// of CLONE_NEW* flags, FlagTTY, and the number of cgroup v1 "tasks" files
// passed from FdCgroup on.
type Request struct {
	NSFlags uint32
	Flags   uint32
	Cgroups uint32
}

// RequestSize is the size of a Request on the wire.
const RequestSize = 20

// MarshalBinary encodes r in the constructor's struct layout.
func (r Request) MarshalBinary() ([]byte, error) {
	if r.Cgroups > MaxCgroups {
		return nil, fmt.Errorf("%d cgroup files, at most %d", r.Cgroups, MaxCgroups)
	}
	return r.AppendBinary(make([]byte, 0, RequestSize))
}

// AppendBinary appends r in the constructor's struct layout to b.
func (r Request) AppendBinary(b []byte) ([]byte, error) {
	if r.Cgroups > MaxCgroups {
		return nil, fmt.Errorf("%d cgroup files, at most %d", r.Cgroups, MaxCgroups)
	}
	b = binary.NativeEndian.AppendUint32(b, magic)
	b = binary.NativeEndian.AppendUint32(b, version)
	b = binary.NativeEndian.AppendUint32(b, r.NSFlags)
	b = binary.NativeEndian.AppendUint32(b, r.Flags)
	b = binary.NativeEndian.AppendUint32(b, r.Cgroups)
	return b, nil
}

// Message is what a child sends back: a PID, or a failed step with its errno.
// The Go side of the grandchild uses the same format for hardening and exec
// failures, so the parent reads one kind of message.
type Message struct {
	Type  uint32
	Value int32
	Text  string
}

// Err returns the failure a MsgError message carries, nil for any other
// message.
func (m Message) Err() error {
	if m.Type != MsgError {
		return nil
	}
	return &RemoteError{Text: m.Text, Errno: syscall.Errno(m.Value)}
}

// RemoteError is a failure reported by the child: the step (and what the
// child knew of it) as text, and the errno when there was one, so that
// errors.Is works across the process boundary (ENOENT is fs.ErrNotExist,
// EPERM is fs.ErrPermission).
type RemoteError struct {
	Text  string
	Errno syscall.Errno
}

// Error is "<step>: <errno text>", or the text alone when it already ends
// with the errno's text or there is no errno.
func (e *RemoteError) Error() string {
	if e.Errno == 0 || strings.HasSuffix(e.Text, e.Errno.Error()) {
		return e.Text
	}
	return e.Text + ": " + e.Errno.Error()
}

// Unwrap returns the errno, or nil.
func (e *RemoteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// WriteMessage sends one message.
func WriteMessage(w io.Writer, m Message) error {
	b := make([]byte, MessageSize)
	binary.NativeEndian.PutUint32(b[0:], m.Type)
	binary.NativeEndian.PutUint32(b[4:], uint32(m.Value))
	copy(b[8:MessageSize-1], m.Text)
	_, err := w.Write(b)
	return err
}

// ReadMessage reads one message. io.EOF means the peer closed the socket
// without a word: for the exec stage, that the execve succeeded.
func ReadMessage(r io.Reader) (Message, error) {
	b := make([]byte, MessageSize)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Message{}, fmt.Errorf("short message: %w", err)
		}
		return Message{}, err
	}
	text := b[8:]
	for i, c := range text {
		if c == 0 {
			text = text[:i]
			break
		}
	}
	return Message{
		Type:  binary.NativeEndian.Uint32(b[0:]),
		Value: int32(binary.NativeEndian.Uint32(b[4:])),
		Text:  string(text),
	}, nil
}
