package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// ErrDynamicBinary is the refusal of a dynamically linked host binary: run
// inside the container, its program interpreter (PT_INTERP, ld.so) and
// libraries would be the container's — code the container controls, in a
// process that holds the caller's identity and the namespaces joined
// (CVE-2019-14271: docker cp loaded the container's libnss into a host
// process). Request.HostBinaryDynamic accepts one anyway.
var ErrDynamicBinary = errors.New("dynamically linked: it would load the container's ld.so and libc (CVE-2019-14271)")

// ErrNotELF is the refusal of a host binary that is not an ELF executable
// for this machine, a script (#!) in particular: its interpreter would come
// from the container's file system, and the executed file's fd, which a
// script's interpreter reads through /dev/fd/N, is closed on exec so that no
// host fd crosses into the container.
var ErrNotELF = errors.New("not an ELF executable of this machine (scripts are refused: their interpreter would be the container's)")

// openHostBinary opens path on the host, before any join, and checks it: a
// regular file with an execute bit, an ELF executable or position-
// independent executable for this machine, statically linked (no PT_INTERP)
// unless allowDynamic. The file is opened read-only and close-on-exec;
// the grandchild executes it through this fd (execveat AT_EMPTY_PATH), so
// what runs is exactly the file checked here, whatever happens to the path
// afterwards. O_NONBLOCK: a FIFO planted at the path must not block the
// open.
func openHostBinary(path string, allowDynamic bool) (*os.File, error) {
	fail := func(err error) (*os.File, error) { return nil, fmt.Errorf("host binary %q: %w", path, err) }
	if path == "" {
		return fail(errors.New("empty path"))
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return fail(fmt.Errorf("open: %w", err))
	}
	f := os.NewFile(uintptr(fd), path)
	if err := checkHostBinary(f, allowDynamic); err != nil {
		f.Close()
		return fail(err)
	}
	return f, nil
}

func checkHostBinary(f *os.File, allowDynamic bool) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("not executable (mode %v): %w", fi.Mode().Perm(), os.ErrPermission)
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read header: %w", err)
	}
	if magic[0] == '#' && magic[1] == '!' {
		return fmt.Errorf("a script: %w", ErrNotELF)
	}
	ef, err := readELF(f)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotELF, err)
	}
	if ef.typ != elfTypeExec && ef.typ != elfTypeDyn {
		return fmt.Errorf("ELF type %d (neither ET_EXEC nor ET_DYN): %w", ef.typ, ErrNotELF)
	}
	if ef.machine != elfMachine {
		return fmt.Errorf("ELF machine %d, this machine (%s) runs %d: %w", ef.machine, runtime.GOARCH, elfMachine, ErrNotELF)
	}
	if ef.hasInterp && !allowDynamic {
		interp := make([]byte, min(ef.interpN, 256))
		n, _ := f.ReadAt(interp, int64(ef.interpOff))
		interp = interp[:n]
		for i, c := range interp {
			if c == 0 {
				interp = interp[:i]
				break
			}
		}
		return fmt.Errorf("interpreter %q: %w", interp, ErrDynamicBinary)
	}
	return nil
}
