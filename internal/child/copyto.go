package child

import (
	"strconv"
	"syscall"
)

// copyToMain is the copy-in worker: it creates the records read from
// stdin beneath dir, as the identity and under the hardening the command
// would have, and answers KindEnd or KindError on stdout. Its exit status
// is 0 on success.
//
// dir is resolved in the container's mount namespace and root (the
// grandchild's), following the container's own symlinks but no magic link
// (/proc/self/root, /proc/PID/fd/N), so it stays inside the container.
// Below it nothing is ever followed: every parent directory is opened
// with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS and every entry is created by
// name in it, regular files, symlinks and links under a temporary name
// and renamed into place, so that a reader never sees a partial file and
// a failure leaves none.
func copyToMain(dir string) int {
	w := &fdWriter{fd: 1, buf: make([]byte, 0, 4096)}
	c := &copyIn{in: &fdReader{fd: 0, buf: make([]byte, 64<<10)}, data: make([]byte, CopyChunk)}
	root, e := openat2(-100, dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0, resolveNoMagic) // AT_FDCWD
	if e != 0 {
		w.sendError("copy to "+quoteName(dir)+": open destination directory", e)
		return 1
	}
	c.root, c.dir = root, dir
	if text, e := c.run(); e != 0 {
		c.undo()
		w.sendError("copy to "+quoteName(dir)+": "+text, e)
		return 1
	}
	w.buf = AppendRecord(w.buf, &Record{Kind: KindEnd})
	if w.flush() != 0 {
		return 1
	}
	return 0
}

// copyIn is the state of one copy-in.
type copyIn struct {
	in   *fdReader
	data []byte
	root int
	dir  string
	seq  int
	// noSplice: stdin is not a pipe (splice said EINVAL).
	noSplice bool
	created  []createdEntry // to remove, newest first, when the copy fails
	dirs     []Record       // modes and times applied at the end
}

type createdEntry struct {
	name string
	dir  bool
}

// run reads and creates records until KindEnd; on failure it returns the
// step with the entry's name.
func (c *copyIn) run() (string, syscall.Errno) {
	var hdr [RecordHeaderSize]byte
	for {
		if e := c.in.readFull(hdr[:]); e != 0 {
			return "read record", e
		}
		r, nl, ll, err := ParseRecordHeader(hdr[:])
		if err != nil {
			return "read record", syscall.ENAMETOOLONG
		}
		nb := make([]byte, nl+ll)
		if e := c.in.readFull(nb); e != 0 {
			return "read record", e
		}
		r.Name, r.Link = string(nb[:nl]), string(nb[nl:])
		if r.Kind == KindEnd {
			return c.finishDirs()
		}
		if !CheckRecordName(r.Name) {
			return "entry " + quoteName(r.Name) + ": not a relative path without \"..\"", syscall.EINVAL
		}
		if text, e := c.create(&r); e != 0 {
			return text, e
		}
	}
}

// create makes one entry.
func (c *copyIn) create(r *Record) (string, syscall.Errno) {
	what := quoteName(r.Name)
	if r.Name == "." {
		if r.Kind != KindDir {
			return what + ": the root of the copy must be a directory", syscall.ENOTDIR
		}
		return "", 0 // the destination itself: exists, keeps its mode
	}
	parent, base := splitName(r.Name)
	pfd, e := beneath(c.root, parent, oPath|syscall.O_DIRECTORY)
	if e == syscall.ENOENT {
		// An archive need not list the parents of its entries (tar -x
		// makes them too): 0755, as tar does for implied directories.
		if text, e := c.mkdirParents(parent); e != 0 {
			return what + ": " + text, e
		}
		pfd, e = beneath(c.root, parent, oPath|syscall.O_DIRECTORY)
	}
	if e != 0 {
		return what + ": open parent directory", e
	}
	defer syscall.Close(pfd)
	perm := r.Mode & 0o7777
	switch r.Kind {
	case KindDir:
		if err := syscall.Mkdirat(pfd, base, 0o700); err != nil {
			if err != syscall.EEXIST {
				return what + ": mkdir", errnoOf(err)
			}
			var st syscall.Stat_t
			if e := fstatat(pfd, base, &st, atSymlinkNoFoll); e != 0 || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
				return what + ": exists and is not a directory", syscall.EEXIST
			}
			return "", 0 // an existing directory keeps its mode and owner
		}
		c.created = append(c.created, createdEntry{r.Name, true})
		c.dirs = append(c.dirs, *r)
		return "", 0
	case KindFile:
		return c.createFile(pfd, base, r)
	case KindSymlink:
		// The target is stored as it is and never followed here.
		return c.place(pfd, base, r.Name, func(tmp string) (string, syscall.Errno) {
			if e := symlinkat(r.Link, pfd, tmp); e != 0 {
				return "symlink", e
			}
			if r.Mtime != 0 {
				_ = utimensatNoFollow(pfd, tmp, r.Mtime, r.MtimeNsec)
			}
			return "", 0
		})
	case KindHardlink:
		if !CheckRecordName(r.Link) || r.Link == "." {
			return what + ": link target " + quoteName(r.Link) + " is not a relative path without \"..\"", syscall.EINVAL
		}
		lp, lb := splitName(r.Link)
		lfd, e := beneath(c.root, lp, oPath|syscall.O_DIRECTORY)
		if e != 0 {
			return what + ": open directory of link target " + quoteName(r.Link), e
		}
		defer syscall.Close(lfd)
		return c.place(pfd, base, r.Name, func(tmp string) (string, syscall.Errno) {
			if e := linkat(lfd, lb, pfd, tmp); e != 0 {
				return "link to " + quoteName(r.Link), e
			}
			return "", 0
		})
	case KindFifo:
		return c.place(pfd, base, r.Name, func(tmp string) (string, syscall.Errno) {
			if e := mknodat(pfd, tmp, syscall.S_IFIFO|perm, 0); e != 0 {
				return "mkfifo", e
			}
			return "", 0
		})
	case KindChar, KindBlock:
		return what + ": device files are not copied into a container", syscall.EPERM
	}
	return what + ": unknown record kind " + strconv.Itoa(int(r.Kind)), syscall.EINVAL
}

