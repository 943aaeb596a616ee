package launch

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
)

// cmdCgroup is the cgroup v2 of one command: a child of the container's own
// v2 cgroup, <container's cgroup>/nucleus-<our pid>-<n>, that the middle
// child is cloned into, so that the command and everything it starts —
// whatever setsid, double fork or reparenting they do — are in it and in
// nothing else. Killing the command's descendants is then one write to
// cgroup.kill (Linux 5.14+), which SIGKILLs every member and, unlike a
// process-group kill, cannot be escaped from inside (a member cannot leave
// a cgroup it has no write access to the parent of). Being a child of the
// container's cgroup, the command stays accounted to the container as its
// own processes are.
//
// Lifetime: the directory is removed as soon as it is empty (rmdir fails
// with EBUSY while a member lives). A command killed (cancel, timeout, a
// probe's end) takes everything in it along. A command that exits by
// itself and leaves background children (an Attach, like `runc exec`)
// hands them over to the container's own cgroup, where `runc exec` and
// `docker exec` leave such processes, and the directory goes at once
// (retire): nothing of the command's outlives it, not even an empty
// directory when this process exits before its children do, as a one-shot
// CLI always does — an empty cgroup left in the container's would stay
// there for as long as the container runs. Only when the hand-over is
// refused does cgroupReaper remove the directory when its last member
// exits.
type cmdCgroup struct {
	dir string
}

// cmdCgroupSeq numbers the command cgroups of this process.
var cmdCgroupSeq atomic.Uint64

