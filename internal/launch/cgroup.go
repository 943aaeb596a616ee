package launch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
	"nucleus/nsenter"
)

// cgroupJoin is how the command gets into every cgroup of the target, so
// that the container's limits and accounting apply to it as to the
// container's own processes (runc exec does the same). It is born there: the
// middle child is started directly in the target's cgroup v2 (clone3 with
// CLONE_INTO_CGROUP) and moves itself into each v1 hierarchy before it
// clones the grandchild, which inherits all of them. On v2 it is cloned into
// a new cgroup of the command's own below the target's (cmdCgroup), which a
// cancel kills whole.
//
// Why not write the grandchild's PID to cgroup.procs, as runc 1.1 does: such
// a write takes the kernel's global cgroup_threadgroup_rwsem for writing,
// and percpu_down_write waits for an RCU grace period first — 0.4 ms to
// 12 ms per attach here, the single largest cost of an attach made after a
// quiet spell. A thread moving itself ("0" to a v1 tasks file) and a clone
// into a cgroup take no such lock.
type cgroupJoin struct {
	tasks []*os.File // v1 "tasks" files, passed from nsenter.FdCgroup on
	names []string   // the hierarchy of each, for errors

	v2     *os.File // the v2 cgroup to clone into, nil when not joined
	v2Dir  string   // that directory on our file system
	v2Path string   // its path in /proc/PID/cgroup

	// cmd is the command's own v2 cgroup below the target's (v2 and v2Dir
	// then name it), nil when none could be made: see cmdCgroup.
	cmd *cmdCgroup
}

// planCgroups opens what the join needs: the target's cgroups theirs (as
// state.CheckRunningCgroups resolved them, every line) where they differ
// from ours. An unprivileged caller (the owner of a rootless container) may
// lack the right to write a hierarchy it does not own: those are skipped
// and logged; for root every failure is an error.
func planCgroups(theirs []proc.CgroupDir, log interface{ Debug(string, ...any) }) (*cgroupJoin, error) {
	same, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	root := os.Geteuid() == 0
	j := &cgroupJoin{}
	fail := func(err error) (*cgroupJoin, error) {
		j.close()
		j.discard()
		return nil, err
	}
	for _, c := range theirs {
		if c.Hierarchy == 0 && c.Controllers == "" {
			if err := j.planV2(c, same[c.Controllers+":"+c.Path], log); err != nil {
				return fail(err)
			}
			continue
		}
		if same[c.Controllers+":"+c.Path] {
			continue
		}
		f, err := openTasks(filepath.Join(c.Dir, "tasks"))
		if err != nil {
			if !root && deniedCgroup(err) {
				log.Debug("cgroup not joined", "hierarchy", c.Controllers, "path", c.Path, "err", err)
				continue
			}
			return fail(fmt.Errorf("join %q (%s): %w", c.Path, c.Controllers, err))
		}
		j.tasks = append(j.tasks, f)
		j.names = append(j.names, fmt.Sprintf("%q (%s)", c.Path, c.Controllers))
	}
	if len(j.tasks) > nsenter.MaxCgroups {
		return fail(fmt.Errorf("%d cgroup v1 hierarchies to join, at most %d", len(j.tasks), nsenter.MaxCgroups))
	}
	return j, nil
}

// planV2 plans the v2 join: into a new cgroup of the command's own below
// the target's (cmdCgroup), even when the target's is ours, so that its
// descendants can be killed whole; into the target's when none can be made
// (logged: a cancel then kills the process group only, which a descendant
// that called setsid escapes); nowhere when the target's is ours and no
// command cgroup can be made.
func (j *cgroupJoin) planV2(c proc.CgroupDir, ours bool, log interface{ Debug(string, ...any) }) error {
	dir, path := c.Dir, c.Path
	cmd, err := newCmdCgroup(c.Dir)
	if err != nil {
		log.Debug("no cgroup of the command's own: a cancel kills its process group only", "err", err)
		if ours {
			return nil
		}
	} else {
		dir, path = cmd.dir, strings.TrimSuffix(c.Path, "/")+"/"+filepath.Base(cmd.dir)
	}
	// O_PATH: the right to write is checked by the clone, with our
	// credentials and cgroup namespace, as a write to cgroup.procs would be.
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if cmd != nil {
			_ = unix.Rmdir(cmd.dir)
		}
		return fmt.Errorf("join %q (v2): %w", path, err)
	}
	j.v2, j.v2Dir, j.v2Path, j.cmd = os.NewFile(uintptr(fd), dir), dir, path, cmd
	return nil
}

// takeCommand hands the command's cgroup over to its Process.
func (j *cgroupJoin) takeCommand() *cmdCgroup {
	c := j.cmd
	j.cmd = nil
	return c
}

// discard kills what is in a command cgroup no Process took (the start
// failed) and removes it once the killed are gone, which is at once unless
// the container is frozen: waited for (at most drainTime), so that the
// directory does not outlive a caller that exits right after the failure
// (the reaper, which would remove it later, lives only as long as this
// process); should something outlive the wait, the reaper takes over.
func (j *cgroupJoin) discard() {
	if c := j.takeCommand(); c != nil {
		_ = c.kill()
		c.release(true)
	}
}

// openTasks opens a v1 tasks file for the middle child to write "0" to.
// unix.Open and os.NewFile, not os.OpenFile: the file is only handed to the
// child, never read or written here, so registering it with the runtime
// poller (four more system calls per hierarchy, nine hierarchies on a
// hybrid host) buys nothing.
func openTasks(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ownCgroups returns "controllers:path" of each line of /proc/self/cgroup.
// Only compared with the target's lines, they need no resolution to
// directories (proc.Cgroups would statfs each: a third of this step).
func ownCgroups() (map[string]bool, error) {
	b, err := proc.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("own cgroups: %w", err)
	}
	same := make(map[string]bool, 16)
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-ID:controller-list:cgroup-path; the path may hold ':'.
		if _, rest, ok := strings.Cut(line, ":"); ok {
			same[rest] = true
		}
	}
	return same, nil
}

// deniedCgroup reports the errors an unprivileged caller meets on a
// hierarchy it was not delegated.
func deniedCgroup(err error) bool {
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)
}

// joinV2ByPID is the fallback when the clone into the v2 cgroup failed (a
// kernel without CLONE_INTO_CGROUP, or a cgroup that refuses it): the
// middle child, still waiting for its request, is moved by writing its PID
// to cgroup.procs — the slow path, taken only then.
func (j *cgroupJoin) joinV2ByPID(pid int, log interface{ Debug(string, ...any) }) error {
	err := writeProcs(filepath.Join(j.v2Dir, "cgroup.procs"), pid)
	if err == nil {
		return nil
	}
	if os.Geteuid() != 0 && deniedCgroup(err) {
		log.Debug("cgroup not joined", "hierarchy", "v2", "path", j.v2Path, "err", err)
		return nil
	}
	return fmt.Errorf("join %q (v2): %w", j.v2Path, err)
}

// hierarchy names the v1 hierarchy of the n-th tasks file.
func (j *cgroupJoin) hierarchy(n int) string {
	if n < 0 || n >= len(j.names) {
		return "#" + strconv.Itoa(n)
	}
	return j.names[n]
}

func (j *cgroupJoin) close() {
	for _, f := range j.tasks {
		f.Close()
	}
	j.tasks = nil
	if j.v2 != nil {
		j.v2.Close()
		j.v2 = nil
	}
}

func writeProcs(path string, pid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(strconv.Itoa(pid)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
