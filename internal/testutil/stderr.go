package testutil

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CaptureStderr runs f with this process's fd 2 redirected to a pipe and
// returns what was written there meanwhile (and within linger after f
// returns, for late writers such as a library's background goroutine).
// nucleus promises never to write to the caller's stderr, neither itself
// nor through a dependency's global logger: this is how tests check it.
// Nothing else may depend on fd 2 while f runs.
func CaptureStderr(t testing.TB, linger time.Duration, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	func() {
		defer func() {
			if err := syscall.Dup3(saved, 2, 0); err != nil {
				t.Fatal(err)
			}
			syscall.Close(saved)
		}()
		f()
		time.Sleep(linger)
	}()
	_ = r.SetReadDeadline(time.Now().Add(time.Second))
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String()
}
