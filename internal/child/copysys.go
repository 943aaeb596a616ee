package child

import (
	"syscall"
	"unsafe"
)

// Raw wrappers of the *at system calls the copy workers use. Every path
// they take is relative to a directory fd, a single name wherever the
// worker creates something, so that no symlink is followed while creating.

// openHow is struct open_how of openat2(2).
type openHow struct {
	flags   uint64
	mode    uint64
	resolve uint64
}

func cstr(s string) (*byte, syscall.Errno) {
	p, err := syscall.BytePtrFromString(s)
	if err != nil {
		return nil, syscall.EINVAL
	}
	return p, 0
}

// openat2 opens path relative to dirfd with the RESOLVE_* flags.
func openat2(dirfd int, path string, flags int, mode uint32, resolve uint64) (int, syscall.Errno) {
	p, e := cstr(path)
	if e != 0 {
		return -1, e
	}
	how := openHow{flags: uint64(flags) | syscall.O_CLOEXEC, mode: uint64(mode), resolve: resolve}
	for {
		r, _, e := syscall.Syscall6(sysOpenat2, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), 0
	}
}

// beneath opens a directory below root without following any symlink or
// magic link on the way (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a link
// in the tree, whether it came with the copy or was planted by the
// container, can never move an access elsewhere.
func beneath(root int, name string, flags int) (int, syscall.Errno) {
	if name == "" || name == "." {
		return openat2(root, ".", flags, 0, resolveBeneath|resolveNoSyms|resolveNoMagic)
	}
	return openat2(root, name, flags, 0, resolveBeneath|resolveNoSyms|resolveNoMagic)
}

func fstatat(dirfd int, name string, st *syscall.Stat_t, flags int) syscall.Errno {
	p, e := cstr(name)
	if e != 0 {
		return e
	}
	_, _, e = syscall.Syscall6(sysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
	return e
}

func readlinkat(dirfd int, name string) (string, syscall.Errno) {
	p, e := cstr(name)
	if e != 0 {
		return "", e
	}
	buf := make([]byte, MaxRecordName+1)
	n, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return "", e
	}
	if int(n) > MaxRecordName {
		return "", syscall.ENAMETOOLONG
	}
	return string(buf[:n]), 0
}

func symlinkat(target string, dirfd int, name string) syscall.Errno {
	t, e := cstr(target)
	if e != 0 {
		return e
	}
	p, e := cstr(name)
	if e != 0 {
		return e
	}
	_, _, e = syscall.Syscall(syscall.SYS_SYMLINKAT, uintptr(unsafe.Pointer(t)), uintptr(dirfd), uintptr(unsafe.Pointer(p)))
	return e
}

// linkat makes a hard link; flags 0: a symlink is linked, not followed.
func linkat(olddir int, oldname string, newdir int, newname string) syscall.Errno {
	o, e := cstr(oldname)
	if e != 0 {
		return e
	}
	n, e := cstr(newname)
	if e != 0 {
		return e
	}
	_, _, e = syscall.Syscall6(syscall.SYS_LINKAT, uintptr(olddir), uintptr(unsafe.Pointer(o)), uintptr(newdir), uintptr(unsafe.Pointer(n)), 0, 0)
	return e
}

func mknodat(dirfd int, name string, mode uint32, dev uint64) syscall.Errno {
	p, e := cstr(name)
	if e != 0 {
		return e
	}
	_, _, e = syscall.Syscall6(syscall.SYS_MKNODAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(mode), uintptr(dev), 0, 0)
	return e
}

// futimens sets a file's access and modification times through its fd.
func futimens(fd int, sec int64, nsec uint32) syscall.Errno {
	ts := [2]syscall.Timespec{{Sec: sec, Nsec: int64(nsec)}, {Sec: sec, Nsec: int64(nsec)}}
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	return e
}

// utimensatNoFollow sets a symlink's own times.
func utimensatNoFollow(dirfd int, name string, sec int64, nsec uint32) syscall.Errno {
	p, e := cstr(name)
	if e != 0 {
		return e
	}
	ts := [2]syscall.Timespec{{Sec: sec, Nsec: int64(nsec)}, {Sec: sec, Nsec: int64(nsec)}}
	_, _, e = syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNoFoll, 0, 0)
	return e
}

func unlinkat(dirfd int, name string, flags int) syscall.Errno {
	p, e := cstr(name)
	if e != 0 {
		return e
	}
	_, _, e = syscall.Syscall(syscall.SYS_UNLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags))
	return e
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	if err != nil {
		return syscall.EIO
	}
	return 0
}

// fdReader is a small buffered reader over a raw fd (bufio would pull in
// packages the child must not wait for).
type fdReader struct {
	fd   int
	buf  []byte
	r, w int
}

func (b *fdReader) fill() syscall.Errno {
	if b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	for {
		n, err := syscall.Read(b.fd, b.buf[b.w:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return errnoOf(err)
		}
		if n == 0 {
			return syscall.EPIPE // the peer closed mid-record
		}
		b.w += n
		return 0
	}
}

// readFull fills p.
func (b *fdReader) readFull(p []byte) syscall.Errno {
	for len(p) > 0 {
		if b.r == b.w {
			if len(p) >= len(b.buf) { // large reads bypass the buffer
				n, err := syscall.Read(b.fd, p)
				if err == syscall.EINTR {
					continue
				}
				if err != nil {
					return errnoOf(err)
				}
				if n == 0 {
					return syscall.EPIPE
				}
				p = p[n:]
				continue
			}
			if e := b.fill(); e != 0 {
				return e
			}
		}
		n := copy(p, b.buf[b.r:b.w])
		b.r += n
		p = p[n:]
	}
	return 0
}

// fdWriter is a small buffered writer over a raw fd.
type fdWriter struct {
	fd  int
	buf []byte
}

func (w *fdWriter) flush() syscall.Errno {
	e := writeAll(w.fd, w.buf)
	w.buf = w.buf[:0]
	return e
}

func (w *fdWriter) write(p []byte) syscall.Errno {
	if len(w.buf)+len(p) > cap(w.buf) {
		if e := w.flush(); e != 0 {
			return e
		}
		if len(p) > cap(w.buf) {
			return writeAll(w.fd, p)
		}
	}
	w.buf = append(w.buf, p...)
	return 0
}

func writeAll(fd int, p []byte) syscall.Errno {
	for len(p) > 0 {
		n, err := syscall.Write(fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return errnoOf(err)
		}
		p = p[n:]
	}
	return 0
}

// sendError writes an error record and flushes.
func (w *fdWriter) sendError(text string, e syscall.Errno) {
	if len(text) > MaxRecordName {
		text = text[:MaxRecordName]
	}
	w.buf = AppendRecord(w.buf, &Record{Kind: KindError, Name: text, Errno: uint32(e)})
	_ = w.flush()
}
