//go:build linux && amd64

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"unsafe"

	"golang.org/x/sys/unix"
)

// Subcommands about the seccomp floor and the strict policy's ban on
// anonymous-file exec; like those of syscalls.go they print "ok" or the
// errno's name and exit 0.
func init() {
	commands["vsock"] = vsock
	commands["tiocsetd"] = tiocsetd
	commands["memfd-exec"] = memfdExec
	commands["say"] = say
}

// vsock opens an AF_VSOCK socket, the domain passed as is and, with "hi",
// with a bit above the 32 the kernel reads (a filter comparing 64 bits
// would let it through).
func vsock(args []string) int {
	domain := uintptr(unix.AF_VSOCK)
	if len(args) > 0 && args[0] == "hi" {
		domain |= 1 << 32
	}
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if e == 0 {
		unix.Close(int(fd))
	}
	return report(0, e)
}

// tiocsetd asks to change the line discipline of fd -1: the kernel answers
// EBADF, a filter that denies the request EPERM before the kernel looks.
func tiocsetd(args []string) int {
	ldisc := int32(0)
	fd := -1
	_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSETD, uintptr(unsafe.Pointer(&ldisc)))
	return report(0, e)
}

// memfdExec copies this program into an anonymous file and executes it
// with "say memfd-ran": by execveat(fd, "", AT_EMPTY_PATH) ("execveat", the
// default) or by execve of /proc/self/fd/N ("proc"). With "file", the fd
// is this program's own file opened read-only instead of a memfd (exec of
// an fd whatever it names). It prints the errno of the step that failed,
// prefixed with the step, or the exec'd copy prints "memfd-ran".
func memfdExec(args []string) int {
	mode := "execveat"
	if len(args) > 0 {
		mode = args[0]
	}
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		fmt.Println("open-self:", errnoName(err))
		return 0
	}
	fd := int(self.Fd())
	if mode != "file" {
		mfd, err := unix.MemfdCreate("nucleus-dropped", unix.MFD_CLOEXEC)
		if err != nil {
			fmt.Println("memfd_create:", errnoName(err))
			return 0
		}
		if _, err := io.Copy(os.NewFile(uintptr(mfd), "memfd"), self); err != nil {
			fmt.Println("copy:", err)
			return 0
		}
		fd = mfd
	}
	argv := []string{"dropped", "say", "memfd-ran"}
	switch mode {
	case "proc":
		// Without close-on-exec the fd must survive: execve opens it by path.
		unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
		err = unix.Exec("/proc/self/fd/"+strconv.Itoa(fd), argv, os.Environ())
		fmt.Println("execve:", errnoName(err))
	default:
		fmt.Println("execveat:", unix.ErrnoName(execveat(fd, argv, os.Environ())))
	}
	return 0
}

// say prints its arguments.
func say(args []string) int {
	fmt.Println(strings.Join(args, " "))
	return 0
}

func errnoName(err error) string {
	if e, ok := err.(syscall.Errno); ok {
		return unix.ErrnoName(e)
	}
	var e syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		if e, ok = pe.Err.(syscall.Errno); ok {
			return unix.ErrnoName(e)
		}
	}
	return err.Error()
}

// execveat is execveat(fd, "", argv, envv, AT_EMPTY_PATH); it returns only
// on failure.
func execveat(fd int, argv, envv []string) syscall.Errno {
	path, _ := syscall.BytePtrFromString("")
	av, _ := syscall.SlicePtrFromStrings(argv)
	ev, _ := syscall.SlicePtrFromStrings(envv)
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&av[0])), uintptr(unsafe.Pointer(&ev[0])), unix.AT_EMPTY_PATH, 0)
	return e
}
