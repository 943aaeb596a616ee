package launch

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// drainTime bounds how long Wait keeps copying output after the command
// exited, when something it started in the background still holds the
// pipes (containerd has the same bound for the same reason).
const drainTime = time.Second

// devNull is opened once per process and shared read-write by every child
// whose stdio is nil.
var devNull struct {
	once sync.Once
	f    *os.File
	err  error
}

func openDevNull() (*os.File, error) {
	devNull.once.Do(func() {
		devNull.f, devNull.err = os.OpenFile(os.DevNull, os.O_RDWR, 0)
	})
	return devNull.f, devNull.err
}

// stdio is the plumbing between the caller's readers and writers and the
// command's fds 0, 1 and 2.
type stdio struct {
	child      [3]*os.File // handed to the child
	closeChild []*os.File  // our copies of the child's pipe ends
	console    *os.File    // TTY master, when asked for
	readers    []*os.File  // our read ends of output pipes (and the console)
	writers    []*os.File  // our write end of the stdin pipe (and the console)
	copies     sync.WaitGroup
	startFns   []func() // copy goroutines, started once the command runs
	outWriter  io.Writer

	inheritTerminal bool // hand terminal *os.Files to the child as they are
}

func newStdio(r *Request) (*stdio, error) {
	s := &stdio{}
	if r.TTY {
		if err := s.openConsole(r); err != nil {
			s.abort()
			return nil, err
		}
		return s, nil
	}
	s.inheritTerminal = r.InheritTerminal
	if err := s.input(0, r.Stdin); err != nil {
		s.abort()
		return nil, err
	}
	for i, w := range []io.Writer{r.Stdout, r.Stderr} {
		if err := s.output(i+1, w); err != nil {
			s.abort()
			return nil, err
		}
	}
	return s, nil
}

func (s *stdio) input(fd int, r io.Reader) error {
	if r == nil {
		null, err := openDevNull()
		s.child[fd] = null
		return err
	}
	if f, ok := s.passAsIs(r); ok {
		s.child[fd] = f
		return nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	s.child[fd] = pr
	s.closeChild = append(s.closeChild, pr)
	s.writers = append(s.writers, pw)
	s.startFns = append(s.startFns, func() {
		// Not waited for: a reader that never returns (a terminal) must
		// not hold up Wait. Closing pw after the exit ends it at the
		// next write.
		go func() {
			_, _ = io.Copy(pw, r)
			pw.Close()
		}()
	})
	return nil
}

func (s *stdio) output(fd int, w io.Writer) error {
	if w == nil {
		null, err := openDevNull()
		s.child[fd] = null
		return err
	}
	if f, ok := s.passAsIs(w); ok {
		s.child[fd] = f
		return nil
	}
	// Stdout and stderr to the same writer share one pipe, as os/exec
	// does, so their order is kept.
	if fd == 2 && s.child[1] != nil && len(s.readers) > 0 && sameWriter(s.outWriter, w) {
		s.child[2] = s.child[1]
		return nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("output pipe: %w", err)
	}
	s.child[fd] = pw
	s.closeChild = append(s.closeChild, pw)
	s.readers = append(s.readers, pr)
	if fd == 1 {
		s.outWriter = w
	}
	s.copies.Add(1)
	s.startFns = append(s.startFns, func() {
		go func() {
			defer s.copies.Done()
			_, _ = io.Copy(w, pr)
		}()
	})
	return nil
}

// passAsIs reports whether v is an *os.File to hand to the command as it
// is: any file but a terminal, which goes through a pipe unless the request
// asked to inherit it. The command's fds are reachable from the container
// (/proc/<command>/fd/N, for a process with CAP_SYS_ADMIN or the command's
// uid), and a terminal fd there is the caller's keyboard: TIOCSTI injects
// input into the caller's shell (where dev.tty.legacy_tiocsti allows it),
// reads steal what the user types, TCSETS changes the terminal's modes.
// A pipe carries the bytes and nothing else.
func (s *stdio) passAsIs(v any) (*os.File, bool) {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return nil, false
	}
	if !s.inheritTerminal && isTerminal(f) {
		return nil, false
	}
	return f, true
}

// isTerminal reports whether f is a terminal (either side of a pty, a
// console, a serial line): TCGETS succeeds on exactly those.
// SyscallConn rather than Fd: Fd would switch a non-blocking file to
// blocking mode.
func isTerminal(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var terr error
	if err := rc.Control(func(fd uintptr) { _, terr = unix.IoctlGetTermios(int(fd), unix.TCGETS) }); err != nil {
		return false
	}
	return terr == nil
}

func sameWriter(a, b io.Writer) (same bool) {
	defer func() { _ = recover() }() // uncomparable dynamic types
	return a == b
}

// openConsole allocates a pseudo-terminal: the slave becomes the command's
// fds 0, 1 and 2 (and, in the grandchild, its controlling terminal); the
// master stays with the caller. TIOCGPTPEER opens the slave through the
// master, so no path under /dev/pts is looked up.
func (s *stdio) openConsole(r *Request) error {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tty: open /dev/ptmx: %w", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return fmt.Errorf("tty: unlockpt: %w", err)
	}
	// The ioctl's argument is the slave's open flags.
	r1, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	sfd := int(r1)
	if errno != 0 {
		err = errno
		master.Close()
		return fmt.Errorf("tty: TIOCGPTPEER: %w", err)
	}
	slave := os.NewFile(uintptr(sfd), "pty-slave")
	s.console = master
	s.child = [3]*os.File{slave, slave, slave}
	s.closeChild = append(s.closeChild, slave)
	if r.Stdin != nil {
		in := r.Stdin
		s.startFns = append(s.startFns, func() {
			go func() { _, _ = io.Copy(master, in) }()
		})
	}
	if r.Stdout != nil {
		out := r.Stdout
		s.copies.Add(1)
		s.startFns = append(s.startFns, func() {
			go func() {
				defer s.copies.Done()
				// Ends with EIO once every slave fd is closed.
				_, _ = io.Copy(out, master)
			}()
		})
	}
	return nil
}

func (s *stdio) childFiles() []*os.File { return s.child[:] }

// closeChildEnds closes our copies of the ends handed to the child, so that
// the readers see EOF when the command and its descendants are done.
func (s *stdio) closeChildEnds() {
	for _, f := range s.closeChild {
		f.Close()
	}
	s.closeChild = nil
}

// started starts the copy goroutines.
func (s *stdio) started() {
	for _, fn := range s.startFns {
		fn()
	}
	s.startFns = nil
}

// finish waits for the output copies, at most drainTime, then closes
// everything of ours.
func (s *stdio) finish() {
	for _, w := range s.writers {
		w.Close()
	}
	done := make(chan struct{})
	go func() { s.copies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainTime):
		for _, r := range s.readers {
			r.Close() // unblocks the copies
		}
		if s.console != nil {
			s.console.Close()
		}
		<-done
	}
	s.release()
}

// abort releases everything of a command that did not start.
func (s *stdio) abort() {
	s.closeChildEnds()
	s.startFns = nil
	s.release()
}

func (s *stdio) release() {
	for _, f := range s.readers {
		f.Close()
	}
	for _, f := range s.writers {
		f.Close()
	}
	if s.console != nil {
		s.console.Close()
	}
}
