package attach

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"syscall"
	"time"

	"nucleus/internal/child"
	"nucleus/internal/launch"
	"nucleus/state"
)

// CopyError is a failure of a copy inside the container: the step and the
// container path, and the errno (errors.Is(err, fs.ErrPermission),
// syscall.ENOSPC, … work).
type CopyError = launch.CopyError

// CopyTo extracts the tar stream r into dir, a directory inside the
// container st that must exist. No tar and no shell are needed in the
// image: a worker process inside every namespace of the container, with the
// container's process identity (or WithIdentity's) and the hardening a
// command gets, creates each entry, and Landlock confines it to dir. So
// every path resolves in the container's root, never through a host path
// (CVE-2018-15664), and the container's permissions apply.
//
// Directories, regular files, symlinks (stored as they are, never
// followed), hard links to earlier entries and FIFOs are created; device
// files are refused. Owners are the worker's identity, modes and
// modification times the archive's. Nothing below dir is followed: a
// symlink in the container or in the archive cannot redirect an entry. A
// file is written under a temporary name and renamed into place, so none
// is ever seen half written; when the copy fails (a read-only or full file
// system, a permission), what it created is removed and the error names the
// path. Options: WithIdentity, WithPolicy, WithLogger.
func CopyTo(ctx context.Context, st *state.ContainerState, dir string, r io.Reader, opts ...Option) error {
	req := copyRequest(st, opts)
	w, err := launch.StartCopyIn(ctx, req, dir)
	if err != nil {
		return fmt.Errorf("attach: copy to %q: %w", dir, err)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err == nil {
			var rec *launch.CopyRecord
			if rec, err = recordOf(h); err == nil && rec != nil {
				if err := w.Write(rec, tr); err != nil {
					// The worker's report, when it stopped first, says
					// more than the broken pipe.
					return fmt.Errorf("attach: %w", w.Close())
				}
			}
		}
		if err != nil {
			// Nothing of a bad archive stays in the container.
			if werr := w.Abort(); werr != nil {
				return fmt.Errorf("attach: copy to %q: read archive: %w (and the worker: %w)", dir, err, werr)
			}
			return fmt.Errorf("attach: copy to %q: read archive: %w", dir, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return nil
}

// CopyFrom returns the file or tree at path inside the container st as a
// tar stream, made by a worker inside the container as for CopyTo: the
// worker may read below path only, with the container's permissions. Its
// entries are named after path's last element ("etc/passwd" for path
// "/etc"); a symlink at path or below it is stored as a symlink, never
// followed; hard links within the tree are stored as links. Read the stream
// to its end, then Close it; its Read returns the worker's error (a
// *CopyError) if the copy fails, and Close stops the worker. Options:
// WithIdentity, WithPolicy, WithLogger.
func CopyFrom(ctx context.Context, st *state.ContainerState, p string, opts ...Option) (io.ReadCloser, error) {
	req := copyRequest(st, opts)
	if strings.HasSuffix(p, "/") && p != "/" {
		p = strings.TrimRight(p, "/")
	}
	src, err := launch.StartCopyOut(ctx, req, p)
	if err != nil {
		return nil, fmt.Errorf("attach: copy from %q: %w", p, err)
	}
	c := &copyReader{src: src, path: p}
	c.tw = tar.NewWriter(&c.buf)
	return c, nil
}

// copyReader is CopyFrom's stream: each Read converts the next part of the
// worker's records to tar in buf and hands it out, so that no goroutine
// (and no pipe) sits between the worker and the caller.
type copyReader struct {
	src    *launch.CopyOut
	path   string
	buf    bytes.Buffer // tar bytes not yet read
	tw     *tar.Writer  // writes into buf
	inFile bool         // the current entry's data is being converted
	chunk  []byte       // one chunk of it
	err    error        // sticky: the stream's end (io.EOF) or failure
	closed bool
}

// Read returns the tar stream; the worker's failure (a *CopyError) or the
// context's when it ended.
func (c *copyReader) Read(p []byte) (int, error) {
	for c.buf.Len() == 0 && c.err == nil {
		c.err = c.fill()
	}
	if c.buf.Len() > 0 {
		return c.buf.Read(p)
	}
	return 0, c.err
}

// fill converts one record, or one chunk of a file's data, into buf.
func (c *copyReader) fill() error {
	if c.closed {
		return errors.New("attach: copy from: read after Close")
	}
	if c.inFile {
		if c.chunk == nil {
			c.chunk = make([]byte, child.CopyChunk)
		}
		n, err := io.ReadFull(c.src, c.chunk)
		if n > 0 {
			if _, werr := c.tw.Write(c.chunk[:n]); werr != nil {
				return fmt.Errorf("attach: copy from %q: %w", c.path, werr)
			}
		}
		switch err {
		case nil:
			return nil
		case io.EOF, io.ErrUnexpectedEOF: // the file's data is complete
			c.inFile = false
			if n > 0 {
				return nil
			}
		default:
			return fmt.Errorf("attach: copy from %q: %w", c.path, err)
		}
	}
	rec, err := c.src.Next()
	if err == io.EOF {
		if err := c.tw.Close(); err != nil {
			return err
		}
		if err := c.src.Close(); err != nil {
			return fmt.Errorf("attach: copy from %q: %w", c.path, err)
		}
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("attach: copy from %q: %w", c.path, err)
	}
	if err := c.tw.WriteHeader(headerOf(rec)); err != nil {
		return fmt.Errorf("attach: copy from %q: %q: %w", c.path, rec.Name, err)
	}
	c.inFile = rec.Kind == child.KindFile
	return nil
}

// WriteTo writes the rest of the stream to w without an intermediate
// copy into the caller's buffer (io.Copy uses it).
func (c *copyReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for c.buf.Len() == 0 && c.err == nil {
			c.err = c.fill()
		}
		if c.buf.Len() == 0 {
			if c.err == io.EOF {
				return total, nil
			}
			return total, c.err
		}
		n, err := c.buf.WriteTo(w)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// Close stops the worker if it is still running, waits for it and
// releases everything. A stream read to its end closes with nil; one
// closed before, with nil too unless the worker failed on its own.
func (c *copyReader) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.src.Close()
	if c.err == io.EOF {
		return nil
	}
	if c.err != nil {
		return c.err
	}
	_ = err // stopped before the end: the worker was killed by us
	return nil
}

// copyRequest builds the launch request of a copy from the options that
// apply to one (identity, policy, logger, runsc); stdio, terminal,
// directory and environment are the worker's own.
func copyRequest(st *state.ContainerState, opts []Option) *launch.Request {
	req := &launch.Request{Target: st}
	for _, o := range opts {
		o.apply(req)
	}
	return &launch.Request{Target: st, Identity: req.Identity, Policy: req.Policy, Logger: req.Logger,
		Runsc: req.Runsc, HostBinary: req.HostBinary, TTY: req.TTY}
}

// recordOf converts a tar header; nil for an entry with nothing to create.
func recordOf(h *tar.Header) (*launch.CopyRecord, error) {
	name, err := cleanName(h.Name)
	if err != nil {
		return nil, err
	}
	rec := &launch.CopyRecord{Name: name, Mode: uint32(h.Mode) & 0o7777,
		Mtime: h.ModTime.Unix(), MtimeNsec: uint32(h.ModTime.Nanosecond())}
	if h.ModTime.IsZero() {
		rec.Mtime, rec.MtimeNsec = time.Now().Unix(), 0
	}
	switch h.Typeflag {
	case tar.TypeDir:
		rec.Kind, rec.Mode = child.KindDir, rec.Mode|syscall.S_IFDIR
	case tar.TypeReg, tar.TypeRegA:
		if h.Size < 0 {
			return nil, fmt.Errorf("%q: negative size", h.Name)
		}
		rec.Kind, rec.Mode, rec.Size = child.KindFile, rec.Mode|syscall.S_IFREG, uint64(h.Size)
	case tar.TypeSymlink:
		if h.Linkname == "" || strings.IndexByte(h.Linkname, 0) >= 0 {
			return nil, fmt.Errorf("%q: bad symlink target %q", h.Name, h.Linkname)
		}
		rec.Kind, rec.Mode, rec.Link = child.KindSymlink, rec.Mode|syscall.S_IFLNK, h.Linkname
	case tar.TypeLink:
		link, err := cleanName(h.Linkname)
		if err != nil {
			return nil, fmt.Errorf("%q: hard link: %w", h.Name, err)
		}
		rec.Kind, rec.Link = child.KindHardlink, link
	case tar.TypeFifo:
		rec.Kind, rec.Mode = child.KindFifo, rec.Mode|syscall.S_IFIFO
	case tar.TypeChar, tar.TypeBlock:
		rec.Kind = child.KindChar
		if h.Typeflag == tar.TypeBlock {
			rec.Kind = child.KindBlock
		}
	case tar.TypeXGlobalHeader:
		return nil, nil
	default:
		return nil, fmt.Errorf("%q: tar entry type %q is not supported", h.Name, h.Typeflag)
	}
	return rec, nil
}

// cleanName makes an archive name relative to the destination: leading
// "/" and "./" dropped, cleaned; a name climbing out with ".." is refused
// (archive/tar's ErrInsecurePath), not rewritten.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("entry %q: NUL byte in name", name)
	}
	n := path.Clean("/" + name)[1:]
	if n == "" {
		n = "."
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("entry %q: %w", name, tar.ErrInsecurePath)
		}
	}
	return n, nil
}

