package launch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync/atomic"
	"syscall"
	"time"

	"nucleus/harden"
	"nucleus/internal/child"
	"nucleus/nsenter"
)

// CopyError is a failure the copy worker reported from inside the
// container: the step and the container path, with the errno
// (errors.Is(err, fs.ErrPermission) and the like work). It is the type of
// every failure a child reports.
type CopyError = nsenter.RemoteError

// CopyRecord is one entry of a copy stream (see nucleus/internal/child,
// copyproto.go).
type CopyRecord = child.Record

// copyRequest turns r into the request of a copy worker for the container
// path p: no command, no terminal, stdio two pipes to the worker, and the
// caller's policy (or the default) with the Landlock rules replaced by one
// rule on p — the worker may touch that tree and nothing else.
func copyRequest(r *Request, mode child.Mode, p string, access harden.Access) (*Request, error) {
	if r.HostBinary != "" || r.TTY {
		return nil, errors.New("copy: a host binary or a terminal makes no sense for a copy")
	}
	if err := checkDir(p); err != nil {
		return nil, fmt.Errorf("copy: path: %w", err)
	}
	p = path.Clean(p)
	var pol harden.Policy
	if r.Policy != nil {
		pol = *r.Policy
	}
	pol.Landlock = []harden.PathRule{{Path: p, Access: access}}
	c := *r
	c.Policy = &pol
	c.Command = []string{"nucleus-copy", p}
	c.mode = mode
	c.Dir = "/"
	return &c, nil
}

// startWorker starts the copy worker with in and out as its stdin and
// stdout and closes the worker's ends in this process once it runs.
func startWorker(ctx context.Context, r *Request, in, out *os.File) (*Process, error) {
	r.Stdin, r.Stdout, r.Stderr = in, out, nil
	p, err := Start(ctx, r)
	in.Close()
	out.Close()
	return p, err
}

// CopyIn is a running copy-in worker: Write sends entries, Close ends the
// stream and returns the worker's verdict.
type CopyIn struct {
	ctx  context.Context
	stop func() // ends the cancellation watch
	p    *Process
	w    *os.File // the worker's stdin
	bw   *bufio.Writer
	resp *os.File // the worker's stdout
	buf  []byte
	err  error // the first failure, sticky
	// sendFailed: err is a failed write to the worker, which then ended:
	// its answer says why.
	sendFailed bool
}

// StartCopyIn starts a worker that creates entries beneath dir, a
// directory inside the container that must exist.
func StartCopyIn(ctx context.Context, r *Request, dir string) (*CopyIn, error) {
	cr, err := copyRequest(r, child.ModeCopyTo, dir, harden.ReadWrite)
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("copy: pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("copy: pipe: %w", err)
	}
	// A cancelled ctx first closes the worker's stdin, which makes it stop
	// between two system calls and remove what it created (a SIGKILL
	// would leave its temporary file behind); the process is killed only
	// if it has not ended after undoGrace (a frozen container).
	wctx, kill := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		inW.Close()
		time.AfterFunc(undoGrace, kill)
	})
	p, err := startWorker(wctx, cr, inR, outW)
	if err != nil {
		stop()
		kill()
		inW.Close()
		outR.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("copy: %w", context.Cause(ctx))
		}
		return nil, err
	}
	return &CopyIn{ctx: ctx, stop: func() { stop(); kill() }, p: p, w: inW,
		bw: bufio.NewWriterSize(inW, child.CopyChunk+8), resp: outR}, nil
}

// undoGrace is how long a cancelled copy-in worker has to remove what it
// created before it is killed.
const undoGrace = time.Second

// Write sends one entry; for a regular file (KindFile) data supplies
// exactly rec.Size bytes. After a failure every call returns it; Close
// then says what the worker reported.
func (c *CopyIn) Write(rec *CopyRecord, data io.Reader) error {
	if c.err != nil {
		return c.err
	}
	if len(rec.Name) > child.MaxRecordName || len(rec.Link) > child.MaxRecordName {
		c.err = fmt.Errorf("copy: %q: name or link target longer than %d bytes", rec.Name, child.MaxRecordName)
		return c.err
	}
	c.buf = child.AppendRecord(c.buf[:0], rec)
	if _, err := c.bw.Write(c.buf); err != nil {
		return c.fail(err)
	}
	if rec.Kind != child.KindFile {
		return nil
	}
	var sz [4]byte
	chunk := make([]byte, child.CopyChunk)
	for left := rec.Size; left > 0; {
		n := min(left, uint64(len(chunk)))
		m, err := io.ReadFull(data, chunk[:n])
		if err != nil {
			c.err = fmt.Errorf("copy: %q: read data: %w", rec.Name, err)
			return c.err
		}
		child.PutChunkSize(sz[:], uint32(m))
		if _, err := c.bw.Write(sz[:]); err != nil {
			return c.fail(err)
		}
		if _, err := c.bw.Write(chunk[:m]); err != nil {
			return c.fail(err)
		}
		left -= uint64(m)
	}
	child.PutChunkSize(sz[:], 0)
	if _, err := c.bw.Write(sz[:]); err != nil {
		return c.fail(err)
	}
	return nil
}

