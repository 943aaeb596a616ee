package launch

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// ExeView names the read-only view of this program that children are
// executed from.
//
// CVE-2019-5736: a child executed from the binary on disk exposes that file
// as /proc/PID/exe inside the container, and a container process that
// opens it for writing once the child has exited overwrites the host's
// binary. Every view below makes /proc/PID/exe of a child a file that
// nobody can write and that does not lead back to the file on disk.
type ExeView string

const (
	// ExeOverlay is the binary seen through a detached, read-only
	// overlayfs mount of its directory (exe_overlay.go): no copy, so the
	// cost does not grow with the binary. Needs CAP_SYS_ADMIN and a kernel
	// that takes overlay layers as file descriptors.
	ExeOverlay ExeView = "overlay"
	// ExeMemfd is a sealed in-memory copy of the binary (exe_memfd.go):
	// works for every caller, but copies the whole binary once per
	// process.
	ExeMemfd ExeView = "memfd"
)

// exeSource is one view, made at most once per process and kept open for
// the life of the process: it is the executable.
type exeSource struct {
	once sync.Once
	make func() (*os.File, error)
	file *os.File
	err  error
}

func (s *exeSource) get() (*os.File, error) {
	s.once.Do(func() { s.file, s.err = s.make() })
	return s.file, s.err
}

var (
	overlayExe = &exeSource{make: overlaySelf}
	memfdExe   = &exeSource{make: sealSelf}
	// forcedView, when set (tests), is the only view tried.
	forcedView atomic.Pointer[ExeView]
)

// ForceExeView makes every later Start use view v and no other (an error
// if v cannot be made), until the returned function restores the default
// choice. It exists so that tests can prove each view's protection; a
// program has no reason to call it.
func ForceExeView(v ExeView) (restore func()) {
	prev := forcedView.Swap(&v)
	return func() { forcedView.Store(prev) }
}

// CurrentExeView reports which view the next Start executes its child
// from, making it if needed; the error says why no view could be made.
func CurrentExeView() (ExeView, error) {
	_, v, err := exeFile(discard)
	return v, err
}

// exeFile returns the file a child is executed from and which view it is:
// the overlay view where it can be made, else the sealed memfd.
//
// A child is executed from it by handing it over as one of the child's
// files, say number k, and executing /proc/self/fd/k: execve resolves that
// path in the child's own fd table, after the files were put in place.
// (The file's number in this process would not do: the child's fd shuffle
// may put another file there — with the cgroup files a child takes, it
// did.) The constructor closes the copy before it joins anything.
func exeFile(log interface{ Debug(string, ...any) }) (*os.File, ExeView, error) {
	if p := forcedView.Load(); p != nil {
		f, err := sourceOf(*p).get()
		return f, *p, err
	}
	f, oerr := overlayExe.get()
	if oerr == nil {
		log.Debug("child executable", "view", ExeOverlay)
		return f, ExeOverlay, nil
	}
	f, merr := memfdExe.get()
	if merr != nil {
		return nil, ExeMemfd, errors.Join(oerr, merr)
	}
	log.Debug("child executable", "view", ExeMemfd, "overlay_err", oerr)
	return f, ExeMemfd, nil
}

// prefetchOnce starts making the view in the background, once per process.
var prefetchOnce sync.Once

// prefetchExe starts making the executable view on another goroutine, so
// that by the time Start needs it (after its checks and cgroup planning)
// it is ready: making the overlay view waits twice for an RCU grace period
// (closing each detached mount's fd unmounts it, and the kernel
// synchronizes before freeing), a sleep of 50–300 µs each here that would
// otherwise sit on the path of a process's first attach. exeFile then
// waits for the same sync.Once and takes the same choice.
func prefetchExe() {
	prefetchOnce.Do(func() { go func() { _, _, _ = exeFile(discard) }() })
}

func sourceOf(v ExeView) *exeSource {
	if v == ExeOverlay {
		return overlayExe
	}
	return memfdExe
}

// exePath returns /proc/self/fd/N of the executable view, as this process
// sees it.
func exePath() (string, error) {
	f, _, err := exeFile(discard)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/proc/self/fd/%d", f.Fd()), nil
}
