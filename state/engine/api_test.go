package engine

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawServer answers every connection on a fresh UNIX socket with answer,
// after reading the request's head, and hands the request lines to got.
func rawServer(t *testing.T, answer string) (socket string, got chan []string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got = make(chan []string, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			var head []string
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
				head = append(head, strings.TrimRight(line, "\r\n"))
			}
			got <- head
			_, _ = c.Write([]byte(answer))
			c.Close()
		}
	}()
	return socket, got
}

// The request is an HTTP/1.0 GET of the path; a body delimited by
// Content-Length or by the close is decoded.
func TestRESTClientGet(t *testing.T) {
	for name, answer := range map[string]string{
		"content-length": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"Id\":\"abc\"}\n",
		"until-close":    "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Id\":\"abc\"}",
	} {
		t.Run(name, func(t *testing.T) {
			socket, got := rawServer(t, answer)
			c, err := newRESTClient("unix://" + socket)
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				ID string `json:"Id"`
			}
			if err := c.get(context.Background(), "/containers/abc/json?all=1", &v); err != nil {
				t.Fatal(err)
			}
			if v.ID != "abc" {
				t.Fatalf("decoded %+v, want Id abc", v)
			}
			if head := <-got; len(head) == 0 || head[0] != "GET /containers/abc/json?all=1 HTTP/1.0" {
				t.Fatalf("request head %q", head)
			}
		})
	}
}

// Go's own HTTP server, which dockerd and Podman's API service are built
// on, answers an HTTP/1.0 request with a body it can delimit without
// chunking, also one it streams without a length.
func TestRESTClientAgainstNetHTTPServer(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"No such container: missing"}`))
			return
		}
		// Flushed in pieces: over HTTP/1.1 this would be chunked.
		_, _ = w.Write([]byte(`{"Id":"`))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(big + `"}`))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	c, err := newRESTClient(socket)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ID string `json:"Id"`
	}
	if err := c.get(context.Background(), "/streamed", &v); err != nil {
		t.Fatal(err)
	}
	if v.ID != big {
		t.Fatalf("decoded an Id of %d bytes, want %d", len(v.ID), len(big))
	}
	err = c.get(context.Background(), "/missing", &v)
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: No such container: missing") {
		t.Fatalf("GET /missing: %v, want the status and the engine's message", err)
	}
}

// What the client refuses, each with an error that says why.
func TestRESTClientRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ answer, path, want string }{
		"chunked":        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "/x", `Transfer-Encoding "chunked"`},
		"not HTTP":       {"SSH-2.0-OpenSSH\r\n\r\n", "/x", "not HTTP/1.x"},
		"too long":       {"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n{}", "/x", "larger than"},
		"short body":     {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "/x", "unexpected EOF"},
		"bad length":     {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "/x", "Content-Length"},
		"not JSON":       {"HTTP/1.1 200 OK\r\n\r\n<html>", "/x", "invalid character"},
		"long line":      {"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 8192) + "\r\n\r\n{}", "/x", "header line longer than"},
		"long header":    {"HTTP/1.1 200 OK\r\n" + strings.Repeat("X: "+strings.Repeat("a", 1000)+"\r\n", 70) + "\r\n{}", "/x", "header longer than"},
		"two lengths":    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "/x", "Content-Length"},
		"no colon":       {"HTTP/1.1 200 OK\r\nbogus\r\n\r\n{}", "/x", "no colon"},
		"request target": {"", "/x HTTP/1.0\r\nX: y", "request target"},
		"relative":       {"", "x", "request target"},
	} {
		t.Run(name, func(t *testing.T) {
			socket, _ := rawServer(t, tc.answer)
			c, _ := newRESTClient(socket)
			var v map[string]any
			err := c.get(context.Background(), tc.path, &v)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "GET "+tc.path) {
				t.Fatalf("get: %v, want an error naming the request and %q", err, tc.want)
			}
		})
	}
}

// A Docker container ID goes into the request path unescaped: only
// hexadecimal is accepted.
func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"0123abcdef": true, "": false, "../x": false, "a?b": false, "ABC": false, "a b": false} {
		if got := validID(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}

// No socket, or nobody listening on it, is an absent engine; a server that
// never answers is ended by the caller's context.
func TestRESTClientAbsentAndCancelled(t *testing.T) {
	dir := t.TempDir()
	c, _ := newRESTClient(filepath.Join(dir, "none.sock"))
	if err := c.get(context.Background(), "/x", new(any)); !errors.Is(err, errAbsent) {
		t.Fatalf("no socket: %v, want errAbsent", err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "dead.sock"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	c, _ = newRESTClient(filepath.Join(dir, "dead.sock"))
	if err := c.get(context.Background(), "/x", new(any)); !errors.Is(err, errAbsent) {
		t.Fatalf("nobody listening: %v, want errAbsent", err)
	}

	silent := filepath.Join(dir, "silent.sock")
	sl, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c, _ = newRESTClient(silent)
	start := time.Now()
	err = c.get(ctx, "/x", new(any))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent server: %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("silent server: returned after %v", d)
	}
}
