package testcontainer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupParent is the directory, below the caller's own cgroup in each
// hierarchy, that holds one cgroup per container. Nesting below the caller
// keeps the container inside whatever limits the caller runs under.
const cgroupParent = "nucleus-test"

// cgroupHierarchies returns, for the v1 pids and memory controllers and for
// the v2 hierarchy (those that are mounted), the caller's cgroup directory as
// a path on the caller's filesystem.
func cgroupHierarchies() ([]string, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	// Key: "pids", "memory" or "" (v2) → the caller's path in that hierarchy.
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(own)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			paths[""] = parts[2]
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			if ctrl == "pids" || ctrl == "memory" {
				paths[ctrl] = parts[2]
			}
		}
	}
	var dirs []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(mounts)))
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		f := strings.Fields(sc.Text())
		sep := -1
		for i, v := range f {
			if v == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || sep+3 >= len(f) {
			continue
		}
		root, mnt, fstype, super := f[3], f[4], f[sep+1], f[sep+3]
		var keys []string
		switch fstype {
		case "cgroup2":
			keys = []string{""}
		case "cgroup":
			for _, opt := range strings.Split(super, ",") {
				if opt == "pids" || opt == "memory" {
					keys = append(keys, opt)
				}
			}
		}
		for _, key := range keys {
			own, ok := paths[key]
			if !ok || seen[key] {
				continue
			}
			rel, err := filepath.Rel(root, own)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue // the caller's cgroup is not visible through this mount
			}
			seen[key] = true
			dirs = append(dirs, filepath.Join(mnt, rel))
		}
	}
	if len(dirs) == 0 {
		return nil, errors.New("no cgroup v1 pids/memory or v2 hierarchy mounted")
	}
	return dirs, nil
}

// createCgroups makes <hierarchy>/nucleus-test/<name> in every hierarchy and
// moves pid into them. On error it removes what it made.
func createCgroups(name string, pid int) (dirs []string, err error) {
	bases, err := cgroupHierarchies()
	if err != nil {
		return nil, fmt.Errorf("testcontainer: cgroup: %w", err)
	}
	defer func() {
		if err != nil {
			_ = removeCgroups(dirs)
			dirs, err = nil, fmt.Errorf("testcontainer: cgroup: %w", err)
		}
	}()
	for _, base := range bases {
		dir := filepath.Join(base, cgroupParent, name)
		// A concurrent Close may remove the shared parent between the two
		// mkdirs of MkdirAll: try again.
		for try := 0; ; try++ {
			if err = os.MkdirAll(dir, 0o755); err == nil || try == 3 {
				break
			}
		}
		if err != nil {
			return dirs, err
		}
		dirs = append(dirs, dir)
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return dirs, fmt.Errorf("move %d into %s: %w", pid, dir, err)
		}
	}
	return dirs, nil
}

// removeCgroups removes the container cgroups, and their shared parent when
// no other container uses it. A cgroup can be removed once its last task has
// exited (rmdir fails with EBUSY until then), which follows the SIGKILL
// shortly: retry with a short backoff, for at most 5 s.
func removeCgroups(dirs []string) error {
	var errs []error
	for _, dir := range dirs {
		delay, deadline := time.Millisecond, time.Now().Add(5*time.Second)
		for {
			err := syscall.Rmdir(dir)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
				errs = append(errs, fmt.Errorf("testcontainer: cgroup: rmdir %s: %w (cgroup.procs: %q)", dir, err, procs))
				break
			}
			time.Sleep(delay)
			delay = min(2*delay, 50*time.Millisecond)
		}
		_ = syscall.Rmdir(filepath.Dir(dir)) // EBUSY/ENOTEMPTY while other containers use it
	}
	return errors.Join(errs...)
}