// mkdirParents creates the missing directories of a parent path, one
// element at a time, each by name in the one above it (opened beneath the
// root without following symlinks).
func (c *copyIn) mkdirParents(parent string) (string, syscall.Errno) {
	els := split(parent, '/')
	for i := range els {
		dir := join(els[:i])
		dfd, e := beneath(c.root, dir, oPath|syscall.O_DIRECTORY)
		if e != 0 {
			return "open directory " + quoteName(dir), e
		}
		err := syscall.Mkdirat(dfd, els[i], 0o755)
		syscall.Close(dfd)
		switch {
		case err == nil:
			c.created = append(c.created, createdEntry{join(els[:i+1]), true})
		case err != syscall.EEXIST:
			return "mkdir " + quoteName(join(els[:i+1])), errnoOf(err)
		}
	}
	return "", 0
}

// join joins path elements with "/".
func join(els []string) string {
	s := ""
	for i, el := range els {
		if i > 0 {
			s += "/"
		}
		s += el
	}
	return s
}

// place creates an entry under a temporary name with make and renames it
// over base.
func (c *copyIn) place(pfd int, base, name string, make func(tmp string) (string, syscall.Errno)) (string, syscall.Errno) {
	tmp := c.tmpName()
	if text, e := make(tmp); e != 0 {
		_ = unlinkat(pfd, tmp, 0)
		return quoteName(name) + ": " + text, e
	}
	return c.rename(pfd, tmp, base, name)
}

func (c *copyIn) rename(pfd int, tmp, base, name string) (string, syscall.Errno) {
	var st syscall.Stat_t
	existed := fstatat(pfd, base, &st, atSymlinkNoFoll) == 0
	if err := syscall.Renameat(pfd, tmp, pfd, base); err != nil {
		_ = unlinkat(pfd, tmp, 0)
		return quoteName(name) + ": rename into place", errnoOf(err)
	}
	if !existed {
		c.created = append(c.created, createdEntry{name, false})
	}
	return "", 0
}

// createFile writes a regular file's data to a new temporary file in its
// directory, sets its mode and times, and renames it into place.
func (c *copyIn) createFile(pfd int, base string, r *Record) (string, syscall.Errno) {
	what := quoteName(r.Name)
	tmp := c.tmpName()
	fd, err := syscall.Openat(pfd, tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return what + ": create", errnoOf(err)
	}
	fail := func(text string, e syscall.Errno) (string, syscall.Errno) {
		syscall.Close(fd)
		_ = unlinkat(pfd, tmp, 0)
		return what + ": " + text, e
	}
	var total uint64
	var sz [4]byte
	for {
		if e := c.in.readFull(sz[:]); e != 0 {
			return fail("read data", e)
		}
		n := ChunkSize(sz[:])
		if n == 0 {
			break
		}
		if n > CopyChunk || total+uint64(n) > r.Size {
			return fail("data longer than its size "+strconv.FormatUint(r.Size, 10), syscall.EPROTO)
		}
		if text, e := c.copyData(fd, int(n)); e != 0 {
			return fail(text, e)
		}
		total += uint64(n)
	}
	if total != r.Size {
		return fail("data shorter than its size "+strconv.FormatUint(r.Size, 10), syscall.EPROTO)
	}
	if err := syscall.Fchmod(fd, r.Mode&0o7777); err != nil {
		return fail("chmod", errnoOf(err))
	}
	if e := futimens(fd, r.Mtime, r.MtimeNsec); e != 0 {
		return fail("set times", e)
	}
	// close reports a write-back failure of some file systems (NFS).
	if err := syscall.Close(fd); err != nil {
		_ = unlinkat(pfd, tmp, 0)
		return what + ": close", errnoOf(err)
	}
	return c.rename(pfd, tmp, base, r.Name)
}

