package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// maxAPIResponse bounds one answer of the Docker or Podman API.
const maxAPIResponse = 16 << 20

// restClient talks to the Docker Engine API, or Podman's (which serves the
// same API and its own libpod one), over a UNIX socket: a few documented
// GET requests with typed answers. The official client
// (github.com/moby/moby/client v0.6.2) adds 5.1 MB and 78 third-party
// packages, OpenTelemetry among them, to a binary for these three calls.
type restClient struct {
	socket string
	http   *http.Client
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
	c := &restClient{socket: path}
	c.http = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
			DisableKeepAlives: false,
			MaxIdleConns:      1,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://engine"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
			return errAbsent
		}
		return fmt.Errorf("GET %s on %s: %w", path, c.socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse+1))
	if err != nil {
		return fmt.Errorf("GET %s on %s: %w", path, c.socket, err)
	}
	if len(body) > maxAPIResponse {
		return fmt.Errorf("GET %s on %s: answer larger than %d bytes", path, c.socket, maxAPIResponse)
	}
	if resp.StatusCode != http.StatusOK {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m)
		return fmt.Errorf("GET %s on %s: %s: %s", path, c.socket, resp.Status, m.Message)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s on %s: %w", path, c.socket, err)
	}
	return nil
}

// close drops idle connections.
func (c *restClient) close() { c.http.CloseIdleConnections() }