// newCmdCgroup creates the command's cgroup below parent, the container's
// v2 cgroup directory. It returns nil and the reason when none can be made
// — a caller without write access to the container's cgroup (the owner of
// a rootless container), a read-only cgroupfs, a kernel without cgroup.kill,
// the container's cgroup.max.descendants reached — and the caller then
// falls back to killing the process group.
func newCmdCgroup(parent string) (*cmdCgroup, error) {
	var dir string
	for try := 0; ; try++ {
		dir = filepath.Join(parent, "nucleus-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(cmdCgroupSeq.Add(1), 10))
		err := unix.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		// EEXIST: left by an earlier process with our PID; take the next.
		if err != unix.EEXIST || try == 3 {
			return nil, &os.PathError{Op: "mkdir", Path: dir, Err: err}
		}
	}
	c := &cmdCgroup{dir: dir}
	if err := unix.Access(filepath.Join(dir, "cgroup.kill"), unix.W_OK); err != nil {
		_ = unix.Rmdir(dir)
		return nil, &os.PathError{Op: "cgroup.kill", Path: dir, Err: err}
	}
	return c, nil
}

// kill SIGKILLs every process in the cgroup. The kernel walks the members
// and blocks forks into the cgroup while it does, so nothing started at
// that moment slips through.
func (c *cmdCgroup) kill() error {
	if c == nil {
		return nil
	}
	fd, err := unix.Open(filepath.Join(c.dir, "cgroup.kill"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT {
			return nil // already removed: nothing left in it
		}
		return &os.PathError{Op: "open", Path: filepath.Join(c.dir, "cgroup.kill"), Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("1")); err != nil {
		return &os.PathError{Op: "write", Path: filepath.Join(c.dir, "cgroup.kill"), Err: err}
	}
	return nil
}

// release removes the cgroup once it is empty. With wait, it waits for that
// at most drainTime (what is left was just killed and dies in microseconds
// unless the container is frozen); otherwise, or when the wait runs out,
// the reaper removes it when its last member exits.
func (c *cmdCgroup) release(wait bool) {
	if c == nil {
		return
	}
	removed := reaper.remove(c.dir)
	if !wait {
		return
	}
	select {
	case <-removed:
	case <-time.After(drainTime):
	}
}

// retire ends the cgroup of a command that exited by itself: removed at
// once when empty (the common case); else what is left in it is handed to
// the container's cgroup (handOff) and the directory removed; and should
// that be refused, the reaper removes it once its last member exits.
func (c *cmdCgroup) retire() {
	if c == nil || rmdirCgroup(c.dir) || c.handOff() {
		return
	}
	reaper.remove(c.dir)
}

// handOff moves the members of the cgroup into its parent, the container's
// cgroup, and removes it. The cgroup is frozen first, so that no member can
// fork between the listing and the moves (a child born during the freeze
// is born frozen and listed, as for seize); a member moved to a cgroup
// that is not frozen runs again (cgroup-v2.rst, cgroup.freeze), so each
// goes on where it was once it is out. While frozen, a member ends only by
// a SIGKILL from elsewhere, and its PID would have to be allocated again
// (cyclically, up to pid_max) within the microseconds before its move for
// another process to be moved in its place. It reports false, with the
// cgroup thawed and its members where they were, when the move is refused
// (no write access to the container's cgroup.procs) or the freeze does not
// take (tasks held by a v1 freezer).
func (c *cmdCgroup) handOff() bool {
	freeze := filepath.Join(c.dir, "cgroup.freeze")
	if writeCgroupFile(freeze, "1") != nil {
		return false
	}
	ok := c.frozen()
	if ok {
		pids, err := readCgroupProcs(filepath.Join(c.dir, "cgroup.procs"))
		ok = err == nil && c.moveToParent(pids) && rmdirCgroup(c.dir)
	}
	if !ok {
		_ = writeCgroupFile(freeze, "0")
	}
	return ok
}

// moveToParent writes each of pids into the parent cgroup's cgroup.procs,
// one write(2) per PID as the kernel takes them; a PID that died since it
// was listed (ESRCH) is skipped.
func (c *cmdCgroup) moveToParent(pids []int) bool {
	if len(pids) == 0 {
		return true
	}
	fd, err := unix.Open(filepath.Join(filepath.Dir(c.dir), "cgroup.procs"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	for _, pid := range pids {
		if _, err := unix.Write(fd, []byte(strconv.Itoa(pid))); err != nil && err != unix.ESRCH {
			return false
		}
	}
	return true
}

// frozen waits, at most seizeTime, for the freeze just asked for to take
// effect: it does as each member next leaves the kernel, and a clone under
// way completes first, its child born frozen, so the members are complete
// only once cgroup.events says frozen. Bounded: a container paused by the
// v1 freezer never lets its tasks reach the v2 freezer's trap.
func (c *cmdCgroup) frozen() bool {
	events := filepath.Join(c.dir, "cgroup.events")
	for deadline := time.Now().Add(seizeTime); ; time.Sleep(100 * time.Microsecond) {
		b, err := proc.ReadFile(events)
		if err != nil {
			return false
		}
		if strings.Contains(string(b), "frozen 1") {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
	}
}

// cgroupReaper removes command cgroups that still had members when their
// command ended: one inotify instance for all of them (inotify instances are
// limited per user, 128 by default), one goroutine, started with the first.
// The kernel reports a change of populated in cgroup.events as IN_MODIFY
// (cgroup-v2.rst), and a removed directory as IN_IGNORED.
type cgroupReaper struct {
	mu      sync.Mutex
	ino     *os.File                // non-blocking, in the runtime's poller
	inoFD   int                     // its fd (Fd would make it blocking)
	pending map[int32]pendingCgroup // by watch descriptor
}

type pendingCgroup struct {
	dir  string
	done chan struct{}
}

var reaper cgroupReaper

// remove removes dir now when it is empty, else when it becomes so; the
// channel is closed once it is gone.
func (r *cgroupReaper) remove(dir string) <-chan struct{} {
	done := make(chan struct{})
	if rmdirCgroup(dir) {
		close(done)
		return done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ino == nil {
		fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
		if err != nil {
			return done // never closed: the directory stays for the runtime
		}
		r.ino, r.inoFD = os.NewFile(uintptr(fd), "inotify"), fd
		r.pending = map[int32]pendingCgroup{}
		go r.loop(r.ino)
	}
	wd, err := unix.InotifyAddWatch(r.inoFD, filepath.Join(dir, "cgroup.events"), unix.IN_MODIFY)
	if err != nil {
		if rmdirCgroup(dir) { // ENOENT: removed meanwhile
			close(done)
		}
		return done
	}
	if p, ok := r.pending[int32(wd)]; ok && p.dir == dir {
		// Already watched (a second release of the same cgroup): share.
		return p.done
	}
	r.pending[int32(wd)] = pendingCgroup{dir: dir, done: done}
	// It may have emptied between the first rmdir and the watch.
	r.check(int32(wd))
	r.idle()
	return done
}

// idle closes the inotify instance once nothing is pending, which ends the
// loop's read: a process that attached holds no fd or goroutine for it
// after its commands' cgroups are gone. r.mu is held.
func (r *cgroupReaper) idle() {
	if len(r.pending) == 0 && r.ino != nil {
		_ = r.ino.Close()
		r.ino, r.inoFD, r.pending = nil, -1, nil
	}
}

// check tries to remove the cgroup of watch wd; r.mu is held.
func (r *cgroupReaper) check(wd int32) {
	p, ok := r.pending[wd]
	if !ok || !rmdirCgroup(p.dir) {
		return
	}
	delete(r.pending, wd)
	close(p.done)
	// The watch ends by itself with the directory (IN_IGNORED).
}

func (r *cgroupReaper) loop(ino *os.File) {
	var buf [4096]byte
	for {
		n, err := ino.Read(buf[:])
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.ino != ino {
			// idle closed this instance while its last events were read,
			// and a new one may have been made since: watch descriptors
			// are numbered per instance, so these events would name the
			// new instance's watches (an IN_IGNORED of ours dropping
			// another cgroup's pending removal). They are about watches
			// that are gone.
			r.mu.Unlock()
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_IGNORED != 0 {
				// The directory went (removed by the runtime with the
				// container's cgroup, or by us).
				if p, ok := r.pending[ev.Wd]; ok {
					delete(r.pending, ev.Wd)
					close(p.done)
				}
				continue
			}
			r.check(ev.Wd)
		}
		r.idle()
		r.mu.Unlock()
	}
}

// rmdirCgroup removes an empty cgroup directory and reports whether it is
// gone; EBUSY (members left, or a child cgroup) keeps it.
func rmdirCgroup(dir string) bool {
	err := unix.Rmdir(dir)
	return err == nil || errors.Is(err, unix.ENOENT)
}

// seize freezes the cgroup, lists its members and SIGKILLs them, for a
// start abandoned while the middle child was at work: the middle child
// and, once it has cloned, the grandchild are there, and the grandchild's
// PID may not have been reported yet (a middle child killed between its
// clone and its report). Freezing first means no clone can happen between
// the listing and the kill, so every process that was ever in the cgroup
// is in the list (cgroup v2 freezer: frozen tasks still die of SIGKILL).
// The members are this process's children (the grandchild through
// CLONE_PARENT), unreaped, so their PIDs stay theirs until waited for.
func (c *cmdCgroup) seize() []int {
	if c == nil {
		return nil
	}
	if writeCgroupFile(filepath.Join(c.dir, "cgroup.freeze"), "1") == nil {
		// Listed once frozen (or after seizeTime), so that a child cloned
		// as the freeze was asked for is listed too.
		c.frozen()
	}
	pids, _ := readCgroupProcs(filepath.Join(c.dir, "cgroup.procs"))
	_ = c.kill()
	return pids
}

// seizeTime bounds seize's and handOff's wait for the freeze.
const seizeTime = time.Second

func writeCgroupFile(path, v string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(v))
	return err
}

// readCgroupProcs reads the PIDs of a cgroup.procs file.
func readCgroupProcs(path string) ([]int, error) {
	b, err := proc.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
