package launch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"nucleus/internal/proc"
)

// joinCgroups moves pid into every cgroup of the target, so that the
// container's limits and accounting apply to the command as to the
// container's own processes (runc exec does the same). Hierarchies where the
// command already is in the target's cgroup are skipped. An unprivileged
// caller (the owner of a rootless container) may lack the right to write a
// hierarchy it does not own: those are skipped and logged; for root every
// failure is an error.
func joinCgroups(target, pid int, log interface{ Debug(string, ...any) }) error {
	theirs, err := proc.Cgroups(target)
	if err != nil {
		return err
	}
	ours, err := proc.Cgroups(0)
	if err != nil {
		return err
	}
	same := make(map[string]bool, len(ours))
	for _, c := range ours {
		same[c.Controllers+":"+c.Path] = true
	}
	root := os.Geteuid() == 0
	for _, c := range theirs {
		if same[c.Controllers+":"+c.Path] {
			continue
		}
		err := writeProcs(filepath.Join(c.Dir, "cgroup.procs"), pid)
		if err == nil {
			continue
		}
		if !root && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)) {
			log.Debug("cgroup not joined", "hierarchy", c.Controllers, "path", c.Path, "err", err)
			continue
		}
		return fmt.Errorf("join %q (%s): %w", c.Path, c.Controllers, err)
	}
	return nil
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
