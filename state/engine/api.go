package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxAPIResponse bounds the body of one answer of the Docker or Podman
// API, maxAPIHeader its status line and header fields.
const (
	maxAPIResponse = 16 << 20
	maxAPIHeader   = 64 << 10
)

// apiTimeout bounds one request, dial to last byte.
const apiTimeout = 10 * time.Second

// restClient talks to the Docker Engine API, or Podman's (which serves the
// same API and its own libpod one), over a UNIX socket: a few documented
// GET requests with JSON answers.
//
// It speaks HTTP/1.0 over one connection per request. A server must not
// answer an HTTP/1.0 request with a chunked body (RFC 9112 §6.1): the body
// is Content-Length bytes, or everything up to the close, so the client
// needs to read no more of HTTP than a status line and two header fields.
// net/http would do the same job but links crypto/tls, crypto/x509 and
// HTTP/2, and package net (with net/url and net/textproto) the resolver:
// their package initialisation and page faults cost every process that
// links engine ≈ 0.5 ms and ≈ 0.1 ms at start — nsattach among them, on
// every attach, whether it names a container or not. The official client
// (github.com/moby/moby/client v0.6.2) adds 5.1 MB and 78 third-party
// packages, OpenTelemetry among them, for these three calls.
type restClient struct {
	socket string
}

// newRESTClient parses a unix:// address (or a bare socket path).
func newRESTClient(addr string) (*restClient, error) {
	path := addr
	if scheme, rest, ok := strings.Cut(addr, "://"); ok {
		if scheme != "unix" {
			return nil, fmt.Errorf("address %q: only unix:// sockets are supported (TLS over TCP is not)", addr)
		}
		path = rest
	}
	if path == "" || !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("address %q: not an absolute socket path", addr)
	}
	return &restClient{socket: path}, nil
}

// present reports errAbsent when the socket does not exist or nobody
// listens on it.
func (c *restClient) present() error {
	if _, err := os.Stat(c.socket); errors.Is(err, fs.ErrNotExist) {
		return errAbsent
	}
	return nil
}

// get decodes the JSON answer to GET path into v.
func (c *restClient) get(ctx context.Context, path string, v any) error {
	status, body, err := c.do(ctx, path)
	if err != nil {
		if errors.Is(err, errAbsent) {
			return err
		}
		return fmt.Errorf("GET %s on %s: %w", path, c.socket, err)
	}
	if status.code != 200 {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m)
		return fmt.Errorf("GET %s on %s: %s: %s", path, c.socket, status, m.Message)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s on %s: %w", path, c.socket, err)
	}
	return nil
}

// statusLine is the first line of an answer.
type statusLine struct {
	code   int
	reason string
}

func (s statusLine) String() string { return strconv.Itoa(s.code) + " " + s.reason }

// do sends one request and reads its whole answer.
func (c *restClient) do(ctx context.Context, path string) (statusLine, []byte, error) {
	if !validRequestTarget(path) {
		return statusLine{}, nil, fmt.Errorf("request target %q: not an absolute path of printable characters", path)
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	conn, err := dialUnix(ctx, c.socket)
	if err != nil {
		return statusLine{}, nil, err
	}
	defer conn.Close()
	// The deadline ends a slow answer; cancelling ctx ends it at once.
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.0\r\nHost: engine\r\nUser-Agent: nucleus\r\nAccept: application/json\r\n\r\n"); err != nil {
		return statusLine{}, nil, ctxErr(ctx, err)
	}
	// No more than the header's bound and the body's are read.
	br := bufio.NewReader(io.LimitReader(conn, maxAPIHeader+maxAPIResponse+1))
	st, length, err := readHead(br)
	if err != nil {
		return st, nil, ctxErr(ctx, err)
	}
	var body []byte
	if length >= 0 {
		if length > maxAPIResponse {
			return st, nil, fmt.Errorf("answer of %d bytes, larger than %d", length, maxAPIResponse)
		}
		body = make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return st, nil, ctxErr(ctx, fmt.Errorf("body: %w", err))
		}
		return st, body, nil
	}
	if body, err = io.ReadAll(io.LimitReader(br, maxAPIResponse+1)); err != nil {
		return st, nil, ctxErr(ctx, fmt.Errorf("body: %w", err))
	}
	if len(body) > maxAPIResponse {
		return st, nil, fmt.Errorf("answer larger than %d bytes", maxAPIResponse)
	}
	return st, body, nil
}

// dialUnix connects to a UNIX stream socket, returning errAbsent when it
// does not exist or nobody listens on it. The socket is non-blocking, so
// the returned file sits in the runtime's poller and honours deadlines.
// A listener whose backlog is full makes connect fail with EAGAIN
// (unix(7)): retried until ctx ends.
func dialUnix(ctx context.Context, path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EAGAIN && err != unix.EINTR {
			break
		}
		select {
		case <-ctx.Done():
			unix.Close(fd)
			return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
		case <-time.After(time.Millisecond):
		}
	}
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
			return nil, errAbsent
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// readHead reads "HTTP/1.x CODE REASON" and the header fields, and returns
// the status and the body's Content-Length, -1 when the body runs to the
// close. A chunked or otherwise encoded body is refused: no server may send
// one to an HTTP/1.0 request.
func readHead(br *bufio.Reader) (statusLine, int64, error) {
	read := 0
	line := func() (string, error) {
		b, err := br.ReadSlice('\n')
		read += len(b)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return "", fmt.Errorf("header line longer than %d bytes", br.Size())
		case err != nil:
			return "", err
		case read > maxAPIHeader:
			return "", fmt.Errorf("status line and header longer than %d bytes", maxAPIHeader)
		}
		return string(bytes.TrimRight(b, "\r\n")), nil
	}
	first, err := line()
	if err != nil {
		return statusLine{}, 0, fmt.Errorf("status line: %w", err)
	}
	proto, rest, _ := strings.Cut(first, " ")
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if (proto != "HTTP/1.0" && proto != "HTTP/1.1") || len(code) != 3 || err != nil {
		return statusLine{}, 0, fmt.Errorf("status line %q: not HTTP/1.x", first)
	}
	st := statusLine{code: n, reason: reason}
	length := int64(-1)
	for {
		l, err := line()
		if err != nil {
			return st, 0, fmt.Errorf("header: %w", err)
		}
		if l == "" {
			return st, length, nil
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return st, 0, fmt.Errorf("header line %q: no colon", l)
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Transfer-Encoding") && !strings.EqualFold(value, "identity"):
			return st, 0, fmt.Errorf("answer with Transfer-Encoding %q to an HTTP/1.0 request", value)
		case strings.EqualFold(name, "Content-Length"):
			v, err := strconv.ParseInt(value, 10, 64)
			if err != nil || v < 0 || (length >= 0 && v != length) {
				return st, 0, fmt.Errorf("Content-Length %q", value)
			}
			length = v
		}
	}
}

// validRequestTarget accepts an absolute path (with a query) of printable
// ASCII without spaces: nothing that could end the request line early.
func validRequestTarget(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ctxErr names the context's end as the cause when it ended the exchange.
// The connection's deadline is the context's: a read can time out a
// moment before the context's own timer fires, so a timeout past the
// deadline waits for it.
func ctxErr(ctx context.Context, err error) error {
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		<-ctx.Done()
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