// copyData moves n bytes of a file's data from stdin to fd: what the
// reader has buffered, then the rest with splice(2), which moves the pipe's
// pages into the file without a copy through this process; read and write
// where stdin is not a pipe.
func (c *copyIn) copyData(fd, n int) (string, syscall.Errno) {
	if k := c.in.w - c.in.r; k > 0 {
		m := min(k, n)
		if e := writeAll(fd, c.in.buf[c.in.r:c.in.r+m]); e != 0 {
			return "write", e
		}
		c.in.r += m
		n -= m
	}
	for n > 0 {
		if !c.noSplice {
			r, _, e := syscall.Syscall6(syscall.SYS_SPLICE, 0, 0, uintptr(fd), 0, uintptr(n), spliceMove)
			switch {
			case e == syscall.EINTR:
			case e == syscall.EINVAL:
				c.noSplice = true
			case e != 0:
				return "write", e
			case r == 0:
				return "read data", syscall.EPIPE
			default:
				n -= int(r)
			}
			continue
		}
		m := min(n, len(c.data))
		if e := c.in.readFull(c.data[:m]); e != 0 {
			return "read data", e
		}
		if e := writeAll(fd, c.data[:m]); e != 0 {
			return "write", e
		}
		n -= m
	}
	return "", 0
}

// spliceMove is SPLICE_F_MOVE.
const spliceMove = 1

// finishDirs gives the directories this copy created their modes and
// times, deepest first, once their contents are in: a read-only directory
// (0555) could not have been filled after its chmod.
func (c *copyIn) finishDirs() (string, syscall.Errno) {
	for i := len(c.dirs) - 1; i >= 0; i-- {
		d := &c.dirs[i]
		fd, e := beneath(c.root, d.Name, syscall.O_RDONLY|syscall.O_DIRECTORY)
		if e != 0 {
			return quoteName(d.Name) + ": open directory", e
		}
		if err := syscall.Fchmod(fd, d.Mode&0o7777); err != nil {
			syscall.Close(fd)
			return quoteName(d.Name) + ": chmod", errnoOf(err)
		}
		e = futimens(fd, d.Mtime, d.MtimeNsec)
		syscall.Close(fd)
		if e != 0 {
			return quoteName(d.Name) + ": set times", e
		}
	}
	return "", 0
}

// undo removes what a failed copy created, newest first, so that a failed
// copy leaves nothing. Entries it replaced are not restored.
func (c *copyIn) undo() {
	for i := len(c.created) - 1; i >= 0; i-- {
		ent := c.created[i]
		parent, base := splitName(ent.name)
		pfd, e := beneath(c.root, parent, oPath|syscall.O_DIRECTORY)
		if e != 0 {
			continue
		}
		flags := 0
		if ent.dir {
			// Still 0700 or 0755, ours: the final modes are applied
			// only once every entry is in (finishDirs).
			flags = atRemoveDir
		}
		_ = unlinkat(pfd, base, flags)
		syscall.Close(pfd)
	}
}

// tmpName is the temporary name of the next entry: ".nucleus-cp-", this
// worker's PID and a counter. Creating it never replaces anything: O_EXCL,
// symlinkat, linkat and mknodat all fail on an existing name (which the
// error then reports).
func (c *copyIn) tmpName() string {
	c.seq++
	return ".nucleus-cp-" + strconv.Itoa(syscall.Getpid()) + "-" + strconv.Itoa(c.seq)
}

// splitName splits a checked record name into its parent ("" for the
// copy's root) and its last element.
func splitName(name string) (parent, base string) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i], name[i+1:]
		}
	}
	return "", name
}

// quoteName is strconv.Quote, which keeps a hostile name from forging
// text in an error.
func quoteName(s string) string { return strconv.Quote(s) }
