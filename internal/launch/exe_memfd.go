package launch

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealSelf makes the ExeMemfd view: a memfd holding a copy of this program,
// sealed against writes, growth and shrinking, so that nobody can change
// it, and the file on disk is never reachable from the child.
func sealSelf() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("self copy: %w", err)
	}
	defer src.Close()

	// MFD_EXEC keeps the memfd executable where vm.memfd_noexec would
	// default it to noexec (Linux 6.3+); older kernels reject the flag.
	fd, err := unix.MemfdCreate("nucleus", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate("nucleus", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("self copy: memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "nucleus-memfd")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("self copy: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return nil, fmt.Errorf("self copy: seal: %w", err)
	}
	return dst, nil
}