// fail records a write failure: the worker ended, and its own report (read
// by Close) says why.
func (c *CopyIn) fail(err error) error {
	if c.err == nil {
		c.err, c.sendFailed = fmt.Errorf("copy: send to the worker: %w", err), true
	}
	return c.err
}

// Abort ends the stream without committing it: the worker removes what it
// created. It returns the worker's report, if it failed on its own first.
func (c *CopyIn) Abort() error {
	if c.err == nil {
		c.err = errAborted
	}
	err := c.Close()
	if errors.Is(err, errAborted) {
		return nil
	}
	return err
}

var errAborted = errors.New("copy: aborted")

// Close ends the stream when every Write succeeded (otherwise it makes the
// worker stop, removing what it created), waits for the worker and returns
// its verdict: nil, the worker's *CopyError, or the failure of a Write.
func (c *CopyIn) Close() error {
	if c.err == nil {
		c.buf = child.AppendRecord(c.buf[:0], &CopyRecord{Kind: child.KindEnd})
		if _, err := c.bw.Write(c.buf); err != nil {
			_ = c.fail(err)
		} else if err := c.bw.Flush(); err != nil {
			_ = c.fail(err)
		}
	}
	// EOF on its stdin mid-record makes the worker undo and report.
	c.w.Close()
	rec, rerr := readAnswer(bufio.NewReader(c.resp))
	c.resp.Close()
	code, werr := c.p.WaitAndKillGroup()
	c.stop()
	switch {
	case c.ctx.Err() != nil && (c.err != nil || rerr != nil || rec.Kind != child.KindEnd):
		return fmt.Errorf("copy: %w", context.Cause(c.ctx))
	case c.err != nil && !c.sendFailed:
		return c.err // the caller's side failed; the worker undid its part
	case rerr == nil && rec.Kind == child.KindError:
		return &CopyError{Text: rec.Name, Errno: syscall.Errno(rec.Errno)}
	case c.err != nil:
		return c.err
	case rerr != nil:
		return fmt.Errorf("copy: read the worker's answer: %w", rerr)
	case rec.Kind != child.KindEnd:
		return fmt.Errorf("copy: unexpected answer of kind %q", rec.Kind)
	case werr != nil:
		return fmt.Errorf("copy: wait: %w", werr)
	case code != 0:
		return fmt.Errorf("copy: the worker exited with status %d", code)
	}
	return nil
}

// readRecord reads a record's header, name and link.
func readRecord(r *bufio.Reader) (CopyRecord, error) {
	var h [child.RecordHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return CopyRecord{}, err
	}
	rec, nl, ll, err := child.ParseRecordHeader(h[:])
	if err != nil {
		return rec, err
	}
	b := make([]byte, nl+ll)
	if _, err := io.ReadFull(r, b); err != nil {
		return rec, io.ErrUnexpectedEOF
	}
	rec.Name, rec.Link = string(b[:nl]), string(b[nl:])
	return rec, nil
}

// readAnswer reads the worker's final record; EOF without one means it
// died without a word.
func readAnswer(r *bufio.Reader) (CopyRecord, error) {
	rec, err := readRecord(r)
	if errors.Is(err, io.EOF) {
		return rec, errors.New("the worker ended without an answer")
	}
	return rec, err
}

// CopyOut is a running copy-out worker: Next returns its entries, Read a
// regular file's data.
type CopyOut struct {
	ctx  context.Context
	p    *Process
	out  *os.File
	r    *bufio.Reader
	left uint64 // data of the current file not yet read
	need bool   // the current file's end-of-data chunk is still to be read
	done bool
	err  error
	// chunk is what remains of the current data chunk.
	chunk uint32
	// killed: Kill was called, so an exit by SIGKILL is ours.
	killed atomic.Bool
}

// StartCopyOut starts a worker that sends the tree at p, a path inside
// the container.
func StartCopyOut(ctx context.Context, r *Request, p string) (*CopyOut, error) {
	cr, err := copyRequest(r, child.ModeCopyFrom, p, harden.Read)
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("copy: pipe: %w", err)
	}
	null, err := openDevNull()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cr.Stdin, cr.Stdout, cr.Stderr = null, outW, nil
	pr, err := Start(ctx, cr)
	outW.Close()
	if err != nil {
		outR.Close()
		return nil, err
	}
	return &CopyOut{ctx: ctx, p: pr, out: outR, r: bufio.NewReaderSize(outR, child.CopyChunk+child.RecordHeaderSize)}, nil
}