// headerOf converts a worker's record to a tar header.
func headerOf(r *launch.CopyRecord) *tar.Header {
	h := &tar.Header{Name: r.Name, Mode: int64(r.Mode & 0o7777), Uid: int(r.UID), Gid: int(r.GID),
		ModTime: time.Unix(r.Mtime, int64(r.MtimeNsec)), Format: tar.FormatPAX}
	switch r.Kind {
	case child.KindDir:
		h.Typeflag = tar.TypeDir
		if h.Name != "." {
			h.Name += "/"
		} else {
			h.Name = "./"
		}
	case child.KindFile:
		h.Typeflag, h.Size = tar.TypeReg, int64(r.Size)
	case child.KindSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, r.Link
	case child.KindHardlink:
		h.Typeflag, h.Linkname = tar.TypeLink, r.Link
	case child.KindFifo:
		h.Typeflag = tar.TypeFifo
	case child.KindChar, child.KindBlock:
		h.Typeflag = tar.TypeChar
		if r.Kind == child.KindBlock {
			h.Typeflag = tar.TypeBlock
		}
		dev := r.Rdev
		h.Devmajor = int64((dev>>8)&0xfff | (dev>>32)&^0xfff)
		h.Devminor = int64(dev&0xff | (dev>>12)&^0xff)
	}
	return h
}
