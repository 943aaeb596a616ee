package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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
	version = 4

	// FlagTTY asks the grandchild to make fd 0 its controlling terminal.
	FlagTTY = 1
	// FlagHostBinary says FdHostBinary holds the executable to run.
	FlagHostBinary = 2

	// MsgPID carries the grandchild's PID (in the parent's PID namespace),
	// with a pidfd for it (SCM_RIGHTS) the clone made before the
	// grandchild ran: ReadMessageFD.
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

// ReadMessageFD reads one message from the bootstrap socket and the one
// file descriptor that may come with it (SCM_RIGHTS, received
// close-on-exec), -1 when none did. More than one descriptor, or a
// truncated control message, is an error (every descriptor received is
// closed first). It honours sock's deadlines.
func ReadMessageFD(sock *os.File) (Message, int, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return Message{}, -1, err
	}
	b := make([]byte, MessageSize)
	oob := make([]byte, unix.CmsgSpace(2*4)) // room for a second fd, to refuse it
	got, fd := 0, -1
	fail := func(err error) (Message, int, error) {
		if fd >= 0 {
			unix.Close(fd)
		}
		return Message{}, -1, err
	}
	for got < MessageSize {
		var n, oobn, flags int
		var rerr error
		if err := rc.Read(func(s uintptr) bool {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(s), b[got:], oob, unix.MSG_CMSG_CLOEXEC)
			return rerr != unix.EAGAIN
		}); err != nil {
			return fail(err)
		}
		if rerr != nil {
			return fail(rerr)
		}
		if oobn > 0 {
			fds, err := unixRights(oob[:oobn])
			if fd >= 0 || len(fds) > 1 || err != nil || flags&unix.MSG_CTRUNC != 0 {
				for _, f := range fds {
					unix.Close(f)
				}
				return fail(fmt.Errorf("message with unexpected file descriptors (%d, truncated %v): %v", len(fds), flags&unix.MSG_CTRUNC != 0, err))
			}
			if len(fds) == 1 {
				fd = fds[0]
			}
		}
		if n == 0 {
			if got == 0 {
				return fail(io.EOF)
			}
			return fail(fmt.Errorf("short message: %w", io.ErrUnexpectedEOF))
		}
		got += n
	}
	return parseMessage(b), fd, nil
}

// unixRights returns the descriptors of every SCM_RIGHTS message in oob.
func unixRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, f...)
	}
	return fds, nil
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
	return parseMessage(b), nil
}

// parseMessage decodes one message of MessageSize bytes.
func parseMessage(b []byte) Message {
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
	}
}
