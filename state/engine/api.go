package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxAPIResponse bounds the body of one answer of the Docker or Podman
// API; maxAPIHeader is the room for its status line and header fields on
// top of that: no more than their sum is read from the server.
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
// It speaks HTTP/1.0 over one connection per request, with net/textproto
// reading the status line and header. A server must not answer an HTTP/1.0
// request with a chunked body (RFC 9112 §6.1); the body is Content-Length
// bytes, or everything up to the close. net/http would do the same job,
// but it links crypto/tls, crypto/x509 and HTTP/2, whose package
// initialisation and page faults cost every process that links engine
// ≈ 0.35 ms at start — nsattach among them, on every attach, whether it
// names a container or not. The official client
// (github.com/moby/moby/client v0.6.2) adds 5.1 MB and 78 third-party
// packages, OpenTelemetry among them, for these three calls.
type restClient struct {
	socket string
}

// newRESTClient parses a unix:// address (or a bare socket path).
func newRESTClient(addr string) (*restClient, error) {
	path := addr
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return nil, fmt.Errorf("address %q: %w", addr, err)
		}
		if u.Scheme != "unix" {
			return nil, fmt.Errorf("address %q: only unix:// sockets are supported (TLS over TCP is not)", addr)
		}
		path = u.Path
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
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
			return statusLine{}, nil, errAbsent
		}
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
	// At most the header's bound and the body's are read from the server.
	tp := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, maxAPIHeader+maxAPIResponse+1)))
	st, hdr, err := readHead(tp)
	if err != nil {
		return statusLine{}, nil, ctxErr(ctx, err)
	}
	if te := hdr.Get("Transfer-Encoding"); te != "" && !strings.EqualFold(te, "identity") {
		return st, nil, fmt.Errorf("answer with Transfer-Encoding %q to an HTTP/1.0 request", te)
	}
	rest := tp.R
	var body []byte
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return st, nil, fmt.Errorf("Content-Length %q", cl)
		}
		if n > maxAPIResponse {
			return st, nil, fmt.Errorf("answer of %d bytes, larger than %d", n, maxAPIResponse)
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(rest, body); err != nil {
			return st, nil, ctxErr(ctx, fmt.Errorf("body: %w", err))
		}
		return st, body, nil
	}
	if body, err = io.ReadAll(io.LimitReader(rest, maxAPIResponse+1)); err != nil {
		return st, nil, ctxErr(ctx, fmt.Errorf("body: %w", err))
	}
	if len(body) > maxAPIResponse {
		return st, nil, fmt.Errorf("answer larger than %d bytes", maxAPIResponse)
	}
	return st, body, nil
}

// readHead reads "HTTP/1.x CODE REASON" and the header fields.
func readHead(tp *textproto.Reader) (statusLine, textproto.MIMEHeader, error) {
	line, err := tp.ReadLine()
	if err != nil {
		return statusLine{}, nil, fmt.Errorf("status line: %w", err)
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if (proto != "HTTP/1.0" && proto != "HTTP/1.1") || len(code) != 3 || err != nil {
		return statusLine{}, nil, fmt.Errorf("status line %q: not HTTP/1.x", line)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return statusLine{}, nil, fmt.Errorf("header: %w", err)
	}
	return statusLine{code: n, reason: reason}, hdr, nil
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
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// close releases nothing: every request has its own connection.
func (c *restClient) close() {}
