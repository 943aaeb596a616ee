package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"nucleus/internal/netns"
	"nucleus/state"
)

// UserAgent is the User-Agent header of HTTP probes unless the probe's
// Header sets one (kubelet sends "kube-probe/<version>").
const UserAgent = "nucleus-probe/1.0"

// defaultHost is where TCP and HTTP probes connect when Host is empty: the
// loopback address of the container's own network namespace.
const defaultHost = "127.0.0.1"

// TCP succeeds when a TCP connection to Host:Port can be established from
// inside the container's network namespace. The connection is closed at
// once, without sending anything.
type TCP struct {
	// Port is the TCP port, 1–65535.
	Port int
	// Host is an IP address as seen inside the container; empty means
	// 127.0.0.1. Host names other than "localhost" are refused. For a
	// gVisor sandbox with its own network stack it must be the sandbox's
	// IP, dialled from the caller's network namespace (see Run).
	Host string
}

// Kind returns "tcp".
func (TCP) Kind() string { return "tcp" }

func (p TCP) run(ctx context.Context, st *state.ContainerState, c *config) (Result, error) {
	addr, err := hostPort(p.Host, p.Port)
	if err != nil {
		return Result{}, fmt.Errorf("probe: tcp: %w", err)
	}
	h, release, err := c.dialNamespace(ctx, st, p.Host)
	if err != nil {
		return Result{}, fmt.Errorf("probe: tcp: %w", err)
	}
	defer release()
	if err := h.Connect(ctx, "tcp", addr); err != nil {
		return dialFailure(ctx, err)
	}
	return Result{Status: Success}, nil
}

// dialFailure sorts a dial error: a refused, unreachable or timed-out
// connection is the container's answer (Failure, with the error's text as
// Reason, as kubelet reports it); not being able to get into the namespace,
// or a cancelled context, is not (Unknown).
func dialFailure(ctx context.Context, err error) (Result, error) {
	var op *net.OpError
	if !errors.As(err, &op) {
		return Result{}, fmt.Errorf("probe: %w", err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return Result{}, fmt.Errorf("probe: %w", ctx.Err())
	}
	return Result{Status: Failure, Reason: err.Error()}, nil
}

// namespace returns a handle on st's network namespace: the one a Monitor
// keeps for this target when it matches, else a new one that release
// closes.
func (c *config) namespace(st *state.ContainerState) (h *netns.Handle, release func(), err error) {
	if c.handle != nil && c.handle.PID() == st.PID {
		return c.handle, func() {}, nil
	}
	h, err = netns.Open(st.PID, st.StartTicks)
	if err != nil {
		return nil, nil, err
	}
	return h, func() { h.Close() }, nil
}

func hostPort(host string, port int) (string, error) {
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("invalid port %d", port)
	}
	if host == "" {
		host = defaultHost
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// HTTP succeeds when GET Scheme://Host:Port/Path, sent from inside the
// container's network namespace, answers with a 2xx or 3xx status.
// Redirects follow kubelet's rule: one to the same host name is followed
// (at most MaxRedirects, each on a new connection in the same namespace);
// one to another host is not, and the 3xx is a Success with a Warning. TLS
// certificates are not verified, as kubelet does not verify them. Every
// request uses a fresh connection, closed afterwards, and the response
// header is capped (WithMaxHeaderBytes, default 16 KiB).
type HTTP struct {
	// Port is the TCP port, 1–65535.
	Port int
	// Path is the request path with an optional query; empty means "/".
	Path string
	// Host is an IP address as seen inside the container; empty means
	// 127.0.0.1. It is where the probe connects; to send another Host
	// header, set it in Header. For a gVisor sandbox with its own network
	// stack it must be the sandbox's IP (see TCP.Host).
	Host string
	// Scheme is "http" (default) or "https".
	Scheme string
	// Header is added to the request. A "Host" entry sets the request's
	// Host; a "User-Agent" entry replaces UserAgent.
	Header http.Header
}

// Kind returns "http".
func (HTTP) Kind() string { return "http" }

func (p HTTP) request(ctx context.Context) (*http.Request, error) {
	addr, err := hostPort(p.Host, p.Port)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(p.Scheme)
	switch scheme {
	case "":
		scheme = "http"
	case "http", "https":
	default:
		return nil, fmt.Errorf("unsupported scheme %q", p.Scheme)
	}
	path := p.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", p.Path, err)
	}
	u.Scheme, u.Host = scheme, addr
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range p.Header {
		if http.CanonicalHeaderKey(k) == "Host" {
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", UserAgent)
	}
	if _, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	}
	return req, nil
}

func (p HTTP) run(ctx context.Context, st *state.ContainerState, c *config) (Result, error) {
	req, err := p.request(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("probe: http: %w", err)
	}
	// The namespace is looked up before the request, so a failure to get
	// into it is Unknown, apart from the container's answer (Failure).
	h, release, err := c.dialNamespace(ctx, st, p.Host)
	if err != nil {
		return Result{}, fmt.Errorf("probe: http: %w", err)
	}
	defer release()
	x := &exchange{maxHeader: c.maxHeader, maxBody: c.maxOutput, dial: func(ctx context.Context, addr string) (net.Conn, error) {
		conn, err := h.Dial(ctx, "tcp", addr)
		if err != nil {
			if _, ferr := dialFailure(ctx, err); ferr != nil {
				return nil, &setupError{err: ferr}
			}
		}
		return conn, err
	}}
	return x.do(ctx, req)
}