// Next returns the next entry; io.EOF after the last one. A failure of the
// worker is a *CopyError. The data of a regular file not Read is skipped.
func (c *CopyOut) Next() (*CopyRecord, error) {
	if c.err == nil && c.ctx.Err() != nil {
		// Records the worker wrote before the cancellation may still sit
		// in the pipe: an ended context ends the stream all the same.
		c.setErr(fmt.Errorf("copy: %w", context.Cause(c.ctx)))
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.done {
		return nil, io.EOF
	}
	if c.need {
		if _, err := io.Copy(io.Discard, c); err != nil {
			return nil, c.setErr(err)
		}
	}
	rec, err := readRecord(c.r)
	if err != nil {
		if c.p.Canceled() {
			return nil, c.setErr(fmt.Errorf("copy: %w", context.Cause(c.ctx)))
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("the worker ended without an answer")
		}
		return nil, c.setErr(fmt.Errorf("copy: read from the worker: %w", err))
	}
	switch rec.Kind {
	case child.KindEnd:
		c.done = true
		return nil, io.EOF
	case child.KindError:
		return nil, c.setErr(&CopyError{Text: rec.Name, Errno: syscall.Errno(rec.Errno)})
	case child.KindFile:
		c.left, c.need, c.chunk = rec.Size, true, 0
	}
	return &rec, nil
}

func (c *CopyOut) setErr(err error) error {
	if c.err == nil {
		c.err = err
	}
	return c.err
}

// Read reads the current regular file's data; io.EOF at its end.
func (c *CopyOut) Read(p []byte) (int, error) {
	if c.err == nil && c.ctx.Err() != nil {
		c.setErr(fmt.Errorf("copy: %w", context.Cause(c.ctx)))
	}
	if c.err != nil {
		return 0, c.err
	}
	if !c.need {
		return 0, io.EOF
	}
	if c.chunk == 0 {
		var sz [4]byte
		if _, err := io.ReadFull(c.r, sz[:]); err != nil {
			return 0, c.readErr()
		}
		n := child.ChunkSize(sz[:])
		switch {
		case n == 0 && c.left == 0:
			c.need = false
			return 0, io.EOF
		case n == child.AbortChunk, n == 0 || uint64(n) > c.left || n > child.CopyChunk:
			// The worker cut the file short: its error record follows.
			return 0, c.abortData()
		}
		c.chunk = n
	}
	if uint32(len(p)) > c.chunk {
		p = p[:c.chunk]
	}
	m, err := c.r.Read(p)
	c.chunk -= uint32(m)
	c.left -= uint64(m)
	if err != nil {
		return m, c.readErr()
	}
	return m, nil
}

// readErr is the error of a stream cut short: the context's when it
// killed the worker.
func (c *CopyOut) readErr() error {
	if c.p.Canceled() {
		return c.setErr(fmt.Errorf("copy: %w", context.Cause(c.ctx)))
	}
	return c.setErr(fmt.Errorf("copy: read from the worker: %w", io.ErrUnexpectedEOF))
}

// abortData handles a file whose data the worker could not complete: it
// sends an end-of-data marker early, then its error record.
func (c *CopyOut) abortData() error {
	c.need = false
	rec, err := readRecord(c.r)
	if err == nil && rec.Kind == child.KindError {
		return c.setErr(&CopyError{Text: rec.Name, Errno: syscall.Errno(rec.Errno)})
	}
	return c.setErr(errors.New("copy: the worker sent a malformed data chunk"))
}

// Kill stops the worker (a no-op once it was reaped); unlike the other
// methods it may be called from any goroutine.
func (c *CopyOut) Kill() error {
	c.killed.Store(true)
	return c.p.KillGroup()
}

// Close stops the worker if it is not done, waits for it and releases
// everything. It returns the first failure of the stream, if any.
func (c *CopyOut) Close() error {
	if !c.done {
		_ = c.p.KillGroup()
	}
	c.out.Close()
	code, werr := c.p.WaitAndKillGroup()
	if c.p.Canceled() && !c.done {
		return fmt.Errorf("copy: %w", context.Cause(c.ctx))
	}
	if c.err != nil && !errors.Is(c.err, errClosed) {
		return c.err
	}
	if c.done && werr == nil && code != 0 && !(c.killed.Load() && code == 128+int(syscall.SIGKILL)) {
		return fmt.Errorf("copy: the worker exited with status %d", code)
	}
	c.err = errClosed
	return werr
}

var errClosed = errors.New("copy: closed")
