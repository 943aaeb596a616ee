package testutil

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenPTY opens a new pseudo-terminal through /dev/ptmx and returns its
// master and slave, both closed at cleanup: a real terminal for tests that
// check what a command inherits from a caller sitting at one.
func OpenPTY(t testing.TB) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("TIOCGPTN: %v", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// StdioProbe is a sh script that prints, for each of its fds 0, 1 and 2,
// "fdN=<what /proc links it to>" and "ttyN" or "nottyN": what a command run
// in a container was given as stdio, seen from inside.
const StdioProbe = `for f in 0 1 2; do echo "fd$f=$(readlink /proc/$$/fd/$f)"; test -t $f && echo "tty$f" || echo "notty$f"; done`
