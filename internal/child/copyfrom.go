package child

import (
	"syscall"
	"unsafe"
)

// copyFromMain is the copy-out worker: it sends the tree at path as
// records on stdout, ending with KindEnd, or KindError at the first
// failure. Its exit status is 0 on success.
//
// path is resolved in the container's mount namespace and root, following
// the container's symlinks except its last element (a symlink is copied as
// a symlink, as docker cp does) and no magic link. Below it every entry is
// opened by name in its directory's fd with O_NOFOLLOW and checked to be
// the inode that was listed, so a symlink swapped in by the container is
// never followed out of the tree.
func copyFromMain(path string) int {
	c := &copyOut{out: &fdWriter{fd: 1, buf: make([]byte, 0, CopyChunk+RecordHeaderSize+2*MaxRecordName)},
		data: make([]byte, CopyChunk), links: map[[2]uint64]string{}}
	parent, base := splitName(path)
	if parent == "" {
		parent = "/"
	}
	name := base
	if base == "" { // path is "/" (or ends with "/", which the parent refuses)
		base, name = ".", "."
	}
	pfd, e := openat2(-100, parent, oPath|syscall.O_DIRECTORY, 0, resolveNoMagic)
	if e != 0 {
		c.out.sendError("copy from "+quoteName(path)+": open parent directory", e)
		return 1
	}
	if text, e := c.entry(pfd, base, name, 0); e != 0 {
		c.out.sendError("copy from "+quoteName(path)+": "+text, e)
		return 1
	}
	c.out.buf = AppendRecord(c.out.buf, &Record{Kind: KindEnd})
	if c.out.flush() != 0 {
		return 1
	}
	return 0
}

// maxDepth bounds the recursion (and the fds it holds open).
const maxDepth = 512

type copyOut struct {
	out   *fdWriter
	data  []byte
	links map[[2]uint64]string // (dev, ino) of files with several links → first name
}

// entry sends the entry base of directory dfd as name, and what is below
// it.
func (c *copyOut) entry(dfd int, base, name string, depth int) (string, syscall.Errno) {
	var st syscall.Stat_t
	if e := fstatat(dfd, base, &st, atSymlinkNoFoll); e != 0 {
		return quoteName(name) + ": stat", e
	}
	r := Record{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Name: name, Mtime: int64(st.Mtim.Sec), MtimeNsec: uint32(st.Mtim.Nsec)}
	typ := st.Mode & syscall.S_IFMT
	if typ != syscall.S_IFDIR && st.Nlink > 1 {
		key := [2]uint64{uint64(st.Dev), uint64(st.Ino)}
		if first, ok := c.links[key]; ok {
			r.Kind, r.Link = KindHardlink, first
			return c.send(&r)
		}
		c.links[key] = name
	}
	switch typ {
	case syscall.S_IFDIR:
		r.Kind = KindDir
		if text, e := c.send(&r); e != 0 {
			return text, e
		}
		return c.dir(dfd, base, name, &st, depth)
	case syscall.S_IFREG:
		return c.file(dfd, base, &r, &st)
	case syscall.S_IFLNK:
		link, e := readlinkat(dfd, base)
		if e != 0 {
			return quoteName(name) + ": readlink", e
		}
		r.Kind, r.Link = KindSymlink, link
		return c.send(&r)
	case syscall.S_IFIFO:
		r.Kind = KindFifo
		return c.send(&r)
	case syscall.S_IFCHR, syscall.S_IFBLK:
		r.Kind, r.Rdev = KindChar, uint64(st.Rdev)
		if typ == syscall.S_IFBLK {
			r.Kind = KindBlock
		}
		return c.send(&r)
	}
	return "", 0 // a socket: tar has no representation for it (GNU tar skips them too)
}

func (c *copyOut) send(r *Record) (string, syscall.Errno) {
	if len(r.Name) > MaxRecordName || len(r.Link) > MaxRecordName {
		return quoteName(r.Name) + ": name too long", syscall.ENAMETOOLONG
	}
	c.out.buf = AppendRecord(c.out.buf, r)
	if len(c.out.buf) > CopyChunk {
		if e := c.out.flush(); e != 0 {
			return "write to the caller", e
		}
	}
	return "", 0
}

// sameInode reports whether an opened fd is the inode fstatat listed.
func sameInode(fd int, want *syscall.Stat_t) (syscall.Stat_t, bool) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return st, false
	}
	return st, st.Dev == want.Dev && st.Ino == want.Ino
}

func (c *copyOut) file(dfd int, base string, r *Record, listed *syscall.Stat_t) (string, syscall.Errno) {
	fd, err := syscall.Openat(dfd, base, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return quoteName(r.Name) + ": open", errnoOf(err)
	}
	defer syscall.Close(fd)
	st, same := sameInode(fd, listed)
	if !same || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return quoteName(r.Name) + ": replaced while copying", syscall.EAGAIN
	}
	r.Kind, r.Size = KindFile, uint64(st.Size)
	if text, e := c.send(r); e != 0 {
		return text, e
	}
	var sz [4]byte
	// Once the header is out, a failure is announced in the data by an
	// AbortChunk length, so that the caller reads the error record next.
	abort := func(text string, e syscall.Errno) (string, syscall.Errno) {
		PutChunkSize(sz[:], AbortChunk)
		_ = c.out.write(sz[:])
		return text, e
	}
	for left := r.Size; left > 0; {
		n := uint64(len(c.data))
		if left < n {
			n = left
		}
		m, err := syscall.Read(fd, c.data[:n])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return abort(quoteName(r.Name)+": read", errnoOf(err))
		}
		if m == 0 {
			return abort(quoteName(r.Name)+": file shrank while copying", syscall.EAGAIN)
		}
		PutChunkSize(sz[:], uint32(m))
		if e := c.out.write(sz[:]); e != 0 {
			return "write to the caller", e
		}
		if e := c.out.write(c.data[:m]); e != 0 {
			return "write to the caller", e
		}
		left -= uint64(m)
	}
	PutChunkSize(sz[:], 0)
	if e := c.out.write(sz[:]); e != 0 {
		return "write to the caller", e
	}
	return "", 0
}

// dir sends the entries of a directory, in the order getdents returns them.
func (c *copyOut) dir(dfd int, base, name string, listed *syscall.Stat_t, depth int) (string, syscall.Errno) {
	if depth >= maxDepth {
		return quoteName(name) + ": deeper than 512 levels", syscall.ELOOP
	}
	fd, err := syscall.Openat(dfd, base, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return quoteName(name) + ": open directory", errnoOf(err)
	}
	defer syscall.Close(fd)
	if _, same := sameInode(fd, listed); !same {
		return quoteName(name) + ": replaced while copying", syscall.EAGAIN
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return quoteName(name) + ": read directory", errnoOf(err)
		}
		if n <= 0 {
			return "", 0
		}
		for off := 0; off < n; {
			// struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name.
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			if reclen == 0 || off+reclen > n {
				return quoteName(name) + ": bad directory entry", syscall.EIO
			}
			nb := buf[off+19 : off+reclen]
			for i, b := range nb {
				if b == 0 {
					nb = nb[:i]
					break
				}
			}
			off += reclen
			child := string(nb)
			if child == "." || child == ".." {
				continue
			}
			cname := child
			if name != "." {
				cname = name + "/" + child
			}
			if text, e := c.entry(fd, child, cname, depth+1); e != 0 {
				return text, e
			}
		}
	}
}
