package proc

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// maxFileSize bounds what ReadFile reads: /proc and cgroup files are small
// (mountinfo, the largest nucleus reads, is ~150 bytes a mount), and a
// bound keeps a hostile or broken file from growing the caller's heap.
const maxFileSize = 4 << 20

// ReadFile reads a /proc or cgroup file whole, as os.ReadFile does (its
// errors are *fs.PathError, so errors.Is(err, fs.ErrNotExist) and ESRCH
// hold as before), with raw system calls: open, read until EOF, close.
// os.Open costs five more per file (the fcntl and epoll_ctl probing that
// registers a file with the runtime poller, and an fstat for the size,
// which is 0 for these files anyway); one attach reads a dozen such files
// in a process that may live for that one attach. Files above 4 MiB are
// an error.
func ReadFile(path string) ([]byte, error) {
	b, err := readUpTo(path, maxFileSize+1, 0)
	if err == nil && len(b) > maxFileSize {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes", maxFileSize)}
	}
	return b, err
}

// readUpTo reads path (opened with flags added to O_RDONLY, O_CLOEXEC and
// O_NOCTTY) until EOF or limit bytes, whichever comes first, with the raw
// system calls of ReadFile. Callers that bound a file tell "too large" by
// asking for one byte more than they accept.
func readUpTo(path string, limit int, flags int) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|flags, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|flags, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b := make([]byte, 0, min(1024, limit))
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):min(cap(b), limit)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
	}
	return b, nil
}
