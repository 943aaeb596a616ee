package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultMaxHeaderBytes caps the status line and headers of an HTTP probe's
// response: 16 KiB, twice nginx's default request-header buffer. Go's
// http.Transport allows 10 MiB, which a hostile container answering with
// endless headers turns into tens of megabytes per probe in the prober.
const DefaultMaxHeaderBytes = 16 << 10

// MaxRedirects bounds the same-host redirects an HTTP probe follows; the
// next one is a Failure. It is kubelet's (and Go's client's) limit.
const MaxRedirects = 10

// maxInformational bounds the 1xx responses skipped before the final one.
const maxInformational = 5

// errHeaderCap reports a response whose header did not fit the cap.
var errHeaderCap = errors.New("response header too large")

// exchange is one HTTP probe: the request, then any same-host redirects,
// each on a fresh connection from dial. It does not use http.Transport or
// http.Client: the transport keeps a 10 MiB header limit and logs
// "Unsolicited response received on idle HTTP channel" through the global
// log package, to the caller's stderr, which this package never writes to.
// One request, one response read with http.ReadResponse from a bounded
// reader, and the connection closed is all a probe needs.
type exchange struct {
	maxHeader int
	maxBody   int
	// dial connects to addr ("host:port") inside the target's network
	// namespace.
	dial func(ctx context.Context, addr string) (net.Conn, error)
}

// do runs the exchange for req and sorts the outcome like kubelet: 2xx and
// 3xx are Success (a 3xx not followed carries a Warning), other statuses
// Failure "HTTP <code>", a connection or protocol error Failure with its
// text. A non-nil error (cancellation, no way into the namespace) means the
// probe could not run.
func (x *exchange) do(ctx context.Context, req *http.Request) (Result, error) {
	first := req.URL
	for hops := 0; ; hops++ {
		resp, body, err := x.roundTrip(ctx, req)
		if err != nil {
			return x.failure(ctx, err)
		}
		code := resp.StatusCode
		switch {
		case code < 200 || code >= 400:
			return Result{Status: Failure, Output: body, Reason: "HTTP " + strconv.Itoa(code)}, nil
		case code < 300:
			return Result{Status: Success, Output: body}, nil
		}
		loc, err := resp.Location()
		if err != nil {
			// A 3xx without a usable Location is the answer itself.
			return Result{Status: Success, Output: body, Warning: "HTTP " + strconv.Itoa(code) + " without a usable Location; not followed"}, nil
		}
		// Kubelet's rule: redirects to the same host name are followed,
		// others are not, and the 3xx is a success with a warning.
		if loc.Hostname() != first.Hostname() || (loc.Scheme != "http" && loc.Scheme != "https") {
			return Result{Status: Success, Output: body,
				Warning: "probe terminated redirects: HTTP " + strconv.Itoa(code) + " to " + loc.Redacted() + " leaves " + first.Hostname()}, nil
		}
		if hops >= MaxRedirects {
			return Result{Status: Failure, Output: body, Reason: "stopped after " + strconv.Itoa(MaxRedirects) + " redirects"}, nil
		}
		req = redirected(req, loc)
	}
}

// failure sorts an error of roundTrip (see do).
func (x *exchange) failure(ctx context.Context, err error) (Result, error) {
	var setup *setupError
	switch {
	case errors.As(err, &setup):
		return Result{}, setup.err
	case errors.Is(ctx.Err(), context.Canceled):
		return Result{}, fmt.Errorf("probe: http: %w", ctx.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return Result{Status: Failure, Reason: "timeout: " + err.Error()}, nil
	case errors.Is(err, errHeaderCap):
		return Result{Status: Failure, Reason: fmt.Sprintf("%v: more than %d bytes (the probe's header cap)", err, x.maxHeader)}, nil
	}
	return Result{Status: Failure, Reason: err.Error()}, nil
}

// setupError wraps a failure to get a socket in the target's namespace, which
// is not the container's answer (Unknown).
type setupError struct{ err error }

func (e *setupError) Error() string { return e.err.Error() }

// redirected is the request that follows req to loc: same method (GET),
// same headers; the Host header given by the probe is kept only when the
// redirect stays on the same authority.
func redirected(req *http.Request, loc *url.URL) *http.Request {
	next := req.Clone(req.Context())
	next.URL = loc
	if loc.Host != req.URL.Host {
		next.Host = ""
	}
	return next
}

// roundTrip sends req on a fresh connection and reads one final response,
// with its body capped at maxBody. The connection is closed on return.
func (x *exchange) roundTrip(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	conn, err := x.dial(ctx, dialAddr(req.URL))
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	// A cancellation without a deadline unblocks reads and writes too.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if req.URL.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{
			InsecureSkipVerify: true, // kubelet does not verify either
			ServerName:         req.URL.Hostname(),
		})
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	req.Close = true // "Connection: close": one request per connection
	if err := req.Write(conn); err != nil {
		return nil, nil, fmt.Errorf("writing request: %w", err)
	}
	lr := &io.LimitedReader{R: conn, N: int64(x.maxHeader)}
	br := bufio.NewReaderSize(lr, 4096)
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = http.ReadResponse(br, req)
		if err != nil {
			if lr.N <= 0 {
				return nil, nil, errHeaderCap
			}
			return nil, nil, fmt.Errorf("reading response: %w", err)
		}
		// Skip informational answers (100 Continue, 103 Early Hints) as
		// a client does; 101 would switch protocols and is final.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols || i >= maxInformational {
			break
		}
	}
	// The header fitted; the body is bounded by maxBody below and by the
	// deadline, not by the header cap.
	lr.N = math.MaxInt64
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(x.maxBody)))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return nil, nil, fmt.Errorf("reading body: %w", err)
	}
	return resp, body, nil
}

// dialAddr is host:port of u, with the scheme's default port when u has
// none (a redirect to "http://127.0.0.1/x").
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
