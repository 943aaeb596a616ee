package testutil

import (
	"net"
	"testing"
)

// FreePort is a port of 127.0.0.1 that nobody listens on now: for a server
// a test starts in a namespace that shares the caller's network (a
// host-network pod) or for a connection that must be refused.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
