package launch

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// selfExe is the sealed in-memory copy of this program that every child is
// executed from, made once per process.
//
// CVE-2019-5736: a child executed from the binary on disk exposes that file
// as /proc/PID/exe inside the container, and a container process that
// opens it for writing once the child has exited overwrites the host's
// binary. A memfd sealed against writes, growth and shrinking cannot be
// changed by anyone, and the file on disk is never reachable from the child.
var selfExe struct {
	once sync.Once
	file *os.File // kept open: it is the executable
	path string
	err  error
}

// exePath returns /proc/self/fd/N of the sealed memfd, as this process
// sees it.
func exePath() (string, error) {
	selfExe.once.Do(func() {
		selfExe.path, selfExe.err = sealSelf()
	})
	return selfExe.path, selfExe.err
}

// exeFile returns the sealed memfd. A child is executed from it by handing
// it over as one of the child's files, say number k, and executing
// /proc/self/fd/k: execve resolves that path in the child's own fd table,
// after the files were put in place. (The memfd's number in this process
// would not do: the child's fd shuffle may put another file there — with
// the cgroup files a child takes, it did.) The constructor closes the copy
// before it joins anything.
func exeFile() (*os.File, error) {
	if _, err := exePath(); err != nil {
		return nil, err
	}
	return selfExe.file, nil
}

func sealSelf() (string, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return "", fmt.Errorf("self copy: %w", err)
	}
	defer src.Close()

	// MFD_EXEC keeps the memfd executable where vm.memfd_noexec would
	// default it to noexec (Linux 6.3+); older kernels reject the flag.
	fd, err := unix.MemfdCreate("nucleus", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate("nucleus", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return "", fmt.Errorf("self copy: memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "nucleus-memfd")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return "", fmt.Errorf("self copy: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return "", fmt.Errorf("self copy: seal: %w", err)
	}
	// dst stays open for the life of the process: it is the executable.
	selfExe.file = dst
	return fmt.Sprintf("/proc/self/fd/%d", fd), nil
}
